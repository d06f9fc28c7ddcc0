import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import {
  SolverException,
  kroneckerFactorsEigen,
  kroneckerFactoredPowers,
  kroneckerPower,
  kroneckerSolve,
  tryKroneckerFactorsEigen,
} from '../../src/solvers/index.js';
import { addDiag, arbSpd, gaussSolve, kron, matMul, randomSpd, randomVec, relErr } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const trace = (M: Float64Array, n: number) => Array.from({ length: n }, (_, i) => M[i * n + i]!).reduce((a, b) => a + b, 0);

/** Runs f with V as a tensor and checks that exactly one tensor (the result) survives. */
const withV = (V: Float64Array, nA: number, nG: number, f: (Vt: tf.Tensor2D) => tf.Tensor2D): Float64Array => {
  const Vt = tf.tensor2d(Float32Array.from(V), [nA, nG]);
  const before = tf.memory().numTensors;
  const out = f(Vt);
  expect(tf.memory().numTensors).toBe(before + 1);
  expect(out.shape).toEqual([nA, nG]);
  const host = Float64Array.from(out.dataSync());
  tf.dispose([out, Vt]);
  return host;
};

describe('kronecker', () => {
  const nA = 5;
  const nG = 3;
  const A = randomSpd(nA, 31, 0.05);
  const G = randomSpd(nG, 32, 0.05);
  const V = randomVec(nA * nG, 33);

  it('exact damping equals a dense solve with kron(A, G) + λI', () => {
    const eig = kroneckerFactorsEigen(A, nA, G, nG);
    for (const lambda of [0, 1e-3, 0.5]) {
      const x = withV(V, nA, nG, (Vt) => kroneckerSolve(eig, Vt, lambda, 'exact'));
      const ref = gaussSolve(addDiag(kron(A, nA, G, nG), nA * nG, lambda), nA * nG, V);
      expect(relErr(x, ref)).toBeLessThan(1e-4);
    }
    eig.dispose();
  });

  it('layout: (A⊗G) vec(V) = A V G for row-major V of shape [nA, nG]', () => {
    const eig = kroneckerFactorsEigen(A, nA, G, nG);
    const y = withV(V, nA, nG, (Vt) => kroneckerPower(eig, Vt, 1, 0));
    expect(relErr(y, matMul(matMul(A, V, nA, nA, nG), G, nA, nG, nG))).toBeLessThan(1e-5);
    expect(relErr(y, matMul(kron(A, nA, G, nG), V, nA * nG, nA * nG, 1))).toBeLessThan(1e-5);
    eig.dispose();
  });

  it('π-corrected factored damping equals a dense solve with (A + π√λI) ⊗ (G + √λ/π I)', () => {
    const eig = kroneckerFactorsEigen(A, nA, G, nG);
    const lambda = 0.02;
    const pi = Math.sqrt(trace(A, nA) / nA / (trace(G, nG) / nG));
    const K = kron(addDiag(A, nA, pi * Math.sqrt(lambda)), nA, addDiag(G, nG, Math.sqrt(lambda) / pi), nG);
    const ref = gaussSolve(K, nA * nG, V);
    const x = withV(V, nA, nG, (Vt) => kroneckerSolve(eig, Vt, lambda, 'factored'));
    expect(relErr(x, ref)).toBeLessThan(1e-4);
    // the cached dense factor inverses give the same answer with two matmuls
    const before = tf.memory().numTensors;
    const { left, right, pi: pi2 } = kroneckerFactoredPowers(eig, -1, lambda);
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(pi2).toBeCloseTo(pi, 12);
    const y = withV(V, nA, nG, (Vt) => tf.tidy(() => tf.matMul(tf.matMul(left, Vt), right) as tf.Tensor2D));
    expect(relErr(y, ref)).toBeLessThan(1e-4);
    tf.dispose([left, right]);
    eig.dispose();
  });

  it('powers: p = 2 is the dense square, p = −1/2 twice is the solve', () => {
    const eig = kroneckerFactorsEigen(A, nA, G, nG);
    const lambda = 0.1;
    const Kd = addDiag(kron(A, nA, G, nG), nA * nG, lambda);
    const sq = withV(V, nA, nG, (Vt) => kroneckerPower(eig, Vt, 2, lambda));
    expect(relErr(sq, matMul(Kd, matMul(Kd, V, nA * nG, nA * nG, 1), nA * nG, nA * nG, 1))).toBeLessThan(1e-4);
    const twice = withV(V, nA, nG, (Vt) =>
      tf.tidy(() => kroneckerPower(eig, kroneckerPower(eig, Vt, -0.5, lambda), -0.5, lambda)),
    );
    expect(relErr(twice, gaussSolve(Kd, nA * nG, V))).toBeLessThan(1e-4);
    eig.dispose();
  });

  it('property: exact solve satisfies (A⊗G + λI) x = v on random SPD factors', () => {
    fc.assert(
      fc.property(arbSpd(4, 0.2), arbSpd(4, 0.2), fc.constantFrom(0, 1e-2, 1), ({ n: na, A: a }, { n: ng, A: g }, lambda) => {
        const v = randomVec(na * ng, na * 7 + ng);
        const before = tf.memory().numTensors;
        const eig = kroneckerFactorsEigen(a, na, g, ng);
        const Vt = tf.tensor2d(Float32Array.from(v), [na, ng]);
        const x = kroneckerSolve(eig, Vt, lambda, 'exact');
        const xs = Float64Array.from(x.dataSync());
        tf.dispose([x, Vt]);
        eig.dispose();
        const back = matMul(addDiag(kron(a, na, g, ng), na * ng, lambda), xs, na * ng, na * ng, 1);
        return tf.memory().numTensors === before && relErr(back, v) < 1e-4;
      }),
      { numRuns: 40 },
    );
  });

  it('indefinite factors, wrong shapes and non-finite input throw/return clear errors', () => {
    const indef = Float64Array.from([1, 2, 2, 1]);
    const eig = kroneckerFactorsEigen(indef, 2, Float64Array.from([1]), 1);
    const Vt = tf.tensor2d([1, 1], [2, 1]);
    const before = tf.memory().numTensors;
    expect(() => kroneckerSolve(eig, Vt, 0.5, 'exact')).toThrow(SolverException);
    expect(() => kroneckerSolve(eig, Vt, 0.5, 'exact')).toThrow(/not positive definite/);
    expect(() => kroneckerSolve(eig, Vt, 0.5, 'factored')).toThrow(/not positive definite/);
    expect(() => kroneckerPower(eig, Vt, 0.5, 0)).toThrow(/fractional power/);
    const wrong = tf.zeros([3, 1]) as tf.Tensor2D;
    expect(() => kroneckerSolve(eig, wrong, 0.5, 'exact')).toThrow(/shape \[2, 1\]/);
    wrong.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const zeroG = kroneckerFactorsEigen(Float64Array.from([1]), 1, Float64Array.from([0]), 1);
    const V1 = tf.tensor2d([1], [1, 1]);
    expect(() => kroneckerSolve(zeroG, V1, 1, 'factored')).toThrow(/positive factor traces/);
    tf.dispose([Vt, V1]);
    eig.dispose();
    zeroG.dispose();
    const bad = tryKroneckerFactorsEigen(Float64Array.from([NaN]), 1, Float64Array.from([1]), 1);
    expect(bad._tag).toBe('Left');
    if (bad._tag === 'Left') expect(bad.left.message).toMatch(/factor A.*NaN/);
  });
});
