import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import {
  JS_KERNELS,
  cholesky,
  denseKernels,
  kroneckerFactoredInverse,
  kroneckerFactoredSolve,
  kroneckerFactorsEigen,
  kroneckerSolve,
  setDenseKernels,
  solveDense,
  spdInverse,
  spdInverseJs,
  symmetricEigen,
  withDenseKernels,
  type DenseKernels,
} from '../../src/solvers/index.js';
import { nativeDenseKernels } from '../../src/backend/linalg.js';
import { addDiag, gaussSolve, kron, matMul, randomSpd, randomVec, relErr, transpose } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterEach(() => setDenseKernels(null));

const right = <T>(r: E.Either<{ message: string }, T>): T => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

const identityError = (A: Float64Array, X: Float64Array, n: number): number => {
  const P = matMul(A, X, n, n, n);
  let err = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) err = Math.max(err, Math.abs(P[i * n + j]! - (i === j ? 1 : 0)));
  return err;
};

/** A kernel set that records calls and declines every request (so the JS path must answer). */
const declining = () => {
  const calls = { cholesky: 0, spdInverse: 0, symmetricEigen: 0 };
  const k: DenseKernels = {
    name: 'declining',
    cholesky: () => void calls.cholesky++,
    spdInverse: () => void calls.spdInverse++,
    symmetricEigen: () => void calls.symmetricEigen++,
  };
  return { k, calls };
};

describe('dense kernel registry', () => {
  it('defaults to JS; set / withDenseKernels / null restore', () => {
    expect(denseKernels()).toBe(JS_KERNELS);
    const { k } = declining();
    setDenseKernels(k);
    expect(denseKernels()).toBe(k);
    expect(withDenseKernels(null, () => denseKernels())).toBe(JS_KERNELS);
    expect(denseKernels()).toBe(k);
    setDenseKernels(null);
    expect(denseKernels()).toBe(JS_KERNELS);
  });

  it('a kernel that declines falls back to JS with identical results (and is asked)', () => {
    const n = 9;
    const A = randomSpd(n, 5, 0.1);
    const b = randomVec(n, 6);
    const js = {
      L: right(cholesky(A, n)).L,
      inv: right(spdInverse(A, n, { damping: 0.3 })).inverse,
      eig: right(symmetricEigen(A, n)),
      x: right(solveDense(A, n, b, 0.2, 'eigen')).x,
    };
    const { k, calls } = declining();
    setDenseKernels(k);
    expect(Array.from(right(cholesky(A, n)).L)).toEqual(Array.from(js.L));
    expect(Array.from(right(spdInverse(A, n, { damping: 0.3 })).inverse)).toEqual(Array.from(js.inv));
    const e = right(symmetricEigen(A, n));
    expect(Array.from(e.values)).toEqual(Array.from(js.eig.values));
    expect(Array.from(e.vectors)).toEqual(Array.from(js.eig.vectors));
    expect(Array.from(right(solveDense(A, n, b, 0.2, 'eigen')).x)).toEqual(Array.from(js.x));
    expect(calls.cholesky).toBeGreaterThanOrEqual(2); // cholesky, and spdInverse's JS path
    expect(calls.spdInverse).toBe(1);
    expect(calls.symmetricEigen).toBe(2);
  });

  it('a registered kernel answers (its result is returned) and JS validation still applies first', () => {
    const n = 4;
    const A = randomSpd(n, 7, 0.1);
    const marker = new Float64Array(n * n).fill(7);
    let asked = 0;
    setDenseKernels({ name: 'marker', spdInverse: () => (asked++, Float64Array.from(marker)) });
    expect(Array.from(right(spdInverse(A, n)).inverse)).toEqual(Array.from(marker));
    expect(asked).toBe(1);
    // invalid input never reaches the kernel: an asymmetric or non-finite matrix is reported by the solvers
    const asym = Float64Array.from(A);
    asym[1] = asym[1]! + 1;
    const r = spdInverse(asym, n);
    expect(E.isLeft(r) && r.left._tag).toBe('NotSymmetric');
    const nan = Float64Array.from(A);
    nan[5] = NaN;
    const r2 = spdInverse(nan, n);
    expect(E.isLeft(r2) && r2.left._tag).toBe('NonFinite');
    expect(asked).toBe(1);
  });
});

const native = nativeDenseKernels();

