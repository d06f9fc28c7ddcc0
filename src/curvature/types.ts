/**
 * The contract between the curvature engine and its users (optim, train, testing, cli).
 * Vectors in parameter space are `Params` (one tensor per parameter, flat order of DESIGN §3).
 * Every method returns fresh tensors owned by the caller; operators own their internal tensors
 * and free them in `dispose()`.
 */
import type { Batch, BackwardPass, ForwardPass, ModelDef, Params } from '../model/types.js';

/** The curvature expression the engine understands (structurally the language's `Curvature`,
 * without spans; `optim` maps the checked spec onto it). */
export type CurvatureExpr =
  | { readonly _tag: 'Atom'; readonly name: string; readonly args: Readonly<Record<string, unknown>> }
  | { readonly _tag: 'Structure'; readonly name: string; readonly of: CurvatureExpr; readonly args: Readonly<Record<string, unknown>> }
  | { readonly _tag: 'Sum'; readonly terms: readonly CurvatureExpr[] }
  | { readonly _tag: 'Scale'; readonly factor: number; readonly of: CurvatureExpr }
  | { readonly _tag: 'Power'; readonly of: CurvatureExpr; readonly exponent: number }
  | { readonly _tag: 'Transform'; readonly name: string; readonly of: CurvatureExpr; readonly args: Readonly<Record<string, unknown>> };

export type SolverName = 'auto' | 'cholesky' | 'eigen' | 'cg' | 'kronecker' | 'woodbury' | 'lbfgs_two_loop';

export interface SolveOptions {
  readonly solver?: SolverName;
  /** 'exact' adds λI to the whole matrix; 'factored' is K-FAC's π-corrected (A+π√λI)⊗(G+√λ/π I). */
  readonly damping?: 'exact' | 'factored';
  readonly cg?: { readonly maxIters: number; readonly tol: number };
}

/** What a solve reports besides the solution (CG iterations and residual, jitter added, ...). */
export interface SolveReport {
  readonly solver: SolverName;
  readonly iterations?: number;
  readonly relativeResidual?: number;
  readonly jitter?: number;
  readonly warnings: readonly string[];
}

export interface CurvatureOperator {
  /** Human-readable structure, e.g. "kfac(fisher(sampled: 1))". */
  readonly description: string;
  readonly numParams: number;
  /** C v. */
  mv(v: Params): Params;
  /** (C + λI)⁻¹ v. Throws a CurvatureError (never returns NaN) if the system cannot be solved. */
  solve(v: Params, lambda: number, options?: SolveOptions): { readonly x: Params; readonly report: SolveReport };
  /** The dense P×P matrix, row-major, float64 (built by probing with basis vectors unless cheaper). */
  toDense(): Float64Array;
  /** Numbers stored by the operator. */
  memory(): number;
  /** Approximate FLOPs of one mv and of one solve (after any refresh). */
  flops(): { readonly mv: number; readonly solve: number; readonly refresh: number };
  dispose(): void;
}

/** Everything an estimate may need at one step; expensive pieces are computed once, on demand. */
export interface CurvatureContext {
  readonly def: ModelDef;
  readonly params: Params;
  readonly batch: Batch;
  /** Memoized: every call returns the same ForwardPass, owned by the context (callers must not
   * dispose it). `createContext` in src/curvature/context.ts builds such a context. */
  readonly forward: () => ForwardPass;
  /** Mean-loss gradient at params; memoized and owned by the context like `forward`. */
  readonly gradient: () => Params;
  /** Optional: the backward pass of the data loss that `gradient` comes from — backprop of the
   * per-example output gradients ∂ℓₙ/∂fₙ at the data labels (NOT divided by N), so
   * `denseOutputGrads[l]` = ∂ℓₙ/∂z_l per example and `grads` = N ∇L. Memoized and owned by the
   * context like `forward` (same forward pass). When present, data-label statistics (empirical
   * Fisher, gradient covariance) reuse it instead of a second backward pass. */
  readonly backward?: () => BackwardPass;
  readonly seed: number;
  readonly step: number;
}

/** A running curvature estimate (EMA / sums / L-BFGS memory live in its state). */
export interface Estimator<S> {
  init(params: Params): S;
  /** Fold a new estimate from ctx into the state (disposes what it replaces). */
  update(state: S, ctx: CurvatureContext): S;
  /** Recompute inverses / decompositions (cadence `refresh = every(n)` decides when). */
  refresh(state: S, lambda: number, options?: SolveOptions): S;
  /** The operator of the last refresh (stale between refreshes, like K-FAC's inverses under
   * `refresh = every(n)`), or, when never refreshed, one built from the current state. Owned by the
   * state; valid until the next refresh (matrix-free atoms: until the next update). */
  operator(state: S): CurvatureOperator;
  dispose(state: S): void;
}

export class CurvatureError extends Error {
  override readonly name = 'CurvatureError';
}
