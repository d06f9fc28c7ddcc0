import { describe, it, expect } from 'vitest';
import { nativeCholesky, nativeSpdInverse, nativeSpdInverseMany, nativeLinalgAvailable, nativeSymmetricEigen } from '../../src/backend/linalg.js';
import { loadNative } from '../../src/backend/native.js';
import { lcgData64 as data } from './helpers.js';

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

  it('spdInverseMany: each result equals spdInverse of that matrix and a Gauss-Jordan inverse; a non-SPD item fails alone', () => {
    // Gauss-Jordan with partial pivoting on [A + λI | I]: the independent dense reference.
    const gaussJordan = (a: Float64Array, n: number, lambda: number): Float64Array => {
      const m = n * 2;
      const w = new Float64Array(n * m);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) w[i * m + j] = a[i * n + j]! + (i === j ? lambda : 0);
        w[i * m + n + i] = 1;
      }
      for (let c = 0; c < n; c++) {
        let p = c;
        for (let r = c + 1; r < n; r++) if (Math.abs(w[r * m + c]!) > Math.abs(w[p * m + c]!)) p = r;
        for (let j = 0; j < m; j++) [w[c * m + j], w[p * m + j]] = [w[p * m + j]!, w[c * m + j]!];
        const d = w[c * m + c]!;
        for (let j = 0; j < m; j++) w[c * m + j] = w[c * m + j]! / d;
        for (let r = 0; r < n; r++) {
          if (r === c) continue;
          const f = w[r * m + c]!;
          if (f !== 0) for (let j = 0; j < m; j++) w[r * m + j] = w[r * m + j]! - f * w[c * m + j]!;
        }
      }
      const inv = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) inv[i * n + j] = w[i * m + n + j]!;
      return inv;
    };
    const indefinite = Float64Array.from([1, 2, 2, 1]); // eigenvalues 3 and −1; damping 0.5 leaves it indefinite
    // more matrices than pool threads, sizes off the 48-row blocks, one straddling several blocks
    const items = [
      { A: gram(47, 1), n: 47, damping: 1e-2 },
      { A: gram(1, 2), n: 1, damping: 0.3 },
      { A: indefinite, n: 2, damping: 0.5 },
      { A: gram(130, 3), n: 130, damping: 1e-3 },
      { A: gram(2, 4), n: 2, damping: 0.1 },
      { A: gram(49, 5), n: 49, damping: 0 },
      { A: new Float64Array(5), n: 2, damping: 0 }, // wrongly sized: answered without the addon
    ];
    const rs = nativeSpdInverseMany(items);
    expect(rs.length).toBe(items.length);
    items.forEach(({ A, n, damping }, i) => {
      const r = rs[i]!;
      if (i === 2) {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.notPositiveDefinite).toBe(true);
        return;
      }
      if (i === 6) {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.reason).toMatch(/expected n² = 4/);
        return;
      }
      expect(r.ok, `item ${i}`).toBe(true);
      if (!r.ok) return;
      // the same blocked arithmetic, serial instead of parallel: the same numbers
      const one = nativeSpdInverse(A, n, damping);
      expect(one.ok).toBe(true);
      if (one.ok) expect(Array.from(r.value)).toEqual(Array.from(one.value));
      const ref = gaussJordan(A, n, damping);
      let err = 0, scale = 0, asym = 0;
      for (let k = 0; k < n * n; k++) {
        err = Math.max(err, Math.abs(r.value[k]! - ref[k]!));
        scale = Math.max(scale, Math.abs(ref[k]!));
      }
      for (let p = 0; p < n; p++) for (let q = 0; q < p; q++) asym = Math.max(asym, Math.abs(r.value[p * n + q]! - r.value[q * n + p]!));
      expect(err / scale, `item ${i} (n = ${n})`).toBeLessThan(1e-8);
      expect(asym).toBe(0); // both triangles written, exactly symmetric
    });
    expect(nativeSpdInverseMany([])).toEqual([]);
  });

  it('spdInverseMany (addon): one matrix takes the parallel path; mismatched argument arrays throw', () => {
    const loaded = loadNative();
    if (!loaded.ok) throw new Error(loaded.reason);
    const ad = loaded.addon;
    const n = 97, a = gram(n, 9), out = new Float64Array(n * n);
    expect(ad.spdInverseMany([a], [n], [1e-2], [out])).toEqual([true]);
    const one = nativeSpdInverse(a, n, 1e-2);
    expect(one.ok && Array.from(one.value)).toEqual(Array.from(out));
    expect(() => ad.spdInverseMany([a, a], [n], [0, 0], [out, out])).toThrow(/differ in length/);
    expect(() => ad.spdInverseMany([a], [n], [0], [new Float64Array(4)])).toThrow(/shorter than n\*n/);
  });

  it('rejects a wrongly sized matrix with a message', () => {
    const r = nativeCholesky(new Float64Array(5), 2);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/expected n² = 4/);
  });
});
