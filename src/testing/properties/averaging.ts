/**
 * averagingRule(plan): the evaluated parameters are the average of the iterates the rule names
 * (docs/theory.md §5.8): polyak(from) the running mean of θₜ for t ≥ from, ema(decay) the exponential
 * average θ̄ₜ = decay·θ̄ₜ₋₁ + (1 − decay)·θₜ from θ̄₀ = θ₀, none the iterate itself. The reference
 * average is recomputed on the host in float64 from the recorded iterates.
 * Statistic: maxₜ‖θ̄ₜ(engine) − θ̄ₜ(host)‖∞ / maxₜ‖θₜ − θ₀‖∞ ≤ AVERAGING_TOLERANCE.
 */
import * as fc from 'fast-check';
import type { AveragingPlan, Plan } from '../../optim/plan.js';
import { arbModelCase, type ShapeOptions } from '../arbitraries/models.js';
import { describeShape, hostBatch, initialParams, modelDef, type ModelCase } from '../cases.js';
import { runTrajectory } from '../run.js';
import { withVanishingDamping } from '../planning.js';
import type { PropertyWithMeasure } from './types.js';

/** float32 running average of ≤ 8 terms: each update rounds at ε₃₂ ≈ 6e-8 of |θ|; 1e-5 of the
 * distance moved leaves two decades for |θ|/movement. */
export const AVERAGING_TOLERANCE = 1e-5;
/** Steps run per case. */
export const AVERAGING_STEPS = 6;

/** The plan with polyak's `from` brought within the measured steps (from = min(from, 2)), so the
 * average is exercised; the rule itself is unchanged. */
export function withReachableAveraging(plan: Plan): Plan {
  return plan.averaging._tag === 'polyak' ? { ...plan, averaging: { _tag: 'polyak', from: Math.min(plan.averaging.from, 2) } } : plan;
}

/** The average the rule names, in float64, after each step (index t: after t steps; [0] = θ₀). */
export function referenceAverages(rule: AveragingPlan, iterates: readonly (readonly number[])[]): number[][] {
  const out: number[][] = [iterates[0]!.slice()];
  let avg: number[] | undefined = rule._tag === 'ema' ? iterates[0]!.slice() : undefined;
  let count = 0;
  for (let t = 1; t < iterates.length; t++) {
    const th = iterates[t]!;
    if (rule._tag === 'ema') avg = avg!.map((a, i) => rule.decay * a + (1 - rule.decay) * th[i]!);
    else if (rule._tag === 'polyak' && t >= rule.from) {
      count++;
      avg = avg === undefined ? th.slice() : avg.map((a, i) => a + (th[i]! - a) / count);
    }
    out.push(avg === undefined ? th.slice() : avg.slice());
  }
  return out;
}

export interface AveragingMeasure {
  readonly relativeDifference: number;
  readonly moved: number;
  /** First entries of the engine's and the reference average after the last step. */
  readonly engine: readonly number[];
  readonly reference: readonly number[];
}

export function measureAveraging(plan: Plan, rule: AveragingPlan, c: ModelCase, steps = AVERAGING_STEPS): AveragingMeasure {
  const def = modelDef(c.shape);
  const theta0 = initialParams(def, c.paramSeed).map((x) => Float64Array.from(x, Math.fround));
  const batch = hostBatch(c.shape, c.n, c.dataSeed);
  const tr = runTrajectory(plan, def, theta0, batch, { steps, seed: c.dataSeed });
  const flat = (p: readonly Float64Array[]) => p.flatMap((x) => [...x]);
  const its = tr.iterates.map(flat);
  const ref = referenceAverages(rule, its);
  let moved = 0;
  let diff = 0;
  for (let t = 1; t <= steps; t++) {
    const e = flat(tr.params[t]!);
    e.forEach((v, i) => {
      moved = Math.max(moved, Math.abs(its[t]![i]! - its[0]![i]!));
      const d = Math.abs(v - ref[t]![i]!);
      diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    });
  }
  return {
    relativeDifference: moved > 0 ? diff / moved : diff === 0 ? 0 : Infinity,
    moved,
    engine: flat(tr.params[steps]!).slice(0, 4),
    reference: ref[steps]!.slice(0, 4),
  };
}

export interface AveragingOptions {
  readonly shape?: ShapeOptions;
  readonly steps?: number;
  /** The rule the evaluated parameters are checked against (default: the plan's own). Giving a
   * different rule states a false claim, which must fail (tests do). */
  readonly claimed?: AveragingPlan;
}

/** The property "the evaluated parameters are the plan's average of its iterates". */
export function averagingRule(plan0: Plan, options: AveragingOptions = {}): PropertyWithMeasure<ModelCase, AveragingMeasure> {
  const plan = withReachableAveraging(withVanishingDamping(plan0));
  const rule = options.claimed ?? plan.averaging;
  const arbitrary = arbModelCase(options.shape ?? { maxHidden: 0 });
  const measure = (c: ModelCase) => measureAveraging(plan, rule, c, options.steps ?? AVERAGING_STEPS);
  const passes = (m: AveragingMeasure) => m.relativeDifference <= AVERAGING_TOLERANCE;
  const ruleText = (r: AveragingPlan) => (r._tag === 'none' ? 'none' : r._tag === 'ema' ? `ema(decay: ${r.decay})` : `polyak(from: ${r.from})`);
  return {
    arbitrary,
    property: fc.property(arbitrary, (c) => passes(measure(c))),
    measure,
    passes,
    statistic: (m) => m.relativeDifference,
    statisticName: `maxₜ‖θ̄ₜ − average of the iterates by ${ruleText(rule)}‖∞ / maxₜ‖θₜ − θ₀‖∞ (tolerance ${AVERAGING_TOLERANCE})`,
    describe: (c, m) =>
      `${plan.name} (averaging ${ruleText(plan.averaging)}, checked against ${ruleText(rule)}): model ${describeShape(c.shape)}, N = ${c.n}, seeds data ${c.dataSeed} params ${c.paramSeed}\n` +
      `  relative difference ${m.relativeDifference.toExponential(3)} (iterates moved ${m.moved.toExponential(3)})\n` +
      `  engine average:    ${m.engine.map((v) => v.toExponential(5)).join(' ')} …\n  reference average: ${m.reference.map((v) => v.toExponential(5)).join(' ')} …`,
  };
}
