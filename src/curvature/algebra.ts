/**
 * The curvature algebra on operators: scalar multiples, sums, powers. Results stay structured when
 * the structure is closed under the operation (diag + diag + s·I → diag with the scalar added
 * elementwise, `tf.add(d, s)`; dense + dense → dense; C + s·I → C shifted, solved as C at λ + s);
 * otherwise a sum is matrix-free (solved by CG) and has no power.
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from './vec.js';
import type { Params } from '../model/types.js';
import { CurvatureError } from './types.js';
import { chooseSolver, noPower, numParamsOf, probe, type Op } from './operator.js';
import { diagOp, identityOp } from './structures/diag.js';
import { blockDiagOp, blocksOfDense, fullOp, layerBlocks } from './structures/dense.js';
import { cgSolve } from './structures/free.js';
import * as V from './vec.js';

/** A non-owning view of an operator (dispose does nothing). */
export const borrowed = (op: Op): Op => ({ ...op, dispose: () => undefined });

/** c·C; takes ownership of `op`. */
export function scaleOp(c: number, op: Op): Op {
  if (!Number.isFinite(c)) throw new CurvatureError(`scalar multiple must be finite, got ${c}`);
  const description = `${c} * ${op.description}`;
  if (op.structure === 'identity') {
    const s = identityScalar(op);
    op.dispose();
    return identityOp(op.shapes, c * s);
  }
  if (op.structure === 'diag') {
    const d = diagValues(op);
    op.dispose();
    return diagOp(d.map((t) => { const r = tf.mul(t, c); t.dispose(); return r; }), description, false);
  }
  return {
    structure: 'scaled',
    shapes: op.shapes,
    description,
    numParams: op.numParams,
    mv: (v) => tidy(() => V.scale(op.mv(v), c)),
    solve: (v, lambda, options) => {
      if (c > 0) {
        const r = op.solve(v, lambda / c, options);
        const x = V.scale(r.x, 1 / c);
        V.dispose(r.x);
        return { x, report: r.report };
      }
      if (c === 0) {
        if (!(lambda > 0)) throw new CurvatureError(`${description} + λI is singular (λ = ${lambda})`);
        return { x: V.scale(v, 1 / lambda), report: { solver: chooseSolver(description, ['cholesky', 'eigen', 'cg'], options), warnings: [] } };
      }
      chooseSolver(description, ['cg'], options);
      return cgSolve((x) => tidy(() => V.scale(op.mv(x), c)), description, v, lambda, options);
    },
    toDense: () => op.toDense().map((x) => c * x),
    prepare: (lambda, options) => op.prepare?.(c > 0 ? lambda / c : lambda, options),
    memory: () => op.memory(),
    flops: () => op.flops(),
    power: (p) => {
      if (c < 0 && !Number.isInteger(p)) throw new CurvatureError(`(${description})^${p}: fractional power of a negative multiple`);
      return scaleOp(c ** p, op.power(p));
    },
    dispose: () => op.dispose(),
  };
}

const identityScalar = (op: Op): number => {
  // identityOp's description is "identity" or "<s>·identity"; read s from a product instead of parsing.
  const e = V.basis(op.shapes, 0);
  const y = op.mv(e);
  const s = V.toHost(y)[0]!;
  V.dispose(e);
  V.dispose(y);
  return s;
};

/** The diagonal of a diag operator as fresh tensors (mv with ones). */
const diagValues = (op: Op): Params => {
  const ones = op.shapes.map((s) => tf.ones(s.shape as number[]));
  const d = op.mv(ones);
  tf.dispose(ones);
  return d;
};

