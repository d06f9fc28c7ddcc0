/**
 * Numeric comparison with backend-aware tolerances: |a − b| ≤ atol + rtol·|b| elementwise
 * (numpy's / kfac-jax's convention). Defaults follow the active backend's float precision
 * (tfjs `test_util.testEpsilon()`: 1e-3 for float32, 1e-1 for float16).
 */
import * as tf from '@tensorflow/tfjs';

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

export type Numeric = number | ArrayLike<number> | tf.Tensor | readonly tf.Tensor[];

/** Tolerance for results computed in float32 (or float16) by the active tfjs backend. */
export function defaultTolerance(): Tolerance {
  const bits = tf.backend().floatPrecision();
  return bits === 16 ? { rtol: 1e-1, atol: 1e-1 } : { rtol: 1e-3, atol: 1e-5 };
}

/** Tolerance for host float64 computations. */
export const FLOAT64_TOLERANCE: Tolerance = { rtol: 1e-10, atol: 1e-12 };

/** Flatten numbers, arrays, tensors or lists of tensors (read synchronously) into a Float64Array. */
export function toHost(x: Numeric): Float64Array {
  if (typeof x === 'number') return Float64Array.of(x);
  if (x instanceof tf.Tensor) return Float64Array.from(x.dataSync());
  if (Array.isArray(x) && x.length > 0 && x[0] instanceof tf.Tensor) {
    const parts = (x as readonly tf.Tensor[]).map((t) => t.dataSync());
    const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
  return Float64Array.from(x as ArrayLike<number>);
}

export interface CloseReport {
  readonly ok: boolean;
  /** Largest |a − b|. */
  readonly maxAbs: number;
  /** Largest |a − b| / (atol + rtol·|b|): ≤ 1 means close. */
  readonly worstRatio: number;
  /** Index of the worst element (−1 if sizes differ or empty). */
  readonly worstIndex: number;
  readonly message: string;
}

/** Compare two numeric values elementwise; never throws, reports NaN/size mismatch as not close. */
export function compareClose(a: Numeric, b: Numeric, tol: Partial<Tolerance> = {}): CloseReport {
  const d = defaultTolerance();
  const rtol = tol.rtol ?? d.rtol;
  const atol = tol.atol ?? d.atol;
  const x = toHost(a);
  const y = toHost(b);
  if (x.length !== y.length) {
    return { ok: false, maxAbs: Infinity, worstRatio: Infinity, worstIndex: -1, message: `sizes differ: ${x.length} vs ${y.length}` };
  }
  let maxAbs = 0;
  let worst = 0;
  let wi = x.length > 0 ? 0 : -1;
  for (let i = 0; i < x.length; i++) {
    const diff = Math.abs(x[i]! - y[i]!);
    const r = Number.isNaN(diff) ? Infinity : diff / (atol + rtol * Math.abs(y[i]!));
    if (!(diff <= maxAbs)) maxAbs = Number.isNaN(diff) ? Infinity : Math.max(maxAbs, diff);
    if (r > worst) {
      worst = r;
      wi = i;
    }
  }
  const ok = worst <= 1;
  const message = ok
    ? `close (max |a−b| = ${maxAbs.toExponential(3)})`
    : `not close at index ${wi}: a = ${x[wi]}, b = ${y[wi]}, |a−b| = ${Math.abs(x[wi]! - y[wi]!).toExponential(3)} > atol ${atol} + rtol ${rtol}·|b|`;
  return { ok, maxAbs, worstRatio: worst, worstIndex: wi, message };
}

/** True when a and b agree elementwise within {rtol, atol} (backend-aware defaults). */
export function allClose(a: Numeric, b: Numeric, tol: Partial<Tolerance> = {}): boolean {
  return compareClose(a, b, tol).ok;
}

/** Throw with a located message unless allClose(a, b, tol). */
export function expectAllClose(a: Numeric, b: Numeric, tol: Partial<Tolerance> = {}, what = 'values'): void {
  const r = compareClose(a, b, tol);
  if (!r.ok) throw new Error(`${what}: ${r.message}`);
}
