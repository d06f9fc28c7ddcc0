/**
 * Matrix-free operators (products only) and the CG solve every operator can fall back to.
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from '../vec.js';
import type { Params } from '../../model/types.js';
import { cg, tensorListOps } from '../../solvers/index.js';
import { CurvatureError, type SolveOptions, type SolveReport } from '../types.js';
import { checkLambda, chooseSolver, noPower, numParamsOf, probe, report, type Op, type Shapes } from '../operator.js';

/** (C + λI) x = v by conjugate gradients on products (default 250 iterations, relative residual 1e-6). */
export function cgSolve(
  mv: (v: Params) => Params,
  description: string,
  v: Params,
  lambda: number,
  options?: SolveOptions,
): { x: Params; report: SolveReport } {
  checkLambda(lambda);
  if (options?.damping === 'factored') throw new CurvatureError(`factored damping needs a Kronecker solve; ${description} is solved by cg`);
  const maxIters = options?.cg?.maxIters ?? 250;
  const tol = options?.cg?.tol ?? 1e-6;
  const apply = (x: Params): Params =>
    tidy(() => {
      const y = mv(x);
      return lambda === 0 ? y : y.map((t, i) => tf.add(t, tf.mul(x[i]!, lambda)));
    });
  const r = cg(tensorListOps, apply, v, { maxIters, tol });
  const warnings: string[] = [];
  if (r.breakdown) {
    tf.dispose(r.x as tf.Tensor[]);
    throw new CurvatureError(`${description} + λI: cg broke down (${r.reason}); the system is not positive definite, add damping`);
  }
  if (!r.converged) warnings.push(`cg stopped after ${r.iterations} iterations at relative residual ${r.relativeResidual.toExponential(2)} (tol ${tol})`);
  return { x: r.x as Params, report: report('cg', { iterations: r.iterations, relativeResidual: r.relativeResidual, warnings }) };
}

/** An operator known only by its products; `release` frees what the products close over. */
export function matrixFreeOp(
  shapes: Shapes,
  description: string,
  mv: (v: Params) => Params,
  cost: { memory: number; mvFlops: number },
  release: () => void,
): Op {
  return {
    structure: 'matrix_free',
    shapes,
    description,
    numParams: numParamsOf(shapes),
    mv: (v) => tidy(() => mv(v)),
    solve: (v, lambda, options) => {
      chooseSolver(description, ['cg'], options);
      return cgSolve(mv, description, v, lambda, options);
    },
    toDense: () => probe(description, shapes, mv),
    memory: () => cost.memory,
    flops: () => ({ mv: cost.mvFlops, solve: cost.mvFlops * (250 + 1), refresh: 0 }),
    power: () => noPower(description),
    dispose: release,
  };
}
