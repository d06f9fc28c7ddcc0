/**
 * reducesTo(a, b): two different specs take the same first steps from the same start
 * (docs/theory.md §5.5). Statistic: maxₜ‖θᵃₜ − θᵇₜ‖∞ / maxₜ‖θᵃₜ − θ₀‖∞ ≤ 1e-4.
 */
import * as fc from 'fast-check';
import type { Plan } from '../../optim/plan.js';
import { arbModelCase, type ShapeOptions } from '../arbitraries/models.js';
import { describeShape, hostBatch, initialParams, modelDef, type ModelCase } from '../cases.js';
import { runTrajectory } from '../run.js';
import type { PropertyWithMeasure } from './types.js';

export const REDUCTION_TOLERANCE = 1e-4;

export interface ReductionMeasure {
  readonly relativeDifference: number;
  readonly moved: number;
  readonly stepA: readonly number[];
  readonly stepB: readonly number[];
}

export function measureReduction(a: Plan, b: Plan, c: ModelCase, steps = 3): ReductionMeasure {
  const def = modelDef(c.shape);
  const theta0 = initialParams(def, c.paramSeed).map((x) => Float64Array.from(x, Math.fround));
  const batch = hostBatch(c.shape, c.n, c.dataSeed);
  const ta = runTrajectory(a, def, theta0, batch, { steps, seed: c.dataSeed });
  const tb = runTrajectory(b, def, theta0, batch, { steps, seed: c.dataSeed });
  const flat = (p: readonly Float64Array[]) => p.flatMap((x) => [...x]);
  const t0 = flat(theta0);
  let moved = 0;
  let diff = 0;
  for (let t = 1; t <= steps; t++) {
    const pa = flat(ta.params[t]!);
    const pb = flat(tb.params[t]!);
    pa.forEach((v, i) => {
      moved = Math.max(moved, Math.abs(v - t0[i]!));
      const d = Math.abs(v - pb[i]!);
      diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    });
  }
  const first = (tr: typeof ta) => flat(tr.params[1]!).slice(0, 4).map((v, i) => v - t0[i]!);
  return { relativeDifference: moved > 0 ? diff / moved : diff === 0 ? 0 : Infinity, moved, stepA: first(ta), stepB: first(tb) };
}

export function reducesTo(a: Plan, b: Plan, options: { shape?: ShapeOptions; steps?: number; tolerance?: number } = {}): PropertyWithMeasure<ModelCase, ReductionMeasure> {
  const arbitrary = arbModelCase(options.shape ?? { maxHidden: 0 });
  const tol = options.tolerance ?? REDUCTION_TOLERANCE;
  const measure = (c: ModelCase) => measureReduction(a, b, c, options.steps ?? 3);
  const passes = (m: ReductionMeasure) => m.relativeDifference <= tol;
  return {
    arbitrary,
    property: fc.property(arbitrary, (c) => passes(measure(c))),
    measure,
    passes,
    statistic: (m) => m.relativeDifference,
    statisticName: `maxₜ‖θᵃ − θᵇ‖∞ / maxₜ‖θᵃ − θ₀‖∞ (tolerance ${tol})`,
    describe: (c, m) =>
      `${a.name} vs ${b.name}: model ${describeShape(c.shape)}, N = ${c.n}, seeds data ${c.dataSeed} params ${c.paramSeed}\n` +
      `  relative difference ${m.relativeDifference.toExponential(3)} (moved ${m.moved.toExponential(3)})\n` +
      `  first step of ${a.name}: ${m.stepA.map((v) => v.toExponential(4)).join(' ')} …\n  first step of ${b.name}: ${m.stepB.map((v) => v.toExponential(4)).join(' ')} …`,
  };
}

/** The damping → ∞ limit of a plan with an `lr` step: the plan damped by tikhonov(λ), and SGD with η/λ
 * and otherwise the same rules (momentum, averaging, gradient transforms). (C + λI)⁻¹g = g/λ + O(‖C‖/λ²). */
export function largeDampingLimit(plan: Plan, lambda = 1e6): { damped: Plan; sgd: Plan } {
  if (plan.step._tag !== 'lr') throw new Error(`the damping → ∞ reduction needs step = lr(η); ${plan.name} has step = ${plan.step._tag}`);
  const eta = plan.step.eta;
  const scaled = eta._tag === 'constant' ? { ...eta, value: eta.value / lambda } : { ...eta, initial: eta.initial / lambda };
  const damped: Plan = { ...plan, name: `${plan.name}+tikhonov(${lambda})`, damping: { _tag: 'tikhonov', lambda: { _tag: 'constant', value: lambda } }, lrBeforeSolve: false };
  const sgd: Plan = {
    ...plan,
    name: `sgd(η/${lambda})`,
    curvature: { _tag: 'Atom', name: 'identity', args: {} },
    preconditioned: false,
    damping: { _tag: 'none' },
    step: { _tag: 'lr', eta: scaled as typeof eta },
    lrBeforeSolve: false,
  };
  return { damped, sgd };
}
