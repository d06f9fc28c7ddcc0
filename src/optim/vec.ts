/**
 * Small vector-space helpers over `Params` (one tensor per parameter). Every function returns
 * fresh tensors owned by the caller; host reductions return plain numbers.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../model/types.js';

/** Σᵢ ⟨aᵢ, bᵢ⟩ as a scalar tensor. */
export function dotT(a: Params, b: Params): tf.Scalar {
  return tf.tidy(() => tf.addN(a.map((ai, i) => tf.sum(tf.mul(ai, b[i]!)))) as tf.Scalar);
}

/** Several inner products read back in one host transfer (float64 sums of float32 terms). */
export function dots(pairs: readonly (readonly [Params, Params])[]): number[] {
  if (pairs.length === 0) return [];
  const t = tf.tidy(() => tf.stack(pairs.map(([a, b]) => dotT(a, b))));
  const out = Array.from(t.dataSync());
  t.dispose();
  return out;
}

export const dot = (a: Params, b: Params): number => dots([[a, b]])[0]!;

export function scale(a: Params, s: number): Params {
  return a.map((t) => tf.mul(t, s));
}

/** a + s·b */
export function axpy(a: Params, s: number, b: Params): Params {
  return a.map((t, i) => tf.tidy(() => tf.add(t, tf.mul(b[i]!, s))));
}

export function add(a: Params, b: Params): Params {
  return a.map((t, i) => tf.add(t, b[i]!));
}

/** α·a + β·b */
export function combine(alpha: number, a: Params, beta: number, b: Params): Params {
  return a.map((t, i) => tf.tidy(() => tf.add(tf.mul(t, alpha), tf.mul(b[i]!, beta))));
}

export function clone(a: Params): Params {
  return a.map((t) => tf.clone(t));
}

export function zerosLike(a: Params): Params {
  return a.map((t) => tf.zerosLike(t));
}

export function disposeParams(a: Params | undefined): void {
  if (a !== undefined) for (const t of a) t.dispose();
}
