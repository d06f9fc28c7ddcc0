import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { float64Ops, lbfgsTwoLoop, lbfgsTwoLoopReport, tensorListOps, woodburySolve } from '../../src/solvers/index.js';
import { gaussSolve, lcg, matMul, mv, randomSpd, randomVec, relErr, transpose } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const denseLowRank = (U: Float64Array, P: number, k: number, d: Float64Array, lambda: number): Float64Array => {
  const M = matMul(U, transpose(U, P, k), P, k, P);
  for (let i = 0; i < P; i++) M[i * P + i] = M[i * P + i]! + d[i]! + lambda;
  return M;
};

describe('woodburySolve', () => {
  it('equals a dense solve of diag(d) + U Uᵀ + λI', () => {
    const P = 20;
    for (const k of [0, 1, 4]) {
      const r = lcg(40 + k);
      const U = Float64Array.from({ length: P * k }, r);
      const d = Float64Array.from({ length: P }, () => 0.1 + Math.abs(r()));
      const v = randomVec(P, 41);
      const x = woodburySolve(U, k, d, v, 1e-3);
      expect(E.isRight(x)).toBe(true);
      if (E.isRight(x)) expect(relErr(x.right, gaussSolve(denseLowRank(U, P, k, d, 1e-3), P, v))).toBeLessThan(1e-11);
    }
  });

  it('property: agrees with the dense solve for random shapes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 1e6 }), (P, k, seed) => {
        const r = lcg(seed);
        const U = Float64Array.from({ length: P * k }, r);
        const d = Float64Array.from({ length: P }, () => 0.05 + Math.abs(r()));
        const v = Float64Array.from({ length: P }, r);
        const x = woodburySolve(U, k, d, v, 0.01);
        return E.isRight(x) && relErr(x.right, gaussSolve(denseLowRank(U, P, k, d, 0.01), P, v)) < 1e-9;
      }),
      { numRuns: 100 },
    );
  });

  it('a non-positive damped diagonal or bad shapes are Lefts', () => {
    const bad = woodburySolve(new Float64Array(2), 1, Float64Array.from([1, -1]), Float64Array.from([1, 1]), 0.5);
    expect(E.isLeft(bad) && bad.left._tag).toBe('NotPositiveDefinite');
    expect(E.isLeft(bad) && bad.left.message).toMatch(/entry 1/);
    const shape = woodburySolve(new Float64Array(3), 2, Float64Array.from([1, 1]), Float64Array.from([1, 1]), 0);
    expect(E.isLeft(shape) && shape.left._tag).toBe('InvalidInput');
    const nan = woodburySolve(Float64Array.from([NaN, 0]), 1, Float64Array.from([1, 1]), Float64Array.from([1, 1]), 0);
    expect(E.isLeft(nan) && nan.left._tag).toBe('NonFinite');
  });
});

/** The dense BFGS inverse from H₀ = γI: H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ for each pair, oldest first. */
const denseBfgsInverse = (pairs: { s: Float64Array; y: Float64Array }[], n: number, gamma: number): Float64Array => {
  let H: Float64Array = new Float64Array(n * n).map((_, k) => (Math.floor(k / n) === k % n ? gamma : 0));
  for (const { s, y } of pairs) {
    const rho = 1 / s.reduce((acc, si, i) => acc + si * y[i]!, 0);
    const L = new Float64Array(n * n).map((_, k) => (Math.floor(k / n) === k % n ? 1 : 0) - rho * s[Math.floor(k / n)]! * y[k % n]!);
    H = matMul(matMul(L, H, n, n, n), transpose(L, n, n), n, n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) H[i * n + j] = H[i * n + j]! + rho * s[i]! * s[j]!;
  }
  return H;
};

