/**
 * `plan(spec)`: resolve a checked `OptimizerSpec` into a `Plan` — defaults, `auto` choices,
 * cadences, the curvature expression the engine understands — recording every decision with its
 * reason so `explain` can print it. Pure: no tensors, no I/O.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { Component, Curvature, OptimizerSpec } from '../language/spec.js';
import type { CurvatureExpr, SolverName } from '../curvature/types.js';
import { chooseSolver as structuralSolver } from '../language/structure.js';
import { argOf, boolArg, numArg, planError, type PlanError } from './args.js';
import { describeSchedule, scheduleFrom, type ScheduleSpec } from './schedules.js';

export type { PlanError } from './args.js';

export type DampingPlan =
  | { readonly _tag: 'none' }
  | { readonly _tag: 'tikhonov'; readonly lambda: ScheduleSpec }
  | {
      readonly _tag: 'levenberg_marquardt';
      readonly initial: number;
      readonly decrease: number;
      readonly increase: number;
      readonly every: number;
      readonly lower: number;
      readonly upper: number;
    }
  | { readonly _tag: 'factored'; readonly lambda: ScheduleSpec };

export type StepPlan =
  | { readonly _tag: 'lr'; readonly eta: ScheduleSpec }
  | { readonly _tag: 'kl'; readonly epsilon: ScheduleSpec }
  | { readonly _tag: 'kl_trust'; readonly radius: ScheduleSpec; readonly eta: ScheduleSpec }
  | { readonly _tag: 'line_search'; readonly initial: number; readonly c: number; readonly shrink: number; readonly maxIters: number }
  | { readonly _tag: 'quadratic_model' };

export type MomentumPlan =
  | { readonly _tag: 'none' }
  | { readonly _tag: 'heavy_ball'; readonly mu: ScheduleSpec }
  | { readonly _tag: 'nesterov'; readonly mu: ScheduleSpec }
  | { readonly _tag: 'quadratic_model' };

export type AveragingPlan =
  | { readonly _tag: 'none' }
  | { readonly _tag: 'polyak'; readonly from: number }
  | { readonly _tag: 'ema'; readonly decay: number };

export type GradientTransformPlan =
  | { readonly _tag: 'weight_decay'; readonly lambda: ScheduleSpec }
  | { readonly _tag: 'clip'; readonly norm: number }
  | { readonly _tag: 'ema'; readonly decay: number; readonly debias: boolean };

export interface Decision {
  readonly clause: string;
  readonly choice: string;
  readonly reason: string;
}

export interface Plan {
  readonly name: string;
  readonly title: string | undefined;
  /** The curvature expression handed to the engine (`createEstimator`). */
  readonly curvature: CurvatureExpr;
  /** `false` when the preconditioner is the identity with no damping: Δ is the gradient itself. */
  readonly preconditioned: boolean;
  readonly estimateEvery: number;
  readonly refreshEvery: number;
  readonly damping: DampingPlan;
  /** The solver: written in the spec, or `auto`'s predicted choice (for explain). */
  readonly solver: SolverName;
  /** What the engine is asked for: the written solver, or 'auto' (the engine resolves it by the
   * structure it actually builds, which is authoritative when the two disagree). */
  readonly engineSolver: SolverName;
  readonly cg: { readonly maxIters: number; readonly tol: number } | undefined;
  readonly step: StepPlan;
  readonly momentum: MomentumPlan;
  readonly averaging: AveragingPlan;
  readonly gradient: readonly GradientTransformPlan[];
  /** Multiply the gradient by η before the solve instead of the direction after it (same maths;
   * tf.train.rmsprop's op order, mirrored for bit-compatibility). Only with `lr` and no momentum. */
  readonly lrBeforeSolve: boolean;
  /** Whether some rule needs exact curvature products on the batch (KL, ρ, quadratic models). */
  readonly needsQuadraticModel: boolean;
  readonly maxFailures: number;
  readonly decisions: readonly Decision[];
}

/** Optional hook: LANG's structural solver choice for `solver = auto`. */
export type SolverChooser = (curvature: Curvature) => { readonly solver: string; readonly reason: string };

export interface PlanOptions {
  readonly chooseSolver?: SolverChooser;
}