/** C₁ + … + Cₖ; takes ownership of the terms. */
export function sumOp(terms: readonly Op[]): Op {
  if (terms.length === 0) throw new CurvatureError('empty sum of curvatures');
  if (terms.length === 1) return terms[0]!;
  const shapes = terms[0]!.shapes;
  const description = terms.map((t) => t.description).join(' + ');
  let shift = 0;
  const rest: Op[] = [];
  for (const t of terms) {
    if (t.structure === 'identity') {
      shift += identityScalar(t);
      t.dispose();
    } else rest.push(t);
  }
  if (rest.length === 0) return identityOp(shapes, shift);
  if (rest.every((t) => t.structure === 'diag')) {
    const ds = rest.map(diagValues);
    rest.forEach((t) => t.dispose());
    const summed = ds[0]!.map((_, i) =>
      tidy(() => {
        let acc = ds[0]![i]!;
        for (let k = 1; k < ds.length; k++) acc = tf.add(acc, ds[k]![i]!);
        return shift === 0 ? (ds.length === 1 ? tf.clone(acc) : acc) : tf.add(acc, shift);
      }),
    );
    ds.forEach((d) => V.dispose(d));
    return diagOp(summed, description, false);
  }
  if (rest.every((t) => t.structure === 'full' || t.structure === 'block_diag' || t.structure === 'diag')) {
    const n = numParamsOf(shapes);
    const blockOnly = rest.every((t) => t.structure !== 'full');
    const M = new Float64Array(n * n);
    for (const t of rest) {
      const D = t.toDense();
      for (let i = 0; i < D.length; i++) M[i] = M[i]! + D[i]!;
      t.dispose();
    }
    for (let i = 0; i < n; i++) M[i * n + i] = M[i * n + i]! + shift;
    return blockOnly ? blockDiagOp(blocksOfDense(M, shapes), shapes, description) : fullOp(M, shapes, description);
  }
  if (rest.length === 1) return shifted(rest[0]!, shift, description);
  return genericSum(rest, shift, description);
}

/** C + s·I: products add s·v, solves are C's at λ + s. */
function shifted(op: Op, s: number, description: string): Op {
  if (s === 0) return op;
  return {
    ...op,
    structure: 'shifted',
    description,
    mv: (v) => tidy(() => V.axpy(s, v, op.mv(v))),
    solve: (v, lambda, options) => {
      if (lambda + s < 0) throw new CurvatureError(`${description} + λI: negative total shift ${lambda + s}`);
      return op.solve(v, lambda + s, options);
    },
    prepare: (lambda, options) => op.prepare?.(lambda + s, options),
    toDense: () => {
      const M = op.toDense();
      const n = op.numParams;
      for (let i = 0; i < n; i++) M[i * n + i] = M[i * n + i]! + s;
      return M;
    },
    power: () => noPower(description, 'only diagonal, dense and identity sums have powers'),
    dispose: () => op.dispose(),
  };
}

function genericSum(ops: readonly Op[], shift: number, description: string): Op {
  const shapes = ops[0]!.shapes;
  const mv = (v: Params): Params =>
    tidy(() => {
      let acc = shift === 0 ? V.zerosLike(v) : V.scale(v, shift);
      for (const o of ops) acc = V.add(acc, o.mv(v));
      return acc;
    });
  return {
    structure: 'sum',
    shapes,
    description,
    numParams: numParamsOf(shapes),
    mv,
    solve: (v, lambda, options) => {
      chooseSolver(description, ['cg'], options);
      return cgSolve(mv, description, v, lambda, options);
    },
    toDense: () => probe(description, shapes, mv),
    memory: () => ops.reduce((s, o) => s + o.memory(), 0),
    flops: () => {
      const m = ops.reduce((s, o) => s + o.flops().mv, 0);
      return { mv: m, solve: 251 * m, refresh: ops.reduce((s, o) => s + o.flops().refresh, 0) };
    },
    power: () => noPower(description, 'a sum of differently structured curvatures has no structured power'),
    dispose: () => ops.forEach((o) => o.dispose()),
  };
}

/** C^p; takes ownership of `op` (disposes it). */
export function powerOp(op: Op, p: number): Op {
  if (!Number.isFinite(p)) throw new CurvatureError(`power must be finite, got ${p}`);
  try {
    return op.power(p);
  } finally {
    op.dispose();
  }
}

export { layerBlocks };
