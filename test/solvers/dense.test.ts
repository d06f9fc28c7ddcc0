import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { cholesky, choleskySolve, powerOfEigenvalues, solveDense, symmetricEigen, symmetricPower, symmetricPowerWithReport } from '../../src/solvers/index.js';
import { addDiag, arbSpd, arbVec, gaussSolve, matMul, maxAbs, mv, randomSpd, randomVec, relErr, transpose } from './helpers.js';

const right = <A>(r: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(`expected Right, got Left: ${r.left.message}`);
  return r.right;
};

describe('cholesky', () => {
  it('L Lᵀ reconstructs an SPD matrix and L is lower triangular', () => {
    const n = 12;
    const A = randomSpd(n, 1);
    const { L, jitter, warnings } = right(cholesky(A, n));
    expect(jitter).toBe(0);
    expect(warnings).toEqual([]);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(L[i * n + j]).toBe(0);
    expect(relErr(matMul(L, transpose(L, n, n), n, n, n), A)).toBeLessThan(1e-13);
  });

  it('choleskySolve equals Gaussian elimination', () => {
    const n = 20;
    const A = randomSpd(n, 2);
    const b = randomVec(n, 3);
    const { L } = right(cholesky(A, n));
    expect(relErr(choleskySolve(L, n, b), gaussSolve(A, n, b))).toBeLessThan(1e-10);
  });

  it('a singular PSD matrix is factored with reported jitter', () => {
    // rank-1 PSD: v vᵀ, fails without jitter
    const n = 4;
    const v = [1, 2, 3, 4];
    const A = new Float64Array(n * n).map((_, k) => v[Math.floor(k / n)]! * v[k % n]!);
    const r = right(cholesky(A, n));
    expect(r.jitter).toBeGreaterThan(0);
    expect(r.warnings.join(' ')).toMatch(/jitter/);
    expect(relErr(matMul(r.L, transpose(r.L, n, n), n, n, n), addDiag(A, n, r.jitter))).toBeLessThan(1e-10);
  });

  it('an indefinite matrix is a Left with a message, never NaN', () => {
    const A = Float64Array.from([1, 2, 2, 1]); // eigenvalues 3, −1
    const r = cholesky(A, 2);
    expect(E.isLeft(r)).toBe(true);
    if (E.isLeft(r)) {
      expect(r.left._tag).toBe('NotPositiveDefinite');
      expect(r.left.message).toMatch(/not positive definite/);
    }
  });

  it('non-finite, non-square and non-symmetric inputs are Lefts naming the problem', () => {
    const nan = cholesky(Float64Array.from([1, NaN, NaN, 1]), 2);
    expect(E.isLeft(nan) && nan.left._tag).toBe('NonFinite');
    const shape = cholesky(Float64Array.from([1, 0, 0]), 2);
    expect(E.isLeft(shape) && shape.left._tag).toBe('InvalidInput');
    const asym = cholesky(Float64Array.from([2, 1, 0, 2]), 2);
    expect(E.isLeft(asym) && asym.left._tag).toBe('NotSymmetric');
  });

  it('property: cholesky solve equals a dense solve on B Bᵀ + εI', () => {
    fc.assert(
      fc.property(
        arbSpd(8).chain(({ n, A }) => arbVec(n).map((b) => ({ n, A, b }))),
        ({ n, A, b }) => {
          const x = right(solveDense(A, n, b, 0, 'cholesky')).x;
          const ref = gaussSolve(A, n, b);
          return relErr(x, ref) < 1e-9;
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('symmetricEigen', () => {
  const check = (A: Float64Array, n: number, tol: number) => {
    const { values, vectors } = right(symmetricEigen(A, n));
    for (let j = 1; j < n; j++) expect(values[j]!).toBeGreaterThanOrEqual(values[j - 1]!);
    // orthonormal: Vᵀ V = I
    const VtV = matMul(transpose(vectors, n, n), vectors, n, n, n);
    const I = new Float64Array(n * n).map((_, k) => (Math.floor(k / n) === k % n ? 1 : 0));
    expect(relErr(VtV, I)).toBeLessThanOrEqual(tol);
    // reconstructs: V diag(s) Vᵀ = A
    const VS = vectors.map((v, k) => v * values[k % n]!);
    expect(relErr(matMul(VS, transpose(vectors, n, n), n, n, n), A)).toBeLessThanOrEqual(tol);
    // A v_j = s_j v_j
    return { values, vectors };
  };

  it('reconstructs A and is orthonormal (SPD, indefinite, repeated eigenvalues, 1×1)', () => {
    check(randomSpd(30, 5), 30, 1e-12);
    const r = randomSpd(15, 6);
    const indef = addDiag(r, 15, -0.5 * maxAbs(r));
    check(indef, 15, 1e-12);
    const I = addDiag(new Float64Array(36), 6, 2);
    const { values } = check(I, 6, 1e-14);
    expect(Array.from(values)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(Array.from(check(Float64Array.from([-3]), 1, 0).values)).toEqual([-3]);
  });

  it('matches the closed form of a 2×2 matrix', () => {
    const { values } = right(symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2));
    expect(values[0]).toBeCloseTo(1, 14);
    expect(values[1]).toBeCloseTo(3, 14);
  });

  it('property: reconstruction and orthonormality on B Bᵀ + εI', () => {
    fc.assert(
      fc.property(arbSpd(9), ({ n, A }) => {
        const { values, vectors } = right(symmetricEigen(A, n));
        const VS = vectors.map((v, k) => v * values[k % n]!);
        const rec = matMul(VS, transpose(vectors, n, n), n, n, n);
        const VtV = matMul(transpose(vectors, n, n), vectors, n, n, n);
        const I = new Float64Array(n * n).map((_, k) => (Math.floor(k / n) === k % n ? 1 : 0));
        return relErr(rec, A) < 1e-12 && relErr(VtV, I) < 1e-12 && values[0]! > 0;
      }),
      { numRuns: 100 },
    );
  });

  it('a non-finite matrix is a Left', () => {
    const r = symmetricEigen(Float64Array.from([1, 0, 0, Infinity]), 2);
    expect(E.isLeft(r) && r.left._tag).toBe('NonFinite');
  });
});

describe('symmetricPower', () => {
  it('p = −1 is the inverse and p = 1/2 squares back to A + λI', () => {
    const n = 10;
    const A = randomSpd(n, 7);
    const lambda = 0.3;
    const Ad = addDiag(A, n, lambda);
    const inv = right(symmetricPower(A, n, -1, lambda));
    const I = new Float64Array(n * n).map((_, k) => (Math.floor(k / n) === k % n ? 1 : 0));
    expect(relErr(matMul(inv, Ad, n, n, n), I)).toBeLessThan(1e-12);
    const half = right(symmetricPower(A, n, 0.5, lambda));
    expect(relErr(matMul(half, half, n, n, n), Ad)).toBeLessThan(1e-12);
    const two = right(symmetricPower(A, n, 2, 0));
    expect(relErr(two, matMul(A, A, n, n, n))).toBeLessThan(1e-12);
  });

  it('property: (A^a)^b = A^(ab)', () => {
    fc.assert(
      fc.property(
        arbSpd(7, 0.5),
        fc.constantFrom(-1, -0.5, -0.25, 0.5, 2, 3),
        fc.constantFrom(-2, -1, 0.5, 1.5, 2),
        ({ n, A }, a, b) => {
          const Aa = right(symmetricPower(A, n, a));
          const lhs = right(symmetricPower(Aa, n, b));
          const rhs = right(symmetricPower(A, n, a * b));
          return relErr(lhs, rhs) < 1e-9;
        },
      ),
      { numRuns: 60 },
    );
  });

  it('clamps rounding-level negative eigenvalues with a warning', () => {
    // rank-deficient PSD matrix: eigenvalues {0, 0, 30} up to rounding
    const v = [1, 2, 5];
    const A = new Float64Array(9).map((_, k) => v[Math.floor(k / 3)]! * v[k % 3]!);
    const r = right(symmetricPowerWithReport(A, 3, 0.5));
    const sq = matMul(r.matrix, r.matrix, 3, 3, 3);
    expect(relErr(sq, A)).toBeLessThan(1e-12);
    expect(r.matrix.every(Number.isFinite)).toBe(true);
    // deterministic: an eigenvalue of −1e−17 next to 2 is rounding noise, clamped to 0 and reported
    const c = powerOfEigenvalues(Float64Array.from([-1e-17, 1, 2]), 3, 0.5, 0, 'test');
    expect(E.isRight(c)).toBe(true);
    if (E.isRight(c)) {
      expect(Array.from(c.right.powered)).toEqual([0, 1, Math.sqrt(2)]);
      expect(c.right.warnings.join(' ')).toMatch(/clamped 1 slightly negative/);
    }
    const neg = powerOfEigenvalues(Float64Array.from([-1e-3, 1, 2]), 3, 0.5, 0, 'test');
    expect(E.isLeft(neg) && neg.left._tag).toBe('NegativeEigenvalue');
  });

  it('a genuinely negative eigenvalue with a fractional power is a Left; integer powers are fine', () => {
    const A = Float64Array.from([1, 2, 2, 1]);
    const r = symmetricPower(A, 2, 0.5);
    expect(E.isLeft(r) && r.left._tag).toBe('NegativeEigenvalue');
    expect(E.isLeft(r) && r.left.message).toMatch(/negative/);
    expect(relErr(right(symmetricPower(A, 2, 2)), matMul(A, A, 2, 2, 2))).toBeLessThan(1e-13);
    const singular = symmetricPower(Float64Array.from([1, 1, 1, 1]), 2, -1);
    expect(E.isLeft(singular) && singular.left._tag).toBe('Singular');
  });
});

describe('solveDense', () => {
  it('cholesky and eigen both solve (A + λI) x = b like Gaussian elimination', () => {
    const n = 25;
    const A = randomSpd(n, 8);
    const b = randomVec(n, 9);
    const lambda = 1e-3;
    const ref = gaussSolve(addDiag(A, n, lambda), n, b);
    for (const method of ['cholesky', 'eigen'] as const) {
      const { x } = right(solveDense(A, n, b, lambda, method));
      expect(relErr(x, ref)).toBeLessThan(1e-10);
      expect(relErr(mv(addDiag(A, n, lambda), n, x), b)).toBeLessThan(1e-11);
    }
  });

  it('damping makes an indefinite matrix solvable; without it both methods give a Left', () => {
    const A = Float64Array.from([1, 2, 2, 1]); // eigenvalues −1, 3
    const b = Float64Array.from([1, -1]);
    for (const method of ['cholesky', 'eigen'] as const) {
      const bad = solveDense(A, 2, b, 0, method);
      expect(E.isLeft(bad) && bad.left._tag).toBe('NotPositiveDefinite');
      const { x } = right(solveDense(A, 2, b, 2, method));
      expect(relErr(x, gaussSolve(addDiag(A, 2, 2), 2, b))).toBeLessThan(1e-13);
    }
  });

  it('cholesky, eigen and Gaussian elimination agree on random SPD matrices at every damping', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.nat({ max: 1000 }), fc.constantFrom(0, 1e-6, 1e-3, 1), (n, seed, lambda) => {
        const A = randomSpd(n, seed);
        const b = randomVec(n, seed + 1);
        const ref = gaussSolve(addDiag(A, n, lambda), n, b);
        const xc = right(solveDense(A, n, b, lambda, 'cholesky'));
        const xe = right(solveDense(A, n, b, lambda, 'eigen'));
        expect(xc.jitter).toBe(0);
        expect(xe.jitter).toBe(0);
        expect(relErr(xc.x, ref)).toBeLessThan(1e-9);
        expect(relErr(xe.x, ref)).toBeLessThan(1e-9);
      }),
      { numRuns: 40, seed: 7 },
    );
  });

  it('a rank-deficient PSD matrix rounded to float32 (null-space eigenvalues slightly below −λ): both methods take the same jittered step', () => {
    // The softmax Fisher: F = B Bᵀ with B ⊥ 1, computed in float32. Its null-space eigenvalues come
    // out as ±1e-7·‖F‖, below −λ for λ = 1e-6 on a large F. `cholesky` retried with jitter and `eigen`
    // refused the solve (the step was rejected and the damping raised): the two solvers gave different
    // steps on the same matrix (issue 17). Now both climb the same jitter ladder.
    let hits = 0;
    for (let seed = 0; seed < 30; seed++) {
      const n = 6;
      const rank = 3;
      const B = randomVec(n * rank, 100 + seed).map((v) => 30 * v);
      const A = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < rank; k++) s += B[i * rank + k]! * B[j * rank + k]!;
        A[i * n + j] = Math.fround(s);
      }
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) A[j * n + i] = A[i * n + j]!;
      const b = randomVec(n, 200 + seed);
      const lambda = 1e-6;
      const c = right(solveDense(A, n, b, lambda, 'cholesky'));
      const e = right(solveDense(A, n, b, lambda, 'eigen'));
      const minEig = right(symmetricEigen(A, n)).values[0]!;
      if (minEig + lambda <= 0) {
        hits++;
        expect(c.jitter).toBeGreaterThan(0);
        expect(e.jitter).toBe(c.jitter);
        expect(e.warnings.join(' ')).toMatch(/jitter/);
      }
      // the same system (A + (λ + jitter)·I) x = b, solved three ways
      expect(e.jitter).toBe(c.jitter);
      // forward error of a backward-stable solve: O(ε·cond), cond = (λ_max + λ + j)/(λ_min + λ + j) ≈ 1e9 here
      const ev = right(symmetricEigen(A, n)).values;
      const cond = (ev[n - 1]! + lambda + c.jitter) / (ev[0]! + lambda + c.jitter);
      const tol = 1e3 * Number.EPSILON * cond;
      const ref = gaussSolve(addDiag(A, n, lambda + c.jitter), n, b);
      expect(relErr(c.x, ref)).toBeLessThan(tol);
      expect(relErr(e.x, ref)).toBeLessThan(tol);
    }
    expect(hits).toBeGreaterThan(0); // the case that used to disagree occurs
  });

  it('rejects mismatched right-hand sides', () => {
    const r = solveDense(Float64Array.from([1, 0, 0, 1]), 2, Float64Array.from([1, 2, 3]), 0, 'eigen');
    expect(E.isLeft(r) && r.left._tag).toBe('InvalidInput');
  });
});