describe.skipIf(native === undefined)('native dense kernels agree with the JS ones', () => {
  // sizes off the native code's 32-row blocks and vector widths
  for (const n of [1, 7, 37, 70]) {
    it(`cholesky, spdInverse, symmetricEigen, solveDense at n = ${n}`, () => {
      const A = randomSpd(n, 100 + n, 0.05);
      const b = randomVec(n, 200 + n);
      const js = withDenseKernels(null, () => ({
        L: right(cholesky(A, n)).L,
        inv: right(spdInverseJs(A, n, { damping: 0.25 })).inverse,
        eig: right(symmetricEigen(A, n)),
        xc: right(solveDense(A, n, b, 0.1, 'cholesky')).x,
        xe: right(solveDense(A, n, b, 0.1, 'eigen')).x,
      }));
      setDenseKernels(native!);
      const L = right(cholesky(A, n)).L;
      const inv = right(spdInverse(A, n, { damping: 0.25 })).inverse;
      const eig = right(symmetricEigen(A, n));
      expect(relErr(L, js.L)).toBeLessThan(1e-12);
      expect(relErr(inv, js.inv)).toBeLessThan(1e-11);
      expect(identityError(addDiag(A, n, 0.25), inv, n)).toBeLessThan(1e-10);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(inv[i * n + j]).toBe(inv[j * n + i]);
      expect(relErr(eig.values, js.eig.values)).toBeLessThan(1e-12);
      // eigenvectors up to sign (the spectrum of a random SPD matrix is simple): |v·v'| = 1
      for (let j = 0; j < n; j++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += eig.vectors[i * n + j]! * js.eig.vectors[i * n + j]!;
        expect(Math.abs(Math.abs(d) - 1)).toBeLessThan(1e-9);
      }
      // V diag(s) Vᵀ = A
      const V = eig.vectors;
      const VS = Float64Array.from(V, (v, idx) => v * eig.values[idx % n]!);
      expect(relErr(matMul(VS, transpose(V, n, n), n, n, n), A)).toBeLessThan(1e-12);
      expect(relErr(right(solveDense(A, n, b, 0.1, 'cholesky')).x, js.xc)).toBeLessThan(1e-10);
      expect(relErr(right(solveDense(A, n, b, 0.1, 'eigen')).x, js.xe)).toBeLessThan(1e-10);
    });
  }

  it('a matrix the native Cholesky rejects goes through the JS jitter retries (reported)', () => {
    // PSD of rank 1: not numerically PD; the JS path factors it with jitter and says so.
    const n = 3;
    const u = [1, 2, 3];
    const A = Float64Array.from({ length: n * n }, (_, k) => u[Math.floor(k / n)]! * u[k % n]!);
    setDenseKernels(native!);
    const r = right(cholesky(A, n));
    expect(r.jitter).toBeGreaterThan(0);
    expect(r.warnings.join(' ')).toMatch(/jitter/);
    const bad = spdInverse(Float64Array.from([1, 0, 0, -1]), 2);
    expect(E.isLeft(bad) && bad.left._tag).toBe('NotPositiveDefinite');
  });
});

describe('factored Kronecker damping without eigendecomposition', () => {
  const nA = 6;
  const nG = 4;
  const A = randomSpd(nA, 41, 0.05);
  const G = randomSpd(nG, 42, 0.05);
  const V = randomVec(nA * nG, 43);
  const lambda = 0.07;
  const tr = (M: Float64Array, n: number) => Array.from({ length: n }, (_, i) => M[i * n + i]!).reduce((x, y) => x + y, 0);

  it('(A + π√λI)⁻¹ V (G + √λ/π I)⁻¹ equals the dense solve with kron(A + π√λI, G + √λ/π I), and asks for no eigendecomposition', () => {
    const { k, calls } = declining();
    setDenseKernels(k);
    const before = tf.memory().numTensors;
    const inv = kroneckerFactoredInverse(A, nA, G, nG, lambda);
    const pi = Math.sqrt(tr(A, nA) / nA / (tr(G, nG) / nG));
    expect(inv.pi).toBeCloseTo(pi, 12);
    const Vt = tf.tensor2d(Float32Array.from(V), [nA, nG]);
    const x = kroneckerFactoredSolve(inv, Vt);
    const host = Float64Array.from(x.dataSync());
    tf.dispose([x, Vt]);
    inv.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(calls.symmetricEigen).toBe(0);
    expect(calls.spdInverse).toBe(2);
    const K = kron(addDiag(A, nA, pi * Math.sqrt(lambda)), nA, addDiag(G, nG, Math.sqrt(lambda) / pi), nG);
    expect(relErr(host, gaussSolve(K, nA * nG, V))).toBeLessThan(1e-4); // float32 products
    // and equals the eigenbasis route of kroneckerSolve(…, 'factored')
    const eig = kroneckerFactorsEigen(A, nA, G, nG);
    const Vt2 = tf.tensor2d(Float32Array.from(V), [nA, nG]);
    const y = kroneckerSolve(eig, Vt2, lambda, 'factored');
    expect(relErr(host, Float64Array.from(y.dataSync()))).toBeLessThan(1e-4);
    tf.dispose([y, Vt2]);
    eig.dispose();
  });

  it('errors are SolverExceptions: zero trace, indefinite damped factor, wrong V shape', () => {
    expect(() => kroneckerFactoredInverse(A, nA, new Float64Array(nG * nG), nG, lambda)).toThrow(/positive factor traces/);
    const indef = Float64Array.from([1, 0, 0, -0.5]);
    expect(() => kroneckerFactoredInverse(indef, 2, Float64Array.from([1]), 1, 0.01)).toThrow(/not positive definite/);
    const inv = kroneckerFactoredInverse(A, nA, G, nG, lambda);
    const wrong = tf.zeros([nG, nA]) as tf.Tensor2D;
    expect(() => kroneckerFactoredSolve(inv, wrong)).toThrow(/shape \[6, 4\]/);
    wrong.dispose();
    inv.dispose();
  });
});
