/**
 * `compileWith(plan, def, createEstimator)`: a Plan becomes an `Optimizer` — a pair of functions
 * `init(params) → state` and `step(context, state) → [params, state, metrics]` over an explicit,
 * disposable state record (optax's shape, with a per-step context instead of bare gradients).
 *
 * One step, in order (each concern lives in its own module):
 *   1. loss and gradient from the context; ‖g‖ and the loss read back once — non-finite ⇒ reject
 *   2. gradient transforms (gradient.ts)
 *   3. curvature: estimate (every n), refresh inverses (every m), d = (C + λI)⁻¹ g̃   (damping.ts)
 *   4. momentum turns d into a direction p (momentum.ts); the step rule picks s (steps.ts);
 *      Δ = −s·p and θ' = θ + Δ with tfjs's op order (bit-compatible with tf.train.*)
 *   5. ‖Δ‖ non-finite ⇒ reject; LM damping adapts from ρ; averaging folds θ' in (averaging.ts)
 *
 * `step` consumes the state it is given (tensors it does not carry over are freed) and never frees
 * the context's tensors or `context.params`; the returned parameters are fresh.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef, Params } from '../model/types.js';
import type { Estimator, CurvatureExpr, SolveOptions, SolveReport } from '../curvature/types.js';
import type { Plan } from './plan.js';
import type { StepContext } from './context.js';
import { applyGradientTransforms, disposeGradientState, initGradientState, type GradientTransformState } from './gradient.js';
import {
  adaptsAt,
  currentLambda,
  initDamping,
  levenbergMarquardtUpdate,
  raiseDamping,
  reductionRatio,
  solveDampingMode,
  type DampingState,
} from './damping.js';
import { accumulate, nesterovDirection, quadraticMomentum } from './momentum.js';
import { stepScale, type DirectionStats } from './steps.js';
import { averagedParams, disposeAveraging, initAveraging, updateAveraging, type AveragingState } from './averaging.js';
import { clone, disposeParams, dots } from './vec.js';
import { scheduleValue } from './schedules.js';

export type EstimatorFactory = (expr: CurvatureExpr, def: ModelDef) => Estimator<unknown>;

export interface OptState {
  /** Steps attempted so far (accepted or rejected). */
  readonly step: number;
  readonly gradient: readonly GradientTransformState[];
  /** The curvature estimator's state (undefined when the plan needs no preconditioner). */
  readonly curvature: unknown;
  readonly damping: DampingState;
  /** Learning-rate multiplier; halved after a non-finite step when there is no damping to raise. */
  readonly lrScale: number;
  /** heavy_ball / nesterov velocity. */
  readonly velocity: Params | undefined;
  /** The last applied update (quadratic_model momentum). */
  readonly previousUpdate: Params | undefined;
  readonly averaging: AveragingState;
  /** Consecutive rejected steps. */
  readonly failures: number;
}

export interface StepMetrics {
  readonly step: number;
  readonly loss: number;
  readonly gradNorm: number;
  /** ‖Δ‖ (0 when the step was rejected). */
  readonly stepNorm: number;
  /** ½ΔᵀFΔ when the rule measured it (kl, kl_trust, quadratic models, LM). */
  readonly kl: number | undefined;
  readonly damping: number;
  readonly lr: number | undefined;
  readonly rho: number | undefined;
  readonly alpha: number | undefined;
  readonly mu: number | undefined;
  readonly accepted: boolean;
  /** Consecutive rejected steps, after this one. */
  readonly failures: number;
  /** True when `failures` exceeded the plan's max_failures: the run must stop. */
  readonly stop: boolean;
  readonly warnings: readonly string[];
  readonly solve: SolveReport | undefined;
}

export interface Optimizer {
  readonly plan: Plan;
  readonly def: ModelDef;
  init(params: Params): OptState;
  step(context: StepContext, state: OptState): readonly [Params, OptState, StepMetrics];
  /** Parameters to report and evaluate (the average when the plan averages); fresh tensors. */
  evaluationParams(params: Params, state: OptState): Params;
  dispose(state: OptState): void;
}

