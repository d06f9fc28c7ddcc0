/**
 * Float64 Cholesky and SPD inverse from the native package, for the host-side factor
 * decompositions (K-FAC inverses). Measured on this machine (2 shared cores, load ≈ 12):
 * ml-matrix Cholesky of a 1000² SPD matrix 2.1 s and its symmetric eigendecomposition 27 s,
 * the native Cholesky 0.06 s and the full inverse 0.21 s of CPU time. Callers fall back to
 * their JS path when `ok` is false because the addon is missing.
 */
import { loadNative, type NativeAddon } from './native.js';

export type LinalgResult =
  | { readonly ok: true; readonly value: Float64Array }
  | { readonly ok: false; readonly reason: string; readonly notPositiveDefinite: boolean };

function addon(): { ok: true; fns: NativeAddon } | { ok: false; reason: string } {
  const l = loadNative();
  return l.ok ? { ok: true, fns: l.addon } : { ok: false, reason: `native kernels unavailable: ${l.reason}` };
}

function check(a: Float64Array, n: number): string | null {
  if (!Number.isInteger(n) || n < 0) return `n must be a non-negative integer (got ${n})`;
  if (a.length !== n * n) return `matrix has ${a.length} entries, expected n² = ${n * n}`;
  return null;
}

/** True when the native float64 routines can be used. */
export function nativeLinalgAvailable(): boolean {
  return addon().ok;
}

/** Lower Cholesky factor L (row-major, zero upper triangle) of A + damping·I; A's lower triangle is read. */
export function nativeCholesky(a: Float64Array, n: number, damping = 0): LinalgResult {
  const bad = check(a, n);
  if (bad !== null) return { ok: false, reason: bad, notPositiveDefinite: false };
  const ad = addon();
  if (!ad.ok) return { ok: false, reason: ad.reason, notPositiveDefinite: false };
  const out = new Float64Array(n * n);
  return ad.fns.cholesky(a, n, damping, out)
    ? { ok: true, value: out }
    : { ok: false, reason: `matrix + ${damping}·I is not positive definite`, notPositiveDefinite: true };
}

/** (A + damping·I)⁻¹ for symmetric positive definite A (row-major; lower triangle read), via Cholesky. */
export function nativeSpdInverse(a: Float64Array, n: number, damping = 0): LinalgResult {
  const bad = check(a, n);
  if (bad !== null) return { ok: false, reason: bad, notPositiveDefinite: false };
  const ad = addon();
  if (!ad.ok) return { ok: false, reason: ad.reason, notPositiveDefinite: false };
  const out = new Float64Array(n * n);
  return ad.fns.spdInverse(a, n, damping, out)
    ? { ok: true, value: out }
    : { ok: false, reason: `matrix + ${damping}·I is not positive definite`, notPositiveDefinite: true };
}
