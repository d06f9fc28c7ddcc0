/**
 * Iterate averaging. The average is what training reports and evaluates; optimization continues
 * from the raw iterate.
 *   polyak(from)   θ̄ = mean of the iterates after step `from` (θ̄ ← θ̄ + (θ − θ̄)/k)
 *   ema(decay)     θ̄ ← decay·θ̄ + (1 − decay)·θ, starting from the initial parameters
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../model/types.js';
import type { AveragingPlan } from './plan.js';
import { clone, disposeParams } from './vec.js';

export interface AveragingState {
  readonly average: Params | undefined;
  readonly count: number;
}

export function initAveraging(plan: AveragingPlan, params: Params): AveragingState {
  return { average: plan._tag === 'ema' ? clone(params) : undefined, count: 0 };
}

/** Fold the new iterate θ (produced by step `step`, 0-based) in; consumes the old state. */
export function updateAveraging(plan: AveragingPlan, state: AveragingState, theta: Params, step: number): AveragingState {
  switch (plan._tag) {
    case 'none':
      return state;
    case 'ema': {
      const prev = state.average!;
      const average = prev.map((a, i) => tf.tidy(() => tf.add(tf.mul(a, plan.decay), tf.mul(theta[i]!, 1 - plan.decay))));
      disposeParams(prev);
      return { average, count: state.count + 1 };
    }
    case 'polyak': {
      if (step + 1 < plan.from) return state;
      const k = state.count + 1;
      if (state.average === undefined) return { average: clone(theta), count: 1 };
      const prev = state.average;
      const average = prev.map((a, i) => tf.tidy(() => tf.add(a, tf.div(tf.sub(theta[i]!, a), k))));
      disposeParams(prev);
      return { average, count: k };
    }
  }
}

/** The parameters to report and evaluate (fresh tensors). */
export function averagedParams(state: AveragingState, theta: Params): Params {
  return clone(state.average ?? theta);
}

export function disposeAveraging(state: AveragingState): void {
  disposeParams(state.average);
}