describe('lbfgsTwoLoop', () => {
  const n = 8;
  const A = randomSpd(n, 50, 0.1);
  const pairs = [51, 52, 53, 54].map((seed) => {
    const s = randomVec(n, seed);
    return { s, y: mv(A, n, s) }; // secant pairs of the quadratic ½xᵀAx: sᵀy > 0
  });
  const g = randomVec(n, 55);

  it('equals the dense BFGS inverse built from the same pairs (default γ and given γ)', () => {
    const last = pairs[pairs.length - 1]!;
    const sy = float64Ops.dot(last.s, last.y);
    const gammaDefault = sy / float64Ops.dot(last.y, last.y);
    const r = lbfgsTwoLoopReport(float64Ops, pairs, g);
    expect(r.gamma).toBeCloseTo(gammaDefault, 14);
    expect(r.skipped).toEqual([]);
    expect(relErr(r.direction, mv(denseBfgsInverse(pairs, n, gammaDefault), n, g))).toBeLessThan(1e-10);
    const given = lbfgsTwoLoop(float64Ops, pairs, g, { gamma: 0.7 });
    expect(relErr(given, mv(denseBfgsInverse(pairs, n, 0.7), n, g))).toBeLessThan(1e-10);
  });

  it('with n A-conjugate secant pairs of a quadratic it is exactly A⁻¹ g', () => {
    // Gram–Schmidt in the A inner product: sᵢᵀ A sⱼ = 0 (i ≠ j), as exact line searches produce
    const ss: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      let s: Float64Array = new Float64Array(n);
      s[i] = 1;
      for (const q of ss) {
        const c = float64Ops.dot(s, mv(A, n, q)) / float64Ops.dot(q, mv(A, n, q));
        s = float64Ops.axpy(-c, q, s);
      }
      ss.push(s);
    }
    const full = ss.map((s) => ({ s, y: mv(A, n, s) }));
    const x = lbfgsTwoLoop(float64Ops, full, g, { gamma: 1 });
    expect(relErr(x, mv(denseBfgsInverse(full, n, 1), n, g))).toBeLessThan(1e-9);
    expect(relErr(mv(A, n, x), g)).toBeLessThan(1e-9);
  });

  it('skips pairs with sᵀy ≤ 0 and says so', () => {
    const badPair = { s: Float64Array.from({ length: n }, (_, i) => (i === 0 ? 1 : 0)), y: Float64Array.from({ length: n }, (_, i) => (i === 0 ? -1 : 0)) };
    const mixed = [pairs[0]!, badPair, pairs[1]!];
    const r = lbfgsTwoLoopReport(float64Ops, mixed, g);
    expect(r.skipped).toEqual([1]);
    expect(r.warnings.join(' ')).toMatch(/skipped 1 pair.*sᵀy ≤ 0/);
    const ref = lbfgsTwoLoopReport(float64Ops, [pairs[0]!, pairs[1]!], g);
    expect(relErr(r.direction, ref.direction)).toBe(0);
    // no pairs: γ = 1, H = I
    expect(Array.from(lbfgsTwoLoop(float64Ops, [], g))).toEqual(Array.from(g));
  });

  it('runs on tensor lists without leaking', () => {
    const toList = (v: Float64Array): tf.Tensor[] => [tf.tensor2d(Float32Array.from(v.subarray(0, 6)), [2, 3]), tf.tensor1d(Float32Array.from(v.subarray(6)))];
    const tp = pairs.map(({ s, y }) => ({ s: toList(s), y: toList(y) }));
    const tg = toList(g);
    const before = tf.memory().numTensors;
    const out = lbfgsTwoLoop(tensorListOps, tp, tg);
    expect(tf.memory().numTensors).toBe(before + 2);
    const flat = Float64Array.from([...out[0]!.dataSync(), ...out[1]!.dataSync()]);
    expect(relErr(flat, lbfgsTwoLoop(float64Ops, pairs, g))).toBeLessThan(1e-4);
    tf.dispose([...out, ...tg, ...tp.flatMap((p) => [...p.s, ...p.y])]);
  });
});
