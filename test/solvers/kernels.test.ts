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
  spdInverseMany,
  tryKroneckerFactoredInverse,
  tryKroneckerFactoredInverses,
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

describe('spdInverseMany equals spdInverse item by item', () => {
  const rank1 = (() => {
    const u = [1, 2, 3];
    return Float64Array.from({ length: 9 }, (_, k) => u[Math.floor(k / 3)]! * u[k % 3]!);
  })();
  const asym = (() => {
    const A = randomSpd(5, 71, 0.1);
    A[1] = A[1]! + 1;
    return A;
  })();
  const nan = (() => {
    const A = randomSpd(4, 72, 0.1);
    A[6] = NaN;
    return A;
  })();
  // sizes off the tile edge (16) and the native 48-row blocks; every kind of error and fallback
  const items = [
    { A: randomSpd(37, 73, 0.05), n: 37, damping: 0.2 },
    { A: asym, n: 5, damping: 0.1 }, // NotSymmetric (from the JS path)
    { A: randomSpd(1, 74, 0.05), n: 1 }, // default damping 0
    { A: nan, n: 4, damping: 0.1 }, // NonFinite
    { A: Float64Array.from([1, 0, 0, -1]), n: 2, damping: 0.5 }, // NotPositiveDefinite after the jitter retries
    { A: rank1, n: 3 }, // PSD: a kernel declines, the JS path adds jitter and warns
    { A: randomSpd(3, 75, 0.05), n: 3, damping: -1 }, // InvalidInput (damping)
    { A: new Float64Array(5), n: 2, damping: 0 }, // InvalidInput (shape)
    { A: randomSpd(70, 76, 0.05), n: 70, damping: 0.01 },
    { A: randomSpd(17, 77, 0.05), n: 17, damping: 0.3 },
  ];
  const oneByOne = () => items.map(({ A, n, damping }) => spdInverse(A, n, damping === undefined ? {} : { damping }));

  it('with no kernels registered: the same Either per item (values, errors, jitter, warnings)', () => {
    const expected = withDenseKernels(null, oneByOne);
    const got = withDenseKernels(null, () => spdInverseMany(items));
    expect(got).toEqual(expected);
    expect(expected.map((r) => (E.isLeft(r) ? r.left._tag : 'ok'))).toEqual([
      'ok', 'NotSymmetric', 'ok', 'NonFinite', 'NotPositiveDefinite', 'ok', 'InvalidInput', 'InvalidInput', 'ok', 'ok',
    ]);
    expect(E.isRight(got[5]!) && got[5].right.jitter).toBeGreaterThan(0);
    expect(spdInverseMany([])).toEqual([]);
  });

  it('a kernel set without spdInverseMany is asked spdInverse once per valid symmetric item', () => {
    const expected = withDenseKernels(null, oneByOne);
    const { k, calls } = declining();
    expect(withDenseKernels(k, () => spdInverseMany(items))).toEqual(expected);
    expect(calls.spdInverse).toBe(6); // not the asymmetric, non-finite or invalid ones
  });

  it('spdInverseMany kernels get the valid symmetric items in ONE call; declined items take the JS path', () => {
    const expected = withDenseKernels(null, oneByOne);
    const seen: { n: number; damping: number }[][] = [];
    // answers every other request with the JS result, declines the rest
    const k: DenseKernels = {
      name: 'batch',
      spdInverseMany: (reqs) => {
        seen.push(reqs.map(({ n, damping }) => ({ n, damping })));
        return reqs.map(({ A, n, damping }, j) => {
          if (j % 2 === 1) return undefined;
          const r = withDenseKernels(null, () => spdInverseJs(A, n, { damping }));
          return E.isRight(r) && r.right.jitter === 0 ? r.right.inverse : undefined; // a kernel answers the PD case only
        });
      },
    };
    const got = withDenseKernels(k, () => spdInverseMany(items));
    expect(seen).toEqual([[37, 1, 2, 3, 70, 17].map((n, j) => ({ n, damping: [0.2, 0, 0.5, 0, 0.01, 0.3][j]! }))]);
    expect(got).toEqual(expected);
  });

  it.skipIf(native === undefined)('with the native kernels: spdInverse and spdInverseMany agree item by item', () => {
    setDenseKernels(native!);
    const expected = oneByOne();
    const got = spdInverseMany(items);
    const js = withDenseKernels(null, oneByOne);
    got.forEach((r, i) => {
      const e = expected[i]!;
      expect(r._tag, `item ${i}`).toBe(e._tag);
      if (E.isLeft(r) || E.isLeft(e)) {
        expect(r).toEqual(e);
        return;
      }
      // the native batch runs each matrix serially with the same blocked arithmetic: same numbers
      expect(Array.from(r.right.inverse)).toEqual(Array.from(e.right.inverse));
      expect(r.right.jitter).toBe(e.right.jitter);
      expect(r.right.warnings).toEqual(e.right.warnings);
      const j = js[i]!;
      if (E.isRight(j)) expect(relErr(r.right.inverse, j.right.inverse)).toBeLessThan(1e-10);
    });
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

  it('tryKroneckerFactoredInverses: one spdInverseMany for every block, the same results and messages as block by block, no leaks', () => {
    const indef = Float64Array.from([1, 0, 0, -0.5]);
    const blocks = [
      { A, nA, G, nG },
      { A: indef, nA: 2, G: Float64Array.from([1]), nG: 1 }, // A + π√λI indefinite
      { A: randomSpd(3, 44, 0.05), nA: 3, G: randomSpd(5, 45, 0.05), nG: 5 },
      { A, nA, G: new Float64Array(nG * nG), nG }, // zero trace: π undefined
      { A, nA: nA + 1, G, nG }, // wrong size
      { A: Float64Array.of(1), nA: 1, G, nG }, // a bias block
    ];
    for (const kernels of [null, native ?? null]) {
      withDenseKernels(kernels, () => {
        const before = tf.memory().numTensors;
        const one = blocks.map((b) => tryKroneckerFactoredInverse(b.A, b.nA, b.G, b.nG, lambda));
        const many = tryKroneckerFactoredInverses(blocks, lambda);
        expect(many.map((r) => (E.isLeft(r) ? r.left : 'ok'))).toEqual(one.map((r) => (E.isLeft(r) ? r.left : 'ok')));
        expect(many.map((r) => (E.isLeft(r) ? r.left._tag : 'ok'))).toEqual(['ok', 'NotPositiveDefinite', 'ok', 'Singular', 'InvalidInput', 'ok']);
        many.forEach((r, i) => {
          const o = one[i]!;
          if (E.isLeft(r) || E.isLeft(o)) return;
          expect(r.right.pi).toBe(o.right.pi);
          expect(Array.from(r.right.left.dataSync())).toEqual(Array.from(o.right.left.dataSync()));
          expect(Array.from(r.right.right.dataSync())).toEqual(Array.from(o.right.right.dataSync()));
        });
        [...one, ...many].forEach((r) => E.isRight(r) && r.right.dispose());
        expect(tf.memory().numTensors).toBe(before);
      });
    }
    // one kernel request for all the valid blocks' 2 × 3 damped factors (the indefinite one included)
    const seen: number[][] = [];
    withDenseKernels({ name: 'count', spdInverseMany: (reqs) => (seen.push(reqs.map((q) => q.n)), reqs.map(() => undefined)) }, () =>
      tryKroneckerFactoredInverses(blocks, lambda).forEach((r) => E.isRight(r) && r.right.dispose()),
    );
    expect(seen).toEqual([[nA, nG, 2, 1, 3, 5, 1, nG]]);
  });
});