export function compileWith(plan: Plan, def: ModelDef, createEstimator: EstimatorFactory): Optimizer {
  const estimator = plan.preconditioned ? createEstimator(plan.curvature, def) : undefined;
  const solveOptions: SolveOptions = {
    solver: plan.engineSolver,
    damping: solveDampingMode(plan.damping),
    ...(plan.cg ? { cg: plan.cg } : {}),
  };

  const init = (params: Params): OptState => ({
    step: 0,
    gradient: initGradientState(plan.gradient, params),
    curvature: estimator?.init(params),
    damping: initDamping(plan.damping),
    lrScale: 1,
    velocity: plan.momentum._tag === 'heavy_ball' || plan.momentum._tag === 'nesterov' ? params.map((p) => tf.zerosLike(p)) : undefined,
    previousUpdate: undefined,
    averaging: initAveraging(plan.averaging, params),
    failures: 0,
  });

  const reject = (
    ctx: StepContext,
    state: OptState,
    base: { loss: number; gradNorm: number; lambda: number },
    reason: string,
    warnings: string[],
  ): readonly [Params, OptState, StepMetrics] => {
    const failures = state.failures + 1;
    const remedy = plan.damping._tag === 'none' ? 'learning rate halved' : 'damping ×10';
    const next: OptState = {
      ...state,
      step: state.step + 1,
      failures,
      damping: plan.damping._tag === 'none' ? state.damping : raiseDamping(plan.damping, state.damping),
      lrScale: plan.damping._tag === 'none' ? state.lrScale / 2 : state.lrScale,
    };
    warnings.push(`step ${state.step}: ${reason}; step rejected, ${remedy} (${failures} consecutive)`);
    return [
      clone(ctx.params),
      next,
      {
        step: state.step,
        loss: base.loss,
        gradNorm: base.gradNorm,
        stepNorm: 0,
        kl: undefined,
        damping: base.lambda,
        lr: undefined,
        rho: undefined,
        alpha: undefined,
        mu: undefined,
        accepted: false,
        failures,
        stop: failures > plan.maxFailures,
        warnings,
        solve: undefined,
      },
    ];
  };

  const step = (ctx: StepContext, state0: OptState): readonly [Params, OptState, StepMetrics] => {
    const t = state0.step;
    const warnings: string[] = [];
    const g = ctx.gradient();
    const params = ctx.params;
    // 1. loss and ‖g‖ in one read-back; also the finiteness check of loss and gradient.
    const [loss, gradNormSq] = readScalars([ctx.loss(), ...gradNormSqT(g)]);
    const gradNorm = Math.sqrt(gradNormSq);
    let lambda = currentLambda(plan.damping, state0.damping, t);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      return reject(ctx, state0, { loss, gradNorm, lambda }, `non-finite ${Number.isFinite(loss) ? 'gradient' : 'loss'}`, warnings);
    }
    // 2. gradient transforms.
    const transformed = applyGradientTransforms(plan.gradient, g, params, state0.gradient, t);
    let gTScaled: Params;
    const curvatureGradient = transformed.beforeEma;
    const releaseCurvatureGradient = () => {
      if (curvatureGradient !== g) disposeParams(curvatureGradient);
    };
    const gT = transformed.gradient;
    let state: OptState = { ...state0, gradient: transformed.state };
    // 3. curvature and solve.
    let d: Params;
    let solveReport: SolveReport | undefined;
    // η applied before the solve (RMSProp's op order) or, as usual, to the direction after it.
    const preScale = plan.lrBeforeSolve && plan.step._tag === 'lr' ? scheduleValue(plan.step.eta, t) * state.lrScale : 1;
    if (preScale !== 1) {
      const scaledG = gT.map((x) => tf.mul(x, preScale));
      disposeParams(gT);
      gTScaled = scaledG;
    } else gTScaled = gT;
    if (estimator !== undefined) {
      let cs = state.curvature;
      try {
        if (t % plan.estimateEvery === 0) cs = estimator.update(cs, { ...ctx.curvatureContext(), gradient: () => curvatureGradient });
        if (t % plan.refreshEvery === 0) cs = estimator.refresh(cs, lambda, solveOptions);
        state = { ...state, curvature: cs };
        const solved = estimator.operator(cs).solve(gTScaled, lambda, solveOptions);
        d = solved.x;
        solveReport = solved.report;
        warnings.push(...solved.report.warnings);
      } catch (err) {
        state = { ...state, curvature: cs };
        disposeParams(gTScaled);
        releaseCurvatureGradient();
        // A solver that cannot handle this structure is a configuration error, not a bad step.
        if (err instanceof Error && /cannot solve with/.test(err.message)) {
          disposeState(state);
          throw err;
        }
        return reject(ctx, state, { loss, gradNorm, lambda }, `curvature solve failed: ${err instanceof Error ? err.message : String(err)}`, warnings);
      }
      disposeParams(gTScaled);
    } else {
      d = gTScaled;
    }
    releaseCurvatureGradient();
    // 4. momentum → direction p; step rule → s; Δ = −s·p.
    let p: Params;
    let newVelocity: Params | undefined;
    let alpha: number | undefined;
    let mu: number | undefined;
    let known: { pFp?: number; pp?: number; gp?: number } = {};
    switch (plan.momentum._tag) {
      case 'none':
        p = d;
        break;
      case 'heavy_ball':
        mu = scheduleValue(plan.momentum.mu, t);
        newVelocity = accumulate(state.velocity!, d, mu);
        p = newVelocity;
        break;
      case 'nesterov':
        mu = scheduleValue(plan.momentum.mu, t);
        newVelocity = accumulate(state.velocity!, d, mu);
        p = nesterovDirection(d, newVelocity, mu);
        break;
      case 'quadratic_model': {
        const q = quadraticMomentum(d, state.previousUpdate, g, lambda, (v) => ctx.fisherProduct(v));
        if (q.warning) warnings.push(q.warning);
        p = q.p;
        alpha = q.alpha;
        mu = q.mu;
        known = { pFp: q.pFp, pp: q.pp, gp: q.gp };
        break;
      }
    }
    const stats = directionStats(p, g, ctx, known);
    const lossAlong = (s: number): number => {
      const trial = params.map((th, i) => tf.tidy(() => tf.add(tf.mul(p[i]!, -s), th)));
      const l = ctx.lossAt(trial);
      disposeParams(trial);
      return l;
    };
    const scaled = stepScale(plan.step, { step: t, lrScale: state.lrScale, lambda, loss, stats, lossAlong });
    if (scaled.warning) warnings.push(scaled.warning);
    const s = scaled.scale / preScale; // exactly 1 when η was applied before the solve
    const newParams: Params = params.map((th, i) => tf.tidy(() => tf.add(tf.mul(p[i]!, -s), th)));
    // 5. checks, damping adaptation, bookkeeping.
    const pp = stats.pp();
    const stepNorm = Math.abs(s) * Math.sqrt(pp);
    const releaseDirections = () => {
      if (p !== d && p !== newVelocity) disposeParams(p);
      if (d !== newVelocity) disposeParams(d);
    };
    if (!Number.isFinite(stepNorm)) {
      releaseDirections();
      disposeParams(newVelocity);
      disposeParams(newParams);
      return reject(ctx, state, { loss, gradNorm, lambda }, 'non-finite step', warnings);
    }
    let kl = scaled.kl;
    let rho: number | undefined;
    let damping = state.damping;
    if (adaptsAt(plan.damping, t) && plan.damping._tag === 'levenberg_marquardt') {
      const pFp = stats.pFp();
      kl = 0.5 * s * s * pFp;
      const quadraticChange = kl - s * stats.gp(); // q(Δ) = ½ΔᵀFΔ + gᵀΔ with Δ = −s p
      const lossAfter = ctx.lossAt(newParams);
      rho = reductionRatio(loss, lossAfter, quadraticChange);
      damping = { ...damping, lambda: levenbergMarquardtUpdate(damping.lambda, rho, plan.damping) };
    }
    // The applied update, kept for quadratic_model momentum.
    let previousUpdate = state.previousUpdate;
    if (plan.momentum._tag === 'quadratic_model') {
      disposeParams(previousUpdate);
      previousUpdate = p.map((pi) => tf.mul(pi, -s));
    }
    if (newVelocity !== undefined) disposeParams(state.velocity);
    releaseDirections();
    const averaging = updateAveraging(plan.averaging, state.averaging, newParams, t);
    const next: OptState = {
      ...state,
      step: t + 1,
      damping,
      velocity: newVelocity ?? state.velocity,
      previousUpdate,
      averaging,
      failures: 0,
    };
    lambda = currentLambda(plan.damping, state.damping, t);
    return [
      newParams,
      next,
      {
        step: t,
        loss,
        gradNorm,
        stepNorm,
        kl,
        damping: lambda,
        lr: scaled.lr,
        rho,
        alpha,
        mu,
        accepted: true,
        failures: 0,
        stop: false,
        warnings,
        solve: solveReport,
      },
    ];
  };

  function disposeState(state: OptState): void {
    disposeGradientState(state.gradient);
    if (estimator !== undefined && state.curvature !== undefined) estimator.dispose(state.curvature);
    disposeParams(state.velocity);
    disposeParams(state.previousUpdate);
    disposeAveraging(state.averaging);
  }

  return {
    plan,
    def,
    init,
    step,
    evaluationParams: (params, state) => averagedParams(state.averaging, params),
    dispose: disposeState,
  };
}

