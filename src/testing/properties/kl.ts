/**
 * klStep(plan): for step = kl(ε), ½ΔᵀFΔ = ε, and the exact predictive KL before → after the step,
 * averaged over the batch, is ε(1 + O(√ε)) (docs/theory.md §5.2; [A98], [M20] §12).
 */
import * as fc from 'fast-check';
import type { Plan } from '../../optim/plan.js';
import { arbModelCase, type ShapeOptions } from '../arbitraries/models.js';
import { describeShape, hostBatch, initialParams, modelDef, type ModelCase } from '../cases.js';
import { fisherByLabels, logitsAt, meanKL } from '../oracle.js';
import { runTrajectory } from '../run.js';
import type { PropertyWithMeasure } from './types.js';

export const KL_EPSILONS = [1e-5, 1e-4, 1e-3] as const;
/** |½ΔᵀFΔ/ε − 1| ≤ 1e-2: float32 step, float64 reference F. */
export const QUADRATIC_TOLERANCE = 1e-2;
/** |KL/ε − 1| ≤ 0.05 + K√ε with K = 10 (cubic remainder; ‖Δ‖ ∝ √ε). */
export const klTolerance = (eps: number): number => 0.05 + 10 * Math.sqrt(eps);

export interface KlMeasure {
  readonly epsilons: readonly number[];
  /** ½ΔᵀFΔ / ε with F the Fisher by label enumeration. */
  readonly quadraticRatios: readonly number[];
  /** mean-over-batch KL(p_θ ‖ p_θ+Δ) / ε, in float64 from the logits. */
  readonly klRatios: readonly number[];
  /** max over ε of |KL/ε − 1| / (0.05 + 10√ε): ≤ 1 passes. */
  readonly worst: number;
}

const withEpsilon = (plan: Plan, eps: number): Plan => ({ ...plan, step: { _tag: 'kl', epsilon: { _tag: 'constant', value: eps } } });

export function measureKlStep(plan: Plan, c: ModelCase): KlMeasure {
  if (plan.step._tag !== 'kl') throw new Error(`klStep needs a spec with step = kl(ε); ${plan.name} has step = ${plan.step._tag}`);
  const def = modelDef(c.shape);
  const theta0 = initialParams(def, c.paramSeed).map((a) => Float64Array.from(a, Math.fround));
  const batch = hostBatch(c.shape, c.n, c.dataSeed);
  const F = fisherByLabels(def, theta0, batch);
  const P = theta0.reduce((s, a) => s + a.length, 0);
  const before = logitsAt(def, theta0, batch.x);
  const quadraticRatios: number[] = [];
  const klRatios: number[] = [];
  for (const eps of KL_EPSILONS) {
    const t = runTrajectory(withEpsilon(plan, eps), def, theta0, batch, { steps: 1, seed: c.dataSeed });
    const bad = t.metrics.find((m) => !m.accepted);
    if (bad) throw new Error(`${plan.name} rejected its step: ${bad.warnings.join('; ')}`);
    // The step's own KL: the iterate θ₁ = θ₀ − Δ, never the evaluated average (with averaging the
    // average moves by only part of Δ; averaging has its own property, properties/averaging.ts).
    const theta1 = t.iterates[1]!;
    const d = theta1.flatMap((a, i) => [...a].map((v, j) => v - theta0[i]![j]!));
    let q = 0;
    for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) q += d[i]! * F[i * P + j]! * d[j]!;
    quadraticRatios.push((0.5 * q) / eps);
    klRatios.push(meanKL(def.likelihood, before, logitsAt(def, theta1, batch.x)) / eps);
  }
  const worst = Math.max(...klRatios.map((r, i) => Math.abs(r - 1) / klTolerance(KL_EPSILONS[i]!)));
  return { epsilons: [...KL_EPSILONS], quadraticRatios, klRatios, worst: Number.isNaN(worst) ? Infinity : worst };
}

export function klStep(plan: Plan, options: { shape?: ShapeOptions } = {}): PropertyWithMeasure<ModelCase, KlMeasure> {
  const arbitrary = arbModelCase(options.shape ?? { maxHidden: 0 });
  const measure = (c: ModelCase) => measureKlStep(plan, c);
  const passes = (m: KlMeasure) => m.worst <= 1 && m.quadraticRatios.every((r) => Math.abs(r - 1) <= QUADRATIC_TOLERANCE);
  return {
    arbitrary,
    property: fc.property(arbitrary, (c) => passes(measure(c))),
    measure,
    passes,
    statistic: (m) => m.worst,
    statisticName: 'max over ε of |KL/ε − 1| / (0.05 + 10√ε)',
    describe: (c, m) =>
      `${plan.name}: model ${describeShape(c.shape)}, N = ${c.n}, seeds data ${c.dataSeed} params ${c.paramSeed}\n` +
      m.epsilons.map((e, i) => `  ε = ${e}: ½ΔᵀFΔ/ε = ${m.quadraticRatios[i]!.toFixed(5)}, KL/ε = ${m.klRatios[i]!.toFixed(5)} (allowed |·−1| ≤ ${klTolerance(e).toFixed(3)})`).join('\n'),
  };
}
