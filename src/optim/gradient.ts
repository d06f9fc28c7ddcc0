/**
 * Gradient transforms, applied in the order written: `weight_decay(λ)` (g + λθ), `clip(norm)`
 * (global-norm clipping), `ema(decay, debias)` (tf.train.adam's first moment, same op order:
 * m ← m·β + g·(1 − β); m̂ = m / (1 − βᵗ) with βᵗ accumulated in float32 as tfjs does).
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../model/types.js';
import type { GradientTransformPlan } from './plan.js';
import { disposeParams, dots } from './vec.js';
import { scheduleValue } from './schedules.js';

/** Per-transform state: the EMA's moment and float32 running power of the decay. */
export type GradientTransformState = { readonly m: Params; readonly power: number } | null;

export function initGradientState(plan: readonly GradientTransformPlan[], params: Params): GradientTransformState[] {
  return plan.map((g) => (g._tag === 'ema' ? { m: params.map((p) => tf.zerosLike(p)), power: Math.fround(g.decay) } : null));
}

export function disposeGradientState(state: readonly GradientTransformState[]): void {
  for (const s of state) if (s !== null) disposeParams(s.m);
}

/**
 * Transform the gradient `g` (not consumed) at parameters `params` and step `step`. Consumes `state` (its tensors
 * are either carried into the new state or freed). Returns a fresh transformed gradient.
 */
export function applyGradientTransforms(
  plan: readonly GradientTransformPlan[],
  g: Params,
  params: Params,
  state: readonly GradientTransformState[],
  step: number,
): {
  readonly gradient: Params;
  readonly state: GradientTransformState[];
  /** The gradient after the transforms before the first `ema` (what `outer(gradient)` sees);
   * `g` itself when there are none (then not owned), else fresh. */
  readonly beforeEma: Params;
} {
  let current: Params = g;
  let owned = false;
  let beforeEma: Params | undefined;
  const next: GradientTransformState[] = [];
  const replace = (p: Params) => {
    if (owned) disposeParams(current);
    current = p;
    owned = true;
  };
  plan.forEach((t, i) => {
    const s = state[i] ?? null;
    switch (t._tag) {
      case 'weight_decay':
        replace(current.map((gi, j) => tf.tidy(() => tf.add(gi, tf.mul(params[j]!, scheduleValue(t.lambda, step))))));
        next.push(null);
        break;
      case 'clip': {
        const norm = Math.sqrt(dots([[current, current]])[0]!);
        if (norm > t.norm) replace(current.map((gi) => tf.mul(gi, t.norm / norm)));
        next.push(null);
        break;
      }
      case 'ema': {
        if (s === null) throw new Error('gradient ema: missing state (was init called with this plan?)');
        if (beforeEma === undefined) beforeEma = owned ? current.map((gi) => tf.clone(gi)) : g;
        const m = s.m.map((mi, j) => tf.tidy(() => tf.add(tf.mul(mi, t.decay), tf.mul(current[j]!, 1 - t.decay))));
        disposeParams(s.m);
        if (t.debias) {
          const denom = Math.fround(1 - s.power);
          replace(m.map((mi) => tf.div(mi, denom)));
        } else {
          replace(m.map((mi) => tf.clone(mi)));
        }
        next.push({ m, power: Math.fround(s.power * Math.fround(t.decay)) });
        break;
      }
    }
  });
  const gradient = owned ? current : current.map((gi) => tf.clone(gi));
  return { gradient, state: next, beforeEma: beforeEma ?? (owned ? gradient.map((gi) => tf.clone(gi)) : g) };
}
