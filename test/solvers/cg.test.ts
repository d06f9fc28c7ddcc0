import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { cg, float64Ops, tensorListOps } from '../../src/solvers/index.js';
import { arbSpd, arbVec, gaussSolve, mv, randomSpd, randomVec, relErr } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const norm = (x: Float64Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

describe('cg (float64)', () => {
  it('solves an SPD system to the requested relative residual and reports it truthfully', () => {
    const n = 40;
    const A = randomSpd(n, 11, 0.05);
    const b = randomVec(n, 12);
    const r = cg(float64Ops, (v) => mv(A, n, v), b, { maxIters: 200, tol: 1e-10 });
    expect(r.converged).toBe(true);
    expect(r.breakdown).toBe(false);
    expect(r.iterations).toBeGreaterThan(0);
    expect(r.iterations).toBeLessThanOrEqual(200);
    const trueRes = norm(float64Ops.sub(b, mv(A, n, r.x))) / norm(b);
    expect(trueRes).toBeLessThan(1e-9);
    expect(r.relativeResidual).toBeLessThanOrEqual(1e-10);
    expect(relErr(r.x, gaussSolve(A, n, b))).toBeLessThan(1e-7);
  });

  it('a Jacobi preconditioner on a badly scaled SPD system converges in fewer iterations', () => {
    const n = 30;
    const B = randomSpd(n, 13, 0.1);
    // D B D with D spanning 4 orders of magnitude: ill-conditioned, fixed by diagonal scaling
    const d = Float64Array.from({ length: n }, (_, i) => 10 ** ((4 * i) / (n - 1)));
    const A = B.map((v, k) => v * d[Math.floor(k / n)]! * d[k % n]!);
    const b = randomVec(n, 14);
    const diag = Float64Array.from({ length: n }, (_, i) => A[i * n + i]!);
    const plain = cg(float64Ops, (v) => mv(A, n, v), b, { maxIters: 1000, tol: 1e-8 });
    const pre = cg(float64Ops, (v) => mv(A, n, v), b, {
      maxIters: 1000,
      tol: 1e-8,
      preconditioner: (r) => r.map((v, i) => v / diag[i]!),
    });
    expect(pre.converged).toBe(true);
    expect(pre.iterations).toBeLessThan(plain.iterations);
    expect(relErr(mv(A, n, pre.x), b)).toBeLessThan(1e-6);
  });

  it('reports non-convergence when maxIters is too small', () => {
    const n = 30;
    const A = randomSpd(n, 15, 0.01);
    const b = randomVec(n, 16);
    const r = cg(float64Ops, (v) => mv(A, n, v), b, { maxIters: 3, tol: 1e-12 });
    expect(r.converged).toBe(false);
    expect(r.breakdown).toBe(false);
    expect(r.iterations).toBe(3);
    expect(r.relativeResidual).toBeGreaterThan(1e-12);
    expect(r.reason).toMatch(/maxIters/);
    const trueRes = norm(float64Ops.sub(b, mv(A, n, r.x))) / norm(b);
    expect(Math.abs(trueRes - r.relativeResidual)).toBeLessThan(1e-8);
  });

  it('detects breakdown on an indefinite operator: stops with a flag, never NaN', () => {
    const A = Float64Array.from([1, 0, 0, -1]);
    const b = Float64Array.from([1, 1]);
    const r = cg(float64Ops, (v) => mv(A, 2, v), b, { maxIters: 10, tol: 1e-12 });
    expect(r.breakdown).toBe(true);
    expect(r.converged).toBe(false);
    expect(r.reason).toMatch(/pᵀAp/);
    expect(Array.from(r.x).every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(r.relativeResidual)).toBe(true);
  });

  it('uses x0 and returns immediately for b = 0', () => {
    const n = 10;
    const A = randomSpd(n, 17);
    const b = randomVec(n, 18);
    const exact = gaussSolve(A, n, b);
    const warm = cg(float64Ops, (v) => mv(A, n, v), b, { maxIters: 50, tol: 1e-6, x0: exact });
    expect(warm.iterations).toBe(0);
    expect(warm.converged).toBe(true);
    const zero = cg(float64Ops, (v) => mv(A, n, v), new Float64Array(n), { maxIters: 5, tol: 1e-6 });
    expect(zero.iterations).toBe(0);
    expect(Array.from(zero.x)).toEqual(new Array(n).fill(0));
  });

  it('property: on B Bᵀ + εI cg with n iterations matches a dense solve', () => {
    fc.assert(
      fc.property(
        arbSpd(8, 0.5).chain(({ n, A }) => arbVec(n).map((b) => ({ n, A, b }))),
        ({ n, A, b }) => {
          if (norm(b) === 0) return true;
          const r = cg(float64Ops, (v) => mv(A, n, v), b, { maxIters: 4 * n, tol: 1e-12 });
          return r.converged && relErr(r.x, gaussSolve(A, n, b)) < 1e-8;
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('cg (tensor lists)', () => {
  it('solves a system over a list of tensors with a preconditioner and leaks nothing', () => {
    const n = 12; // split as a 3×2 matrix and a length-6 vector
    const A = randomSpd(n, 19, 0.2);
    const bHost = randomVec(n, 20);
    const diag = Float64Array.from({ length: n }, (_, i) => A[i * n + i]!);
    const Af = tf.tensor2d(Float32Array.from(A), [n, n]);
    const dInv = tf.tensor1d(Float32Array.from(diag.map((v) => 1 / v)));
    const split = (flat: tf.Tensor1D): tf.Tensor[] => [flat.slice(0, 6).reshape([3, 2]), flat.slice(6, 6)];
    const join = (v: readonly tf.Tensor[]): tf.Tensor1D => tf.concat(v.map((t) => t.reshape([-1]))) as tf.Tensor1D;
    const apply = (v: readonly tf.Tensor[]) =>
      tf.tidy(() => split(tf.matMul(Af, join(v).reshape([n, 1])).reshape([n]) as tf.Tensor1D));
    const precond = (r: readonly tf.Tensor[]) => tf.tidy(() => split(tf.mul(join(r), dInv) as tf.Tensor1D));
    const b = tf.tidy(() => split(tf.tensor1d(Float32Array.from(bHost))));
    const before = tf.memory().numTensors;
    const r = cg(tensorListOps, apply, b, { maxIters: 100, tol: 1e-5, preconditioner: precond });
    expect(tf.memory().numTensors).toBe(before + r.x.length);
    expect(r.converged).toBe(true);
    const x = join(r.x);
    expect(relErr(x.dataSync(), gaussSolve(A, n, bHost))).toBeLessThan(1e-4);
    tf.dispose([x, ...r.x]);
    // breakdown path leaks nothing either
    const neg = tf.tidy(() => tf.neg(Af));
    const before2 = tf.memory().numTensors;
    const bad = cg(
      tensorListOps,
      (v) => tf.tidy(() => split(tf.matMul(neg, join(v).reshape([n, 1])).reshape([n]) as tf.Tensor1D)),
      b,
      { maxIters: 10, tol: 1e-6 },
    );
    expect(bad.breakdown).toBe(true);
    expect(tf.memory().numTensors).toBe(before2 + bad.x.length);
    tf.dispose([...bad.x, ...b, neg, Af, dInv]);
  });
});