/** Strip spans: the language's `Curvature` → the engine's `CurvatureExpr`. */
export function toCurvatureExpr(c: Curvature): CurvatureExpr {
  switch (c._tag) {
    case 'Atom':
      return { _tag: 'Atom', name: c.name, args: { ...c.args } };
    case 'Structure':
      return { _tag: 'Structure', name: c.name, of: toCurvatureExpr(c.of), args: { ...c.args } };
    case 'Sum':
      return { _tag: 'Sum', terms: c.terms.map(toCurvatureExpr) };
    case 'Scale':
      return { _tag: 'Scale', factor: c.factor, of: toCurvatureExpr(c.of) };
    case 'Power':
      return { _tag: 'Power', of: toCurvatureExpr(c.of), exponent: c.exponent };
    case 'Transform':
      return { _tag: 'Transform', name: c.name, of: toCurvatureExpr(c.of), args: stripComponents(c.args) };
  }
}

function stripComponents(args: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) out[k] = v;
  return out;
}

/** Concise text of a curvature expression, e.g. `kfac(fisher(sampled: 1)) |> ema(decay: 0.95)`. */
export function describeCurvature(c: CurvatureExpr): string {
  const argText = (args: Readonly<Record<string, unknown>>) => {
    const parts = Object.entries(args).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    return parts.length > 0 ? `(${parts.join(', ')})` : '';
  };
  switch (c._tag) {
    case 'Atom':
      return `${c.name}${argText(c.args)}`;
    case 'Structure': {
      const extra = Object.entries(c.args).map(([k, v]) => `, ${k}: ${String(v)}`).join('');
      return `${c.name}(${describeCurvature(c.of)}${extra})`;
    }
    case 'Sum':
      return c.terms.map(describeCurvature).join(' + ');
    case 'Scale':
      return `${c.factor} * ${describeCurvature(c.of)}`;
    case 'Power':
      return `(${describeCurvature(c.of)})^${c.exponent}`;
    case 'Transform':
      return `${describeCurvature(c.of)} |> ${c.name}${argText(c.args)}`;
  }
}

const isIdentity = (c: Curvature): boolean => c._tag === 'Atom' && c.name === 'identity';

/** sqrt(ema(·, debias: false) [+ s·identity]): RMSProp's preconditioner. */
function isRmspropShape(c: Curvature): boolean {
  if (c._tag !== 'Transform' || c.name !== 'sqrt') return false;
  const inner = c.of;
  const isPlainEma = (x: Curvature) => x._tag === 'Transform' && x.name === 'ema' && x.args['debias'] !== true;
  if (isPlainEma(inner)) return true;
  return (
    inner._tag === 'Sum' &&
    inner.terms.some(isPlainEma) &&
    inner.terms.every((t) => isPlainEma(t) || isIdentity(t) || (t._tag === 'Scale' && isIdentity(t.of)))
  );
}

const cadence = (c: Component, clause: string): E.Either<PlanError, number> =>
  pipe(
    numArg(c, ['n', 'every', 'steps']),
    E.filterOrElse(
      (n) => Number.isInteger(n) && n >= 1,
      (n) => planError(`${clause} = ${c.name}(${n}): the cadence must be a positive integer`, c.span),
    ),
  );

function dampingPlan(c: Component): E.Either<PlanError, DampingPlan> {
  switch (c.name) {
    case 'none':
      return E.right({ _tag: 'none' });
    case 'tikhonov':
    case 'factored':
      return pipe(
        scheduleFrom(argOf(c, ['lambda', 'value', 'schedule']), c),
        E.map((lambda) => ({ _tag: c.name as 'tikhonov' | 'factored', lambda })),
      );
    case 'levenberg_marquardt':
      return pipe(
        E.Do,
        E.apS('initial', numArg(c, ['initial', 'lambda'])),
        E.apS('decrease', numArg(c, ['decrease'], 2 / 3)),
        E.apS('increase', numArg(c, ['increase'], 3 / 2)),
        E.apS('every', numArg(c, ['every'], 1)),
        E.apS('lower', numArg(c, ['lower'], 0.25)),
        E.apS('upper', numArg(c, ['upper'], 0.75)),
        E.filterOrElse(
          (a) =>
            a.initial >= 0 && a.decrease > 0 && a.decrease < 1 && a.increase > 1 && Number.isInteger(a.every) && a.every >= 1 && a.lower <= a.upper,
          () => planError('levenberg_marquardt: need initial ≥ 0, 0 < decrease < 1 < increase, integer every ≥ 1, lower ≤ upper', c.span),
        ),
        E.map((a) => ({ _tag: 'levenberg_marquardt', ...a }) as const),
      );
    default:
      return E.left(planError(`unknown damping '${c.name}'`, c.span));
  }
}