/** Σ‖gᵢ‖² as one scalar tensor (in a one-element array, for readScalars). */
function gradNormSqT(g: Params): tf.Scalar[] {
  return [tf.tidy(() => tf.addN(g.map((gi) => tf.sum(tf.square(gi)))) as tf.Scalar)];
}

/** Read scalars in one transfer; disposes all but the first (owned by the context). */
function readScalars(xs: tf.Scalar[]): number[] {
  const stacked = tf.stack(xs);
  const out = Array.from(stacked.dataSync());
  stacked.dispose();
  for (let i = 1; i < xs.length; i++) xs[i]!.dispose();
  return out;
}

/** pᵀFp, pᵀp, gᵀp on demand, each computed at most once (pᵀp alone costs one reduction). */
function directionStats(p: Params, g: Params, ctx: StepContext, known: { pFp?: number; pp?: number; gp?: number }): DirectionStats {
  let pFp = known.pFp;
  let pp = known.pp;
  let gp = known.gp;
  return {
    pFp: () => {
      if (pFp === undefined) {
        const Fp = ctx.fisherProduct(p);
        pFp = dots([[p, Fp]])[0]!;
        disposeParams(Fp);
      }
      return pFp;
    },
    pp: () => (pp ??= dots([[p, p]])[0]!),
    gp: () => (gp ??= dots([[g, p]])[0]!),
  };
}
