/**
 * The checked, resolved form of an optimizer spec: what `check` produces and what `plan`/`compile`
 * consume. Every component carries the span of the source text it came from, so later phases can
 * still report located errors. Defaults from the registry are already filled in.
 *
 * This file is a contract between the language front end and the compiler: extend it, but do not
 * change the meaning of a field.
 */

/** A location in a spec file. `line` and `column` are 1-based; offsets are 0-based, end exclusive. */
export interface Span {
  readonly file: string;
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly column: number;
}

/** A resolved argument value: a number, boolean, string, or a nested component (e.g. a schedule). */
export type ArgValue = number | boolean | string | Component;
// Enumerations (kfac `bias`, outer `of`, line_search `condition`) are strings; `fisher(exact)` is
// `{ sampled: 0 }`; a scheduled hyper-parameter (e.g. `lr(cosine(…))`) is a nested Component.

/** A call such as `tikhonov(1e-3)` or `levenberg_marquardt(initial: 150, every: 5)`, with every
 * registered argument present (positional arguments are already bound to their names). */
export interface Component {
  readonly name: string;
  readonly args: Readonly<Record<string, ArgValue>>;
  readonly span: Span;
}

export type AtomName =
  | 'identity'
  | 'fisher' // args: { sampled: number } where sampled = 0 means `fisher(exact)`; see registry
  | 'empirical_fisher'
  | 'outer' // outer(gradient): the batch gradient's outer product
  | 'ggn'
  | 'hessian'
  | 'gradient_covariance' // args: { centered: boolean }
  | 'lbfgs'; // args: { memory: number }

export type StructureName = 'full' | 'block_diag' | 'diag' | 'kfac' | 'ekfac' | 'lowrank';

/** Transforms applied with `|>` (or called directly, as in `sqrt(C)`). */
export type TransformName = 'ema' | 'sum' | 'sqrt';

/** The typed curvature algebra. */
export type Curvature =
  | { readonly _tag: 'Atom'; readonly name: AtomName; readonly args: Readonly<Record<string, ArgValue>>; readonly span: Span }
  | {
      readonly _tag: 'Structure';
      readonly name: StructureName;
      readonly of: Curvature;
      readonly args: Readonly<Record<string, ArgValue>>; // e.g. lowrank: { rank }, kfac: { bias: 'separate' | 'homogeneous' }
      readonly span: Span;
    }
  | { readonly _tag: 'Sum'; readonly terms: readonly Curvature[]; readonly span: Span }
  | { readonly _tag: 'Scale'; readonly factor: number; readonly of: Curvature; readonly span: Span }
  | { readonly _tag: 'Power'; readonly of: Curvature; readonly exponent: number; readonly span: Span }
  | {
      readonly _tag: 'Transform';
      readonly name: TransformName;
      readonly of: Curvature;
      readonly args: Readonly<Record<string, ArgValue>>; // ema: { decay, debias }, sum: { init }, sqrt: {}
      readonly span: Span;
    };

/**
 * One optimizer block after `extends` and imports are resolved. Clause defaults (registry.ts,
 * `clauses[].defaultText`; a defaulted clause carries the span of the block header):
 *   curvature = identity, estimate = every(1), refresh = every(1), damping = none, solver = auto,
 *   step = lr(1e-3), momentum = none, averaging = none, gradient = [] (minibatch),
 *   on_nonfinite = reject(max_failures: 10).
 * `solver` stays `auto` here; `chooseSolver(curvature)` (structure.ts) says what auto stands for.
 */
export interface OptimizerSpec {
  readonly name: string;
  readonly title: string | undefined;
  readonly span: Span; // the block header
  readonly curvature: Curvature;
  /** Cadence of curvature estimates: `estimate = every(n)`. */
  readonly estimate: Component;
  /** Cadence of inverses / decompositions: `refresh = every(n)`. */
  readonly refresh: Component;
  /** none | tikhonov(lambda, schedule?) | levenberg_marquardt(initial, decrease, increase, every) | factored(lambda) */
  readonly damping: Component;
  /** auto | cholesky | eigen | cg(max_iters, tol) | kronecker | woodbury | lbfgs_two_loop */
  readonly solver: Component;
  /** lr(eta | schedule) | kl(epsilon) | kl_trust(radius, lr) | line_search(...) | quadratic_model */
  readonly step: Component;
  /** none | heavy_ball(mu) | nesterov(mu) | quadratic_model */
  readonly momentum: Component;
  /** none | polyak(from) | ema(decay) */
  readonly averaging: Component;
  /** Gradient transforms in application order, e.g. [weight_decay(1e-4), clip(norm: 1), ema(0.9, true)];
   * empty means the plain minibatch gradient. */
  readonly gradient: readonly Component[];
  /** What to do with a NaN/Inf loss, gradient or step: reject(max_failures). */
  readonly onNonFinite: Component;
}

/** All optimizers of a checked file (imported blocks included, each once). */
export interface Spec {
  readonly file: string;
  readonly optimizers: readonly OptimizerSpec[];
}
