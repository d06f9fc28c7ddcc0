/**
 * Step rules. Every rule turns a direction p (the update is Δ = −s·p) into the scalar s:
 *   lr(η)              s = η
 *   kl(ε)              s = √(2ε / pᵀFp)                     ⇒ ½ΔᵀFΔ = ε
 *   kl_trust(r, η)     s = η·min(1, √(r / (½η² pᵀFp)))      ⇒ ½ΔᵀFΔ ≤ r
 *   line_search        s = t₀·shrinkᵏ, the first with L(θ − s p) ≤ L(θ) − c·s·gᵀp (Armijo)
 *   quadratic_model    s = gᵀp / (pᵀ(F + λI)p)              (K-FAC's α, Martens & Grosse 2015 §6.4)
 * F is the exact Gauss-Newton/Fisher matrix on the batch; the statistics arrive as lazy numbers.
 */
import type { StepPlan } from './plan.js';
import { scheduleValue } from './schedules.js';

/** Lazily computed inner products of the direction p. */
export interface DirectionStats {
  /** pᵀFp (exact curvature product on the batch). */
  readonly pFp: () => number;
  /** pᵀp */
  readonly pp: () => number;
  /** gᵀp with g the raw batch gradient. */
  readonly gp: () => number;
}

export interface StepScaleInput {
  readonly step: number;
  readonly lrScale: number;
  readonly lambda: number;
  readonly loss: number;
  readonly stats: DirectionStats;
  /** Loss at θ − s·p on the same batch (line search only). */
  readonly lossAlong: (s: number) => number;
}

export interface StepScale {
  readonly scale: number;
  /** The learning rate in effect (lr and kl_trust), for metrics. */
  readonly lr: number | undefined;
  /** ½ΔᵀFΔ of the resulting step when it was computed anyway. */
  readonly kl: number | undefined;
  readonly warning: string | undefined;
}

export function stepScale(plan: StepPlan, input: StepScaleInput): StepScale {
  const { stats } = input;
  switch (plan._tag) {
    case 'lr': {
      const eta = scheduleValue(plan.eta, input.step) * input.lrScale;
      return { scale: eta, lr: eta, kl: undefined, warning: undefined };
    }
    case 'kl': {
      const pFp = stats.pFp();
      if (!(pFp > 0)) return { scale: 0, lr: undefined, kl: 0, warning: `kl: pᵀFp = ${pFp} is not positive; step skipped` };
      const s = Math.sqrt((2 * scheduleValue(plan.epsilon, input.step)) / pFp) * input.lrScale;
      return { scale: s, lr: undefined, kl: 0.5 * s * s * pFp, warning: undefined };
    }
    case 'kl_trust': {
      const eta = scheduleValue(plan.eta, input.step) * input.lrScale;
      const pFp = stats.pFp();
      const kl0 = 0.5 * eta * eta * pFp;
      const radius = scheduleValue(plan.radius, input.step);
      const s = kl0 > radius ? eta * Math.sqrt(radius / kl0) : eta;
      return { scale: s, lr: eta, kl: 0.5 * s * s * pFp, warning: undefined };
    }
    case 'quadratic_model': {
      const denom = stats.pFp() + input.lambda * stats.pp();
      if (!(denom > 0)) return { scale: 0, lr: undefined, kl: undefined, warning: `quadratic_model: pᵀ(F+λI)p = ${denom} is not positive; step skipped` };
      const s = (stats.gp() / denom) * input.lrScale;
      return { scale: s, lr: undefined, kl: undefined, warning: undefined };
    }
    case 'line_search': {
      const slope = -stats.gp(); // directional derivative along Δ = −p
      let t = plan.initial * input.lrScale;
      for (let i = 0; i < plan.maxIters; i++) {
        const l = input.lossAlong(t);
        if (Number.isFinite(l) && l <= input.loss + plan.c * t * slope) return { scale: t, lr: t, kl: undefined, warning: undefined };
        t *= plan.shrink;
      }
      return {
        scale: 0,
        lr: 0,
        kl: undefined,
        warning: `line_search: no Armijo step after ${plan.maxIters} tries (gᵀΔ = ${slope.toExponential(3)}); step skipped`,
      };
    }
  }
}
