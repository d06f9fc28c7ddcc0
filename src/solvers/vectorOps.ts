/**
 * The vector algebra the matrix-free solvers (cg, lbfgsTwoLoop) need, so one implementation serves
 * host Float64Arrays and tfjs parameter lists alike. Every operation returns a fresh vector owned by
 * the caller; `dispose` (when given) frees one the solver no longer needs.
 */
import * as tf from '@tensorflow/tfjs';

export interface VectorOps<V> {
  dot(x: V, y: V): number;
  /** a·x + y */
  axpy(a: number, x: V, y: V): V;
  /** a·x */
  scale(a: number, x: V): V;
  /** x − y */
  sub(x: V, y: V): V;
  clone?(x: V): V;
  dispose?(x: V): void;
}

export const float64Ops: VectorOps<Float64Array> = {
  dot: (x, y) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
    return s;
  },
  axpy: (a, x, y) => {
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = a * x[i]! + y[i]!;
    return out;
  },
  scale: (a, x) => {
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = a * x[i]!;
    return out;
  },
  sub: (x, y) => {
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i]! - y[i]!;
    return out;
  },
  clone: (x) => Float64Array.from(x),
};

/**
 * Vectors as lists of tensors (e.g. one per parameter). `dot` reads one scalar back to the host;
 * every other op is one tidy returning fresh tensors, so no intermediate leaks.
 */
export const tensorListOps: VectorOps<readonly tf.Tensor[]> = {
  dot: (x, y) => {
    const s = tf.tidy(() => tf.addN(x.map((xi, i) => tf.sum(tf.mul(xi, y[i]!)))));
    const v = s.dataSync()[0]!;
    s.dispose();
    return v;
  },
  axpy: (a, x, y) => tf.tidy(() => x.map((xi, i) => tf.add(tf.mul(xi, a), y[i]!))),
  scale: (a, x) => tf.tidy(() => x.map((xi) => tf.mul(xi, a))),
  sub: (x, y) => tf.tidy(() => x.map((xi, i) => tf.sub(xi, y[i]!))),
  clone: (x) => x.map((xi) => xi.clone()),
  dispose: (x) => tf.dispose(x as tf.Tensor[]),
};