function stepPlan(c: Component): E.Either<PlanError, StepPlan> {
  switch (c.name) {
    case 'lr':
      return pipe(scheduleFrom(argOf(c, ['eta', 'lr', 'rate', 'value', 'schedule']), c), E.map((eta) => ({ _tag: 'lr', eta }) as const));
    case 'kl':
      return pipe(scheduleFrom(argOf(c, ['epsilon', 'eps', 'kl']), c), E.map((epsilon) => ({ _tag: 'kl', epsilon }) as const));
    case 'kl_trust':
      return pipe(
        E.Do,
        E.apS('radius', scheduleFrom(argOf(c, ['radius']), c)),
        E.apS('eta', scheduleFrom(argOf(c, ['lr', 'eta']) ?? 1, c)),
        E.map((a) => ({ _tag: 'kl_trust', ...a }) as const),
      );
    case 'line_search':
      return pipe(
        E.Do,
        E.apS('initial', numArg(c, ['initial', 'lr', 'eta'], 1)),
        E.apS('c', numArg(c, ['c', 'armijo', 'c1'], 1e-4)),
        E.apS('shrink', numArg(c, ['shrink', 'backtrack', 'beta'], 0.5)),
        E.apS('maxIters', numArg(c, ['max_iters', 'max_iterations', 'iters'], 20)),
        E.map((a) => ({ _tag: 'line_search', ...a }) as const),
      );
    case 'quadratic_model':
      return E.right({ _tag: 'quadratic_model' });
    default:
      return E.left(planError(`unknown step '${c.name}'`, c.span));
  }
}

function momentumPlan(c: Component): E.Either<PlanError, MomentumPlan> {
  switch (c.name) {
    case 'none':
      return E.right({ _tag: 'none' });
    case 'heavy_ball':
    case 'nesterov':
      return pipe(scheduleFrom(argOf(c, ['mu', 'momentum', 'beta']), c), E.map((mu) => ({ _tag: c.name as 'heavy_ball' | 'nesterov', mu })));
    case 'quadratic_model':
      return E.right({ _tag: 'quadratic_model' });
    default:
      return E.left(planError(`unknown momentum '${c.name}'`, c.span));
  }
}

function averagingPlan(c: Component): E.Either<PlanError, AveragingPlan> {
  switch (c.name) {
    case 'none':
      return E.right({ _tag: 'none' });
    case 'polyak':
      return pipe(numArg(c, ['from', 'start'], 0), E.map((from) => ({ _tag: 'polyak', from }) as const));
    case 'ema':
      return pipe(numArg(c, ['decay']), E.map((decay) => ({ _tag: 'ema', decay }) as const));
    default:
      return E.left(planError(`unknown averaging '${c.name}'`, c.span));
  }
}

function gradientPlan(c: Component): E.Either<PlanError, GradientTransformPlan> {
  switch (c.name) {
    case 'weight_decay':
      return pipe(scheduleFrom(argOf(c, ['lambda', 'rate', 'value']), c), E.map((lambda) => ({ _tag: 'weight_decay', lambda }) as const));
    case 'clip':
      return pipe(
        numArg(c, ['norm', 'max_norm']),
        E.filterOrElse((n) => n > 0, () => planError('clip: the norm must be positive', c.span)),
        E.map((norm) => ({ _tag: 'clip', norm }) as const),
      );
    case 'ema':
      return pipe(
        E.Do,
        E.apS('decay', numArg(c, ['decay'])),
        E.apS('debias', boolArg(c, ['debias'], false)),
        E.map((a) => ({ _tag: 'ema', ...a }) as const),
      );
    default:
      return E.left(planError(`unknown gradient transform '${c.name}'`, c.span));
  }
}

const SOLVERS: readonly SolverName[] = ['auto', 'cholesky', 'eigen', 'cg', 'kronecker', 'woodbury', 'lbfgs_two_loop'];

