/**
 * The internal operator type: a CurvatureOperator that also says which structure it has, so the
 * algebra (sum, scalar multiple, power) can stay structured, and shared helpers.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Params } from '../model/types.js';
import type { SolverError } from '../solvers/errors.js';
import { CurvatureError, type CurvatureOperator, type SolveOptions, type SolveReport, type SolverName } from './types.js';
import * as V from './vec.js';

export type Structure = 'identity' | 'diag' | 'kfac' | 'ekfac' | 'full' | 'block_diag' | 'lowrank' | 'lbfgs' | 'matrix_free' | 'scaled' | 'shifted' | 'sum';

export type Shapes = readonly { readonly shape: readonly number[] }[];

export interface Op extends CurvatureOperator {
  readonly structure: Structure;
  readonly shapes: Shapes;
  /** C^p as a new operator (independent of this one), or a CurvatureError for structures without powers. */
  power(p: number): Op;
  /** Precomputes what solves at this damping need (eigendecompositions); optional. */
  prepare?(lambda: number, options?: SolveOptions): void;
}

export const numParamsOf = (shapes: Shapes): number => shapes.reduce((s, t) => s + t.shape.reduce((a, d) => a * d, 1), 0);

/** Solvers each structure accepts, the first being `auto`'s choice. */
export const unwrapSolver = <A>(what: string, r: E.Either<SolverError, A>): A => {
  if (E.isLeft(r)) throw new CurvatureError(`${what}: ${r.left.message}`);
  return r.right;
};

export const chooseSolver = (description: string, allowed: readonly SolverName[], options?: SolveOptions): SolverName => {
  const asked = options?.solver ?? 'auto';
  if (asked === 'auto') return allowed[0]!;
  if (!allowed.includes(asked)) {
    throw new CurvatureError(`solver '${asked}' cannot solve with ${description}; use one of: auto, ${allowed.join(', ')}`);
  }
  return asked;
};

export const checkLambda = (lambda: number): void => {
  if (!Number.isFinite(lambda) || lambda < 0) throw new CurvatureError(`damping λ must be a finite number ≥ 0, got ${lambda}`);
};

export const report = (solver: SolverName, extra: Partial<Omit<SolveReport, 'solver'>> = {}): SolveReport => ({
  solver,
  warnings: [],
  ...extra,
});

/** The dense matrix by probing with basis vectors (refuses sizes whose matrix would not fit). */
export const MAX_DENSE_PARAMS = 8192;
export const probe = (description: string, shapes: Shapes, mv: (v: Params) => Params): Float64Array => {
  const n = numParamsOf(shapes);
  if (n > MAX_DENSE_PARAMS) {
    throw new CurvatureError(`${description}: refusing to materialize a ${n}×${n} matrix (more than ${MAX_DENSE_PARAMS} parameters)`);
  }
  return V.probeDense(shapes, mv);
};

export const noPower = (description: string, hint = 'wrap it in full(·), block_diag(·), diag(·) or kfac(·)'): never => {
  throw new CurvatureError(`${description} has no matrix power; ${hint}`);
};
