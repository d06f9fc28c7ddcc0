/**
 * reparametrizationInvariance(plan, family): run the optimizer on a model and on a genuinely
 * different model computing the same function (or on the loss multiplied by c), from corresponding
 * starts, and compare the two functions after k steps (docs/theory.md §5.1).
 */
import * as fc from 'fast-check';
import type { Plan } from '../../optim/plan.js';
import { arbInvarianceCase, type InvarianceCase, type ShapeOptions } from '../arbitraries/models.js';
import { describeShape, hostBatch, initialParams, modelDef, type HostBatch } from '../cases.js';
import { drawReparametrization, describeReparametrization, lossScaledGaussianDef, pullBackParams, reparametrizedDef, type Family } from '../reparam.js';
import { runTrajectory } from '../run.js';
import { lossScaleMode, withVanishingDamping } from '../planning.js';
import type { PropertyWithMeasure } from './types.js';
import { INVARIANCE_STEPS, INVARIANCE_TOLERANCE } from '../predict.js';

export type { PropertyWithMeasure } from './types.js';

export interface InvarianceOptions {
  readonly steps?: number; // default 3
  readonly tolerance?: number; // default 0.25 (measured: invariant ≤ 0.13, non-invariant ≥ 0.6)
  /** 'vanishing' (default): damping capped at λ_test; 'as-written': the spec's own damping. */
  readonly damping?: 'vanishing' | 'as-written';
  readonly shape?: ShapeOptions;
}

/** Output movement below which a run is "did not move" (float32 resolution of outputs ~1e-7). */
export const MIN_MOVEMENT = 1e-6;

export interface InvarianceMeasure {
  /** max |f(θₖ) − f̃(φₖ)| / max |f(θₖ) − f(θ₀)| on the batch. */
  readonly gap: number;
  readonly moved: number;
  readonly description: string;
  /** Outputs of the two runs after the last step (for the counterexample report). */
  readonly outputsA: readonly number[];
  readonly outputsB: readonly number[];
}


const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

function scaleBatch(b: HostBatch, s: number): HostBatch {
  return { x: b.x, y: b.y.map((r) => r.map((v) => v * s)) };
}

/** Likelihoods a family can be tested with for this plan. */
export function familyShapeOptions(plan: Plan, family: Family, base: ShapeOptions = {}): ShapeOptions {
  if (family !== 'loss-scale') return base;
  const m = lossScaleMode(plan);
  if ('error' in m) throw new Error(m.error);
  return m.mode === 'gaussian-model' ? { ...base, likelihoods: ['gaussian'] } : base;
}

export function measureInvariance(plan0: Plan, c: InvarianceCase, options: InvarianceOptions = {}): InvarianceMeasure {
  const steps = options.steps ?? INVARIANCE_STEPS;
  const plan = options.damping === 'as-written' ? plan0 : withVanishingDamping(plan0);
  const def = modelDef(c.model.shape);
  const theta0 = initialParams(def, c.model.paramSeed);
  const batch = hostBatch(c.model.shape, c.model.n, c.model.dataSeed);
  const seed = c.model.dataSeed;
  const a = runTrajectory(plan, def, theta0, batch, { steps, seed });
  let b;
  let what: string;
  if (c.family === 'loss-scale') {
    const mode = lossScaleMode(plan);
    if ('error' in mode) throw new Error(mode.error);
    if (mode.mode === 'context') {
      b = runTrajectory(plan, def, theta0, batch, { steps, seed, contextLossScale: c.lossScale });
      what = `loss × ${c.lossScale} (scaled step context; Fisher unchanged)`;
    } else {
      const sdef = lossScaledGaussianDef(def, c.lossScale);
      b = runTrajectory(plan, sdef, theta0, scaleBatch(batch, Math.sqrt(c.lossScale)), { steps, seed, evalDef: def });
      what = `loss × ${c.lossScale} (model √c·f on targets √c·t)`;
    }
  } else {
    const rp = drawReparametrization(def, c.family, c.transformSeed);
    const rdef = reparametrizedDef(def, rp);
    b = runTrajectory(plan, rdef, pullBackParams(def, rp, theta0), batch, { steps, seed });
    what = describeReparametrization(rp);
  }
  // A step rejected on the original model (a failed solve, a non-finite loss) is not a measurement:
  // report it, never score it. (A rejection on f̃ alone is a genuine difference and is scored.)
  const bad = a.metrics.find((m) => !m.accepted);
  if (bad) throw new Error(`${plan.name} rejected step ${bad.step} on the original model: ${bad.warnings.join('; ')}`);
  // gap = maxₜ |f(θₜ) − f̃(φₜ)| / maxₜ |f(θₜ) − f(θ₀)|: every step must agree, not only the last.
  let moved = 0;
  let diff = 0;
  let worstStep = steps;
  for (let t = 1; t <= steps; t++) {
    moved = Math.max(moved, maxAbsDiff(a.outputs[t]!, a.outputs[0]!));
    const d = maxAbsDiff(a.outputs[t]!, b.outputs[t]!);
    if (!(d <= diff)) {
      diff = Number.isNaN(d) ? Infinity : d;
      worstStep = t;
    }
  }
  if (!(moved > MIN_MOVEMENT) && !(diff > MIN_MOVEMENT)) throw new Error(`${plan.name} did not move the function (max output change ${moved.toExponential(2)} ≤ ${MIN_MOVEMENT}): nothing to compare`);
  const gap = diff / moved;
  const oa = a.outputs[worstStep]!;
  const ob = b.outputs[worstStep]!;
  return {
    gap: Number.isNaN(gap) ? Infinity : gap,
    moved,
    description: `model ${describeShape(c.model.shape)}, N = ${c.model.n}, seeds data ${c.model.dataSeed} params ${c.model.paramSeed}; transform (seed ${c.transformSeed}):\n${what}`,
    outputsA: Array.from(oa.slice(0, 6)),
    outputsB: Array.from(ob.slice(0, 6)),
  };
}

/** The property "plan is invariant under family": holds iff gap ≤ tolerance on every generated case. */
export function reparametrizationInvariance(plan: Plan, family: Family, options: InvarianceOptions = {}): PropertyWithMeasure<InvarianceCase, InvarianceMeasure> {
  const tol = options.tolerance ?? INVARIANCE_TOLERANCE;
    // Default: one dense layer. With a hidden layer the exact Fisher of these tiny tanh nets has
  // condition numbers ~10⁶ (measured), below float32 resolution, so the λ → 0 limit is not measurable.
  const arbitrary = arbInvarianceCase(family, familyShapeOptions(plan, family, options.shape ?? { maxHidden: 0 }));
  const measure = (c: InvarianceCase) => measureInvariance(plan, c, options);
  const passes = (m: InvarianceMeasure) => m.gap <= tol;
  return {
    arbitrary,
    property: fc.property(arbitrary, (c) => passes(measure(c))),
    measure,
    passes,
    statistic: (m) => m.gap,
    statisticName: 'invariance gap (max output disagreement / max output movement)',
    describe: (c, m) =>
      `${plan.name} × ${family}: gap ${m.gap.toExponential(3)} (tolerance ${tol}), function moved ${m.moved.toExponential(3)}\n${m.description}\n` +
      `run on f:  outputs ${m.outputsA.map((v) => v.toPrecision(5)).join(' ')} …\nrun on f̃: outputs ${m.outputsB.map((v) => v.toPrecision(5)).join(' ')} …`,
  };
}
