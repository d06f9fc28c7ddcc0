/**
 * Vectors in parameter space (`Params`: one tensor per parameter, DESIGN §3 flat order) and the
 * host float64 copies dense operators work on. Every function returns fresh tensors.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../model/types.js';

export const sizes = (p: Params): number[] => p.map((t) => t.size);
export const totalSize = (p: Params): number => p.reduce((s, t) => s + t.size, 0);

export const add = (a: Params, b: Params): Params => a.map((t, i) => tf.add(t, b[i]!));
export const sub = (a: Params, b: Params): Params => a.map((t, i) => tf.sub(t, b[i]!));
export const scale = (a: Params, s: number): Params => a.map((t) => tf.mul(t, s));
export const axpy = (alpha: number, x: Params, y: Params): Params =>
  tidy(() => x.map((t, i) => tf.add(y[i]!, tf.mul(t, alpha))));
export const clone = (a: Params): Params => a.map((t) => tf.clone(t));
export const zerosLike = (a: Params): Params => a.map((t) => tf.zerosLike(t));
export const dispose = (a: Params | undefined | null): void => {
  if (a) tf.dispose(a as tf.Tensor[]);
};

/** Σ aᵢ·bᵢ as a scalar tensor. */
export const dotTensor = (a: Params, b: Params): tf.Scalar =>
  tidy(() => tf.addN(a.map((t, i) => tf.sum(tf.mul(t, b[i]!)))) as tf.Scalar);
export const dot = (a: Params, b: Params): number => {
  const s = dotTensor(a, b);
  const v = s.dataSync()[0]!;
  s.dispose();
  return v;
};

/** Host float64 copy, concatenated in flat order. */
export const toHost = (p: Params): Float64Array => {
  const out = new Float64Array(totalSize(p));
  let o = 0;
  for (const t of p) {
    const d = t.dataSync();
    for (let i = 0; i < d.length; i++) out[o + i] = d[i]!;
    o += d.length;
  }
  return out;
};

/** Tensors shaped like `like` from a flat host array (float32). */
export const fromHost = (like: readonly { readonly shape: readonly number[] }[], a: ArrayLike<number>): Params => {
  let o = 0;
  return like.map((t) => {
    const n = t.shape.reduce((s, d) => s * d, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = a[o + i]!;
    o += n;
    return tf.tensor(data, t.shape as number[]);
  });
};

/** Shapes of a Params value (templates for `fromHost`). */
export const shapesOf = (p: Params): { shape: number[] }[] => p.map((t) => ({ shape: [...t.shape] }));

/** Unit basis vector e_j shaped like `like`. */
export const basis = (like: readonly { readonly shape: readonly number[] }[], j: number): Params => {
  const n = like.reduce((s, t) => s + t.shape.reduce((a, d) => a * d, 1), 0);
  const a = new Float64Array(n);
  a[j] = 1;
  return fromHost(like, a);
};

/** Probe a linear map with basis vectors: the dense P×P matrix, row-major, float64. */
export const probeDense = (like: readonly { readonly shape: readonly number[] }[], mv: (v: Params) => Params): Float64Array => {
  const n = like.reduce((s, t) => s + t.shape.reduce((a, d) => a * d, 1), 0);
  const m = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const e = basis(like, j);
    const col = mv(e);
    dispose(e);
    const c = toHost(col);
    dispose(col);
    for (let i = 0; i < n; i++) m[i * n + j] = c[i]!;
  }
  return m;
};

/** y = M x for a dense row-major n×n host matrix. */
export const denseMv = (m: Float64Array, n: number, x: Float64Array): Float64Array => {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const r = i * n;
    for (let j = 0; j < n; j++) s += m[r + j]! * x[j]!;
    y[i] = s;
  }
  return y;
};

/** tf.tidy for results typed as readonly arrays / interfaces (tfjs's TensorContainer rejects readonly arrays). */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}
