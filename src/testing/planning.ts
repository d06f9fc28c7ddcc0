/**
 * Plan-level helpers for properties: which curvature atoms a plan uses, and the damping used to
 * measure a λ → 0 limit (docs/theory.md §5.1).
 */
import type { CurvatureExpr } from '../curvature/types.js';
import type { Plan } from '../optim/plan.js';
import type { ScheduleSpec } from '../optim/schedules.js';

export function atomsOf(c: CurvatureExpr): string[] {
  switch (c._tag) {
    case 'Atom':
      return [c.name];
    case 'Sum':
      return c.terms.flatMap(atomsOf);
    default:
      return atomsOf(c.of);
  }
}

/** λ_test: the damping used when measuring invariance in the λ → 0 limit. */
export const LAMBDA_TEST = 1e-6;

const small = (s: ScheduleSpec, cap: number): ScheduleSpec => {
  const v = s._tag === 'constant' ? s.value : s.initial;
  return { _tag: 'constant', value: Math.min(v, cap) };
};

/**
 * The scale of the curvature estimate after its first update, relative to the estimate itself: an
 * undebiased ema(decay: β) holds (1 − β)·C after one update, and for a Kronecker structure both
 * factors are averaged, so the product holds (1 − β)²·(A ⊗ G). λ must be small relative to *that*
 * scale for the λ → 0 limit to be measured (docs/theory.md §5.1).
 */
export function firstEstimateScale(c: CurvatureExpr): number {
  switch (c._tag) {
    case 'Atom':
      return 1;
    case 'Scale':
      return Math.abs(c.factor) * firstEstimateScale(c.of);
    case 'Sum':
      return Math.min(...c.terms.map(firstEstimateScale));
    case 'Power':
      return firstEstimateScale(c.of) ** c.exponent;
    case 'Structure':
      return firstEstimateScale(c.of);
    case 'Transform': {
      const inner = firstEstimateScale(c.of);
      if (c.name === 'ema' && c.args['debias'] !== true) {
        const w = 1 - Number(c.args['decay'] ?? 0);
        const kron = c.of._tag === 'Structure' && (c.of.name === 'kfac' || c.of.name === 'ekfac');
        return inner * (kron ? w * w : w);
      }
      if (c.name === 'sqrt') return Math.sqrt(inner);
      return inner;
    }
  }
}

/** The same plan with its damping kept in kind but its initial λ capped at λ_test times the scale of
 * the first curvature estimate (tikhonov, LM); factored damping perturbs each factor by O(√λ), so
 * its cap is λ_test² times that scale. */
export function withVanishingDamping(plan: Plan, lambdaTest = LAMBDA_TEST): Plan {
  const scale = plan.preconditioned ? Math.min(1, firstEstimateScale(plan.curvature)) : 1;
  const cap = lambdaTest * scale;
  const d = plan.damping;
  switch (d._tag) {
    case 'none':
      return plan;
    case 'tikhonov':
      return { ...plan, damping: { ...d, lambda: small(d.lambda, cap) } };
    case 'factored':
      // Factored Tikhonov ([MG15] §6.3) adds π√λ·I to A and √λ/π·I to G: the perturbation of the
      // preconditioner is O(√λ): the same λ→0 accuracy needs λ_test² (times the estimate scale).
      return { ...plan, damping: { ...d, lambda: small(d.lambda, lambdaTest * lambdaTest * scale) } };
    case 'levenberg_marquardt':
      return { ...plan, damping: { ...d, initial: Math.min(d.initial, cap) } };
  }
}

/** Atoms that the loss-scale *context* realises correctly (distribution- or gradient-defined). */
export const CONTEXT_SCALABLE = new Set(['fisher', 'identity', 'outer', 'lbfgs']);
/** Atoms defined by the loss itself: realised by the √c Gaussian model. */
export const MODEL_SCALABLE = new Set(['ggn', 'hessian', 'empirical_fisher', 'gradient_covariance', 'identity', 'outer', 'lbfgs']);

export type LossScaleMode = 'context' | 'gaussian-model';

/** How loss scaling is realised for a plan, or why it cannot be. */
export function lossScaleMode(plan: Plan): { mode: LossScaleMode } | { error: string } {
  const atoms = plan.preconditioned ? atomsOf(plan.curvature) : ['identity'];
  if (atoms.every((a) => CONTEXT_SCALABLE.has(a))) return { mode: 'context' };
  if (atoms.every((a) => MODEL_SCALABLE.has(a))) return { mode: 'gaussian-model' };
  return { error: `curvature mixes distribution-defined (fisher) and loss-defined atoms (${atoms.join(', ')}): no model realises its loss scaling` };
}
