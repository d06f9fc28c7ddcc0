/**
 * Explicit dense structures on the host in float64: `full` (one P×P matrix, only when asked for)
 * and `block_diag` (one dense block per dense layer: its W then b). Solves and powers go
 * through src/solvers (Cholesky or eigendecomposition).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Params } from '../../model/types.js';
import { matVec, solveDense, symmetricPowerWithReport } from '../../solvers/index.js';
import { CurvatureError } from '../types.js';
import { checkLambda, chooseSolver, numParamsOf, report, type Op, type Shapes } from '../operator.js';
import * as V from '../vec.js';
import { cgSolve } from './free.js';

export interface Block {
  readonly offset: number;
  readonly size: number;
  /** size×size row-major float64. */
  readonly M: Float64Array;
}

/** Blocks of a block-diagonal P×P matrix with the given block sizes. */
export function blockDiagOp(blocks: readonly Block[], shapes: Shapes, description: string, structure: 'full' | 'block_diag' = 'block_diag'): Op {
  const n = numParamsOf(shapes);
  const mvHost = (x: Float64Array): Float64Array => {
    const y = new Float64Array(n);
    for (const b of blocks) {
      const yb = matVec(b.M, b.size, x.subarray(b.offset, b.offset + b.size));
      y.set(yb, b.offset);
    }
    return y;
  };
  const mv = (v: Params): Params => V.fromHost(shapes, mvHost(V.toHost(v)));
  const sumCube = blocks.reduce((s, b) => s + b.size ** 3, 0);
  const sumSq = blocks.reduce((s, b) => s + b.size ** 2, 0);
  return {
    structure,
    shapes,
    description,
    numParams: n,
    mv,
    solve: (v, lambda, options) => {
      checkLambda(lambda);
      if (options?.damping === 'factored') throw new CurvatureError(`factored (π-corrected) damping needs Kronecker factors; ${description} has none`);
      const solver = chooseSolver(description, ['cholesky', 'eigen', 'cg'], options);
      if (solver === 'cg') return cgSolve(mv, description, v, lambda, options);
      const b = V.toHost(v);
      const x = new Float64Array(n);
      const warnings: string[] = [];
      let jitter = 0;
      for (const blk of blocks) {
        const r = solveDense(blk.M, blk.size, Float64Array.from(b.subarray(blk.offset, blk.offset + blk.size)), lambda, solver as 'cholesky' | 'eigen');
        if (E.isLeft(r)) throw new CurvatureError(`${description} + λI (λ = ${lambda}): ${r.left.message}`);
        x.set(r.right.x, blk.offset);
        warnings.push(...r.right.warnings);
        jitter = Math.max(jitter, r.right.jitter);
      }
      return { x: V.fromHost(shapes, x), report: report(solver, jitter > 0 ? { jitter, warnings } : { warnings }) };
    },
    toDense: () => {
      const m = new Float64Array(n * n);
      for (const b of blocks) for (let i = 0; i < b.size; i++) m.set(b.M.subarray(i * b.size, (i + 1) * b.size), (b.offset + i) * n + b.offset);
      return m;
    },
    memory: () => sumSq,
    flops: () => ({ mv: 2 * sumSq, solve: 2 * sumSq, refresh: sumCube / 3 }),
    power: (p) => {
      const powered = blocks.map((b) => {
        const r = symmetricPowerWithReport(b.M, b.size, p);
        if (E.isLeft(r)) throw new CurvatureError(`(${description})^${p}: ${r.left.message}`);
        return { offset: b.offset, size: b.size, M: r.right.matrix };
      });
      return blockDiagOp(powered, shapes, p === 0.5 ? `sqrt(${description})` : `(${description})^${p}`, structure);
    },
    dispose: () => undefined,
  };
}

export const fullOp = (M: Float64Array, shapes: Shapes, description: string): Op =>
  blockDiagOp([{ offset: 0, size: numParamsOf(shapes), M }], shapes, description, 'full');

/** Per-layer block layout (W then b of each dense layer). */
export const layerBlocks = (shapes: Shapes): { offset: number; size: number }[] => {
  const out: { offset: number; size: number }[] = [];
  let o = 0;
  for (let i = 0; i < shapes.length; i += 2) {
    const size = numParamsOf([shapes[i]!, shapes[i + 1]!]);
    out.push({ offset: o, size });
    o += size;
  }
  return out;
};

/** Block-diagonal part of a dense P×P matrix. */
export const blocksOfDense = (M: Float64Array, shapes: Shapes): Block[] => {
  const n = numParamsOf(shapes);
  return layerBlocks(shapes).map(({ offset, size }) => {
    const B = new Float64Array(size * size);
    for (let i = 0; i < size; i++) B.set(M.subarray((offset + i) * n + offset, (offset + i) * n + offset + size), i * size);
    return { offset, size, M: B };
  });
};