export function plan(spec: OptimizerSpec, options: PlanOptions = {}): E.Either<PlanError, Plan> {
  return pipe(
    E.Do,
    E.apS('estimateEvery', cadence(spec.estimate, 'estimate')),
    E.apS('refreshEvery', cadence(spec.refresh, 'refresh')),
    E.apS('damping', dampingPlan(spec.damping)),
    E.apS('step', stepPlan(spec.step)),
    E.apS('momentum', momentumPlan(spec.momentum)),
    E.apS('averaging', averagingPlan(spec.averaging)),
    E.apS('gradient', E.sequenceArray(spec.gradient.filter((c) => c.name !== 'minibatch').map(gradientPlan))),
    E.apS('maxFailures', numArg(spec.onNonFinite, ['max_failures', 'max', 'n'], 10)),
    E.bind('solverChoice', () => solverPlan(spec, options)),
    E.map((p) => {
      const decisions: Decision[] = [];
      const curvature = toCurvatureExpr(spec.curvature);
      const preconditioned = !(isIdentity(spec.curvature) && p.damping._tag === 'none');
      decisions.push({
        clause: 'curvature',
        choice: describeCurvature(curvature),
        reason: preconditioned ? 'Δ = (C + λI)⁻¹ g, estimated by the curvature engine' : 'identity curvature without damping: Δ = g (no solve)',
      });
      decisions.push({
        clause: 'estimate',
        choice: `every(${p.estimateEvery})`,
        reason: p.estimateEvery === 1 ? 'curvature statistics folded in at every step' : `statistics folded in at steps t ≡ 0 (mod ${p.estimateEvery})`,
      });
      decisions.push({
        clause: 'refresh',
        choice: `every(${p.refreshEvery})`,
        reason: `inverses/decompositions recomputed at steps t ≡ 0 (mod ${p.refreshEvery}), and at the first step`,
      });
      decisions.push({ clause: 'solver', choice: p.solverChoice.solver, reason: p.solverChoice.reason });
      decisions.push({ clause: 'damping', choice: describeDamping(p.damping), reason: dampingReason(p.damping) });
      decisions.push({ clause: 'step', choice: describeStep(p.step), reason: stepReason(p.step) });
      decisions.push({ clause: 'momentum', choice: describeMomentum(p.momentum), reason: momentumReason(p.momentum) });
      decisions.push({ clause: 'averaging', choice: describeAveraging(p.averaging), reason: 'reported and evaluated parameters use the average; training continues from the raw iterate' });
      decisions.push({
        clause: 'gradient',
        choice: p.gradient.length === 0 ? 'minibatch' : p.gradient.map(describeGradient).join(' → '),
        reason: 'applied in the order written to the minibatch mean-loss gradient',
      });
      const needsQuadraticModel =
        p.step._tag === 'kl' ||
        p.step._tag === 'kl_trust' ||
        p.step._tag === 'quadratic_model' ||
        p.momentum._tag === 'quadratic_model' ||
        p.damping._tag === 'levenberg_marquardt';
      if (needsQuadraticModel) {
        decisions.push({
          clause: 'quadratic model',
          choice: 'exact Gauss-Newton products on the batch',
          reason: 'KL (½ΔᵀFΔ), ρ and α/μ are measured with exact GGN products (= Fisher for categorical, gaussian, bernoulli likelihoods), one jvp + one vjp each',
        });
      }
      decisions.push({
        clause: 'on_nonfinite',
        choice: `reject(max_failures: ${p.maxFailures})`,
        reason: p.damping._tag === 'none' ? 'a non-finite step is rejected and the learning rate halved' : 'a non-finite step is rejected and the damping multiplied by 10',
      });
      const lrBeforeSolve = p.step._tag === 'lr' && p.momentum._tag === 'none' && p.gradient.length === 0 && isRmspropShape(spec.curvature);
      if (lrBeforeSolve) {
        decisions.push({
          clause: 'op order',
          choice: 'η·g before the solve',
          reason: "√(ema(g²) + ε) without debiasing is RMSProp: tf.train.rmsprop computes (η·g)/√(v + ε), so the spec does too (bit-compatible, same maths)",
        });
      }
      const plan: Plan = {
        name: spec.name,
        title: spec.title,
        curvature,
        preconditioned,
        estimateEvery: p.estimateEvery,
        refreshEvery: p.refreshEvery,
        damping: p.damping,
        solver: p.solverChoice.solver,
        engineSolver: spec.solver.name === 'auto' ? 'auto' : p.solverChoice.solver,
        cg: p.solverChoice.cg,
        step: p.step,
        momentum: p.momentum,
        averaging: p.averaging,
        gradient: p.gradient,
        lrBeforeSolve,
        needsQuadraticModel,
        maxFailures: p.maxFailures,
        decisions,
      };
      return plan;
    }),
  );
}

function solverPlan(
  spec: OptimizerSpec,
  options: PlanOptions,
): E.Either<PlanError, { solver: SolverName; reason: string; cg: { maxIters: number; tol: number } | undefined }> {
  const c = spec.solver;
  if (c.name === 'auto') {
    const chosen = (options.chooseSolver ?? structuralSolver)(spec.curvature);
    const solver = SOLVERS.find((s) => s === chosen.solver);
    if (solver === undefined) return E.left(planError(`auto chose unknown solver '${chosen.solver}'`, c.span));
    return E.right({ solver, reason: `auto: ${chosen.reason}`, cg: solver === 'cg' ? { maxIters: 100, tol: 1e-4 } : undefined });
  }
  const solver = SOLVERS.find((s) => s === c.name);
  if (solver === undefined) return E.left(planError(`unknown solver '${c.name}'`, c.span));
  if (solver === 'cg') {
    return pipe(
      E.Do,
      E.apS('maxIters', numArg(c, ['max_iters', 'iters'], 100)),
      E.apS('tol', numArg(c, ['tol', 'tolerance'], 1e-4)),
      E.map((cg) => ({ solver, reason: 'written in the spec', cg })),
    );
  }
  return E.right({ solver, reason: 'written in the spec', cg: undefined });
}

