/**
 * Damping policies: the λ handed to the solver, and how it moves.
 *   none                      λ = 0
 *   tikhonov(λ | schedule)    λ(t) (times the NaN-recovery boost)
 *   factored(λ | schedule)    as tikhonov, solved with K-FAC's π-corrected factored damping
 *   levenberg_marquardt       λ adapted every n steps from ρ = (L(θ+Δ) − L(θ)) / q(Δ),
 *                             q(Δ) = ½ΔᵀCΔ + gᵀΔ; ρ > ¾ ⇒ λ·decrease, ρ < ¼ ⇒ λ·increase (Martens 2010)
 */
import type { DampingPlan } from './plan.js';
import { scheduleValue } from './schedules.js';

export interface DampingState {
  /** λ for levenberg_marquardt (adapted); unused otherwise. */
  readonly lambda: number;
  /** Multiplier applied after non-finite steps (×10 each); 1 normally. */
  readonly boost: number;
}

export function initDamping(plan: DampingPlan): DampingState {
  return { lambda: plan._tag === 'levenberg_marquardt' ? plan.initial : 0, boost: 1 };
}

export function currentLambda(plan: DampingPlan, state: DampingState, step: number): number {
  switch (plan._tag) {
    case 'none':
      return 0;
    case 'tikhonov':
    case 'factored':
      return scheduleValue(plan.lambda, step) * state.boost;
    case 'levenberg_marquardt':
      return state.lambda;
  }
}

/** Martens (2010): shrink λ when the quadratic model predicts well, grow it when it does not. */
export function levenbergMarquardtUpdate(
  lambda: number,
  rho: number,
  rule: { readonly decrease: number; readonly increase: number; readonly lower?: number; readonly upper?: number },
): number {
  if (!Number.isFinite(rho)) return lambda * rule.increase;
  if (rho > (rule.upper ?? 0.75)) return lambda * rule.decrease;
  if (rho < (rule.lower ?? 0.25)) return lambda * rule.increase;
  return lambda;
}

/** The reduction ratio ρ = (L(θ+Δ) − L(θ)) / q(Δ); both numerator and q are negative for a good step. */
export function reductionRatio(lossBefore: number, lossAfter: number, quadraticChange: number): number {
  return (lossAfter - lossBefore) / quadraticChange;
}

/** Whether step t adapts λ (levenberg_marquardt only). */
export const adaptsAt = (plan: DampingPlan, step: number): boolean =>
  plan._tag === 'levenberg_marquardt' && step % plan.every === 0;

/** After a rejected (non-finite) step: raise damping tenfold. */
export function raiseDamping(plan: DampingPlan, state: DampingState): DampingState {
  if (plan._tag === 'levenberg_marquardt') return { ...state, lambda: Math.max(state.lambda, 1e-8) * 10 };
  return { ...state, boost: state.boost * 10 };
}

export const solveDampingMode = (plan: DampingPlan): 'exact' | 'factored' => (plan._tag === 'factored' ? 'factored' : 'exact');
