import { describe, it, expect } from 'vitest';
import { nativeCholesky, nativeSpdInverse, nativeLinalgAvailable, nativeSymmetricEigen } from '../../src/backend/linalg.js';
import { loadNative } from '../../src/backend/native.js';

function data(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** A = X Xᵀ / n (PSD, rank ≤ n), computed with plain loops as the independent reference. */
function gram(n: number, seed: number): Float64Array {
  const x = data(n * n, seed), a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += x[i * n + k]! * x[j * n + k]!;
      a[i * n + j] = a[j * n + i] = s / n;
    }
  return a;
}

function matmul(a: Float64Array, b: Float64Array, n: number, transB = false): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      for (let j = 0; j < n; j++) c[i * n + j] += aik * (transB ? b[j * n + k]! : b[k * n + j]!);
    }
  return c;
}

describe.skipIf(!nativeLinalgAvailable())('native float64 Cholesky / SPD inverse', () => {
  // The factorization and inverse work in blocks of 48 rows with register tiles of 3 or 4 and
  // vectors of 2-8 doubles: 47/48/49 straddle one block edge, 97 and 150 several, with ragged tiles.
  for (const n of [1, 5, 47, 48, 49, 70, 97, 150]) {
    it(`L Lᵀ = A + λI and (A + λI)⁻¹ (A + λI) = I, n = ${n}`, () => {
      const lambda = 1e-2, a = gram(n, n);
      const ad = Float64Array.from(a, (v, idx) => (idx % (n + 1) === 0 ? v + lambda : v));
      const l = nativeCholesky(a, n, lambda);
      expect(l.ok).toBe(true);
      if (!l.ok) return;
      let upper = 0;
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) upper = Math.max(upper, Math.abs(l.value[i * n + j]!));
      expect(upper).toBe(0);
      const llt = matmul(l.value, l.value, n, true);
      let e1 = 0;
      for (let i = 0; i < n * n; i++) e1 = Math.max(e1, Math.abs(llt[i]! - ad[i]!));
      expect(e1).toBeLessThan(1e-12);
      const inv = nativeSpdInverse(a, n, lambda);
      expect(inv.ok).toBe(true);
      if (!inv.ok) return;
      const eye = matmul(inv.value, ad, n);
      let e2 = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) e2 = Math.max(e2, Math.abs(eye[i * n + j]! - (i === j ? 1 : 0)));
      expect(e2).toBeLessThan(1e-9);
    });
  }

  it('every instruction set gives the same factor and inverse (n = 131, multi-block)', () => {
    const loaded = loadNative();
    if (!loaded.ok) throw new Error(loaded.reason);
    const ad = loaded.addon;
    const before = ad.info().isa;
    const n = 131, lambda = 1e-3, a = gram(n, 3);
    const ad2 = Float64Array.from(a, (v, idx) => (idx % (n + 1) === 0 ? v + lambda : v));
    try {
      for (const isa of ['avx512', 'avx2', 'generic']) {
        if (!ad.setIsa(isa)) continue;
        const inv = nativeSpdInverse(a, n, lambda);
        expect(inv.ok, isa).toBe(true);
        if (!inv.ok) return;
        const eye = matmul(inv.value, ad2, n);
        let e = 0, asym = 0;
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            e = Math.max(e, Math.abs(eye[i * n + j]! - (i === j ? 1 : 0)));
            asym = Math.max(asym, Math.abs(inv.value[i * n + j]! - inv.value[j * n + i]!));
          }
        expect(e, isa).toBeLessThan(1e-8);
        expect(asym, isa).toBe(0);
      }
    } finally {
      ad.setIsa(before);
    }
  });

  it('reports an indefinite matrix as a value, not NaN', () => {
    const a = Float64Array.from([1, 2, 2, 1]); // eigenvalues 3 and −1
    const r = nativeCholesky(a, 2);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.notPositiveDefinite).toBe(true);
    const s = nativeSpdInverse(a, 2, 0.5); // still indefinite: −1 + 0.5 < 0
    expect(s.ok).toBe(false);
    expect(nativeSpdInverse(a, 2, 1.5).ok).toBe(true); // −1 + 1.5 > 0
  });

  for (const n of [1, 2, 7, 70, 129]) {
    it(`symmetric eigen: A V = V Λ, Vᵀ V = I, ascending, n = ${n}`, () => {
      // An indefinite symmetric matrix: gram − 0.3 I has eigenvalues of both signs.
      const a = Float64Array.from(gram(n, 100 + n), (v, idx) => (idx % (n + 1) === 0 ? v - 0.3 : v));
      const r = nativeSymmetricEigen(a, n);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const av = matmul(a, r.vectors, n);
      let resid = 0, orth = 0, scale = 0;
      for (const v of a) scale = Math.max(scale, Math.abs(v));
      const vt = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) vt[i * n + j] = r.vectors[j * n + i]!;
      const g = matmul(vt, r.vectors, n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          resid = Math.max(resid, Math.abs(av[i * n + j]! - r.vectors[i * n + j]! * r.values[j]!));
          orth = Math.max(orth, Math.abs(g[i * n + j]! - (i === j ? 1 : 0)));
        }
      expect(resid / scale).toBeLessThan(1e-12);
      expect(orth).toBeLessThan(1e-12);
      for (let i = 1; i < n; i++) expect(r.values[i]!).toBeGreaterThanOrEqual(r.values[i - 1]!);
      // trace is preserved: Σλ = Σ A_ii
      let tr = 0, sl = 0;
      for (let i = 0; i < n; i++) { tr += a[i * (n + 1)]!; sl += r.values[i]!; }
      expect(Math.abs(tr - sl)).toBeLessThan(1e-10 * Math.max(1, Math.abs(tr)));
    });
  }

  it('symmetric eigen of a diagonal matrix returns its sorted diagonal (closed form)', () => {
    const r = nativeSymmetricEigen(Float64Array.from([3, 0, 0, 0, -1, 0, 0, 0, 2]), 3);
    expect(r.ok && Array.from(r.values)).toEqual([-1, 2, 3]);
  });

  it('rejects a wrongly sized matrix with a message', () => {
    const r = nativeCholesky(new Float64Array(5), 2);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/expected n² = 4/);
  });
});