export function describeDamping(d: DampingPlan): string {
  switch (d._tag) {
    case 'none':
      return 'none';
    case 'tikhonov':
      return `tikhonov(λ = ${describeSchedule(d.lambda)})`;
    case 'factored':
      return `factored(λ = ${describeSchedule(d.lambda)})`;
    case 'levenberg_marquardt':
      return `levenberg_marquardt(initial: ${d.initial}, decrease: ${d.decrease}, increase: ${d.increase}, every: ${d.every}, lower: ${d.lower}, upper: ${d.upper})`;
  }
}

function dampingReason(d: DampingPlan): string {
  switch (d._tag) {
    case 'none':
      return 'λ = 0';
    case 'tikhonov':
      return 'λI added to the curvature after any power';
    case 'factored':
      return "K-FAC's π-corrected factored Tikhonov: (A + π√λ I) ⊗ (G + √λ/π I)";
    case 'levenberg_marquardt':
      return `every ${d.every} step(s) ρ = (L(θ+Δ) − L(θ)) / (½ΔᵀFΔ + gᵀΔ); ρ > ${d.upper} ⇒ λ·${d.decrease}, ρ < ${d.lower} ⇒ λ·${d.increase} (Martens 2010)`;
  }
}

export function describeStep(s: StepPlan): string {
  switch (s._tag) {
    case 'lr':
      return `lr(${describeSchedule(s.eta)})`;
    case 'kl':
      return `kl(ε = ${describeSchedule(s.epsilon)})`;
    case 'kl_trust':
      return `kl_trust(radius: ${describeSchedule(s.radius)}, lr: ${describeSchedule(s.eta)})`;
    case 'line_search':
      return `line_search(armijo: c = ${s.c}, initial ${s.initial}, shrink ${s.shrink}, ≤ ${s.maxIters} tries)`;
    case 'quadratic_model':
      return 'quadratic_model';
  }
}

function stepReason(s: StepPlan): string {
  switch (s._tag) {
    case 'lr':
      return 'θ ← θ − η p';
    case 'kl':
      return 'p scaled so that ½ΔᵀFΔ = ε (constant speed in KL)';
    case 'kl_trust':
      return 'Δ = −η p, scaled down only when ½ΔᵀFΔ > radius';
    case 'line_search':
      return 'backtracking until L(θ + tΔ) ≤ L(θ) + c·t·gᵀΔ';
    case 'quadratic_model':
      return "K-FAC's α = −gᵀΔ / (Δᵀ(F + λI)Δ), the minimizer of the quadratic model along Δ";
  }
}

export function describeMomentum(m: MomentumPlan): string {
  switch (m._tag) {
    case 'none':
      return 'none';
    case 'heavy_ball':
      return `heavy_ball(μ = ${describeSchedule(m.mu)})`;
    case 'nesterov':
      return `nesterov(μ = ${describeSchedule(m.mu)})`;
    case 'quadratic_model':
      return 'quadratic_model';
  }
}

function momentumReason(m: MomentumPlan): string {
  switch (m._tag) {
    case 'none':
      return 'p = Δ';
    case 'heavy_ball':
      return 'v ← μv + Δ, p = v (tf.train.momentum convention)';
    case 'nesterov':
      return 'v ← μv + Δ, p = Δ + μv (tf.train.momentum useNesterov convention)';
    case 'quadratic_model':
      return 'update = αΔ + μδ_prev with (α, μ) minimizing the damped quadratic model, a 2×2 solve (Martens & Grosse 2015 §7)';
  }
}

export function describeAveraging(a: AveragingPlan): string {
  switch (a._tag) {
    case 'none':
      return 'none';
    case 'polyak':
      return `polyak(from: ${a.from})`;
    case 'ema':
      return `ema(decay: ${a.decay})`;
  }
}

export function describeGradient(g: GradientTransformPlan): string {
  switch (g._tag) {
    case 'weight_decay':
      return `weight_decay(${describeSchedule(g.lambda)})`;
    case 'clip':
      return `clip(norm: ${g.norm})`;
    case 'ema':
      return `ema(${g.decay}${g.debias ? ', debias' : ''})`;
  }
}
