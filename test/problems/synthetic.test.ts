import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { loadProblem, problemNames } from '../../src/problems/registry.js';
import { kronIdentity, logisticSpec, linearGaussianFisher, linearGaussianSecondMoment, linearGaussianSpec } from '../../src/problems/synthetic.js';
import { fullBatch } from '../../src/problems/dataset.js';
import { forward, disposeForward } from '../../src/model/network.js';
import { ggnVectorProduct } from '../../src/model/objective.js';
import { fromFloat64, initParams, numParams, outputDim, toFloat64 } from '../../src/model/layout.js';
import type { Problem } from '../../src/problems/types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function load(name: string, seed: number, trainSize = 500, testSize = 100): Promise<Problem> {
  const r = await loadProblem(name, { seed, trainSize, testSize })();
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

/** (1/N) X̄ᵀX̄ of a dataset's inputs, (d+1)×(d+1). */
function sampleSecondMoment(x: Float32Array, n: number, d: number): Float64Array {
  const m = d + 1;
  const A = new Float64Array(m * m);
  for (let r = 0; r < n; r++) {
    const xb = [...x.subarray(r * d, (r + 1) * d), 1];
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) A[i * m + j] += (xb[i]! * xb[j]!) / n;
  }
  return A;
}

describe('synthetic problems', () => {
  it.each(['logistic', 'teacher-student', 'linear-gaussian'])('%s: deterministic from the seed, consistent shapes, train ≠ test', async (name) => {
    expect(problemNames).toContain(name);
    const a = await load(name, 11);
    const b = await load(name, 11);
    const c = await load(name, 12);
    expect(b.train.x).toEqual(a.train.x);
    expect(b.train.y).toEqual(a.train.y);
    expect(b.test.y).toEqual(a.test.y);
    expect(c.train.x).not.toEqual(a.train.x);
    expect(a.test.x.subarray(0, 10)).not.toEqual(a.train.x.subarray(0, 10));
    expect([a.train.n, a.test.n]).toEqual([500, 100]);
    expect(a.train.xDim).toBe(a.def.inputDim);
    expect(a.train.yDim).toBe(outputDim(a.def));
    expect(a.train.x.every(Number.isFinite) && a.train.y.every(Number.isFinite)).toBe(true);
    if (a.def.likelihood === 'bernoulli') expect(a.train.y.every((v) => v === 0 || v === 1)).toBe(true);
  });

  it('logistic: labels follow the planted model (residuals y − σ(x·w* + b*) average out, 4σ bound)', async () => {
    const n = 4000;
    const p = await load('logistic', 5, n, 10);
    const { weights, bias } = logisticSpec(5);
    const d = p.train.xDim;
    // E[(y − σ(z)) · h(x)] = 0 for h = 1 and h = z; the planted logit also predicts y far better than chance.
    let r0 = 0;
    let r1 = 0;
    let v0 = 0;
    let v1 = 0;
    let agree = 0;
    for (let r = 0; r < n; r++) {
      let z = bias;
      for (let i = 0; i < d; i++) z += p.train.x[r * d + i]! * weights[i]!;
      const q = 1 / (1 + Math.exp(-z));
      const y = p.train.y[r]!;
      r0 += y - q;
      r1 += (y - q) * z;
      v0 += q * (1 - q);
      v1 += q * (1 - q) * z * z;
      if ((z > 0) === (y === 1)) agree++;
    }
    expect(Math.abs(r0)).toBeLessThan(4 * Math.sqrt(v0));
    expect(Math.abs(r1)).toBeLessThan(4 * Math.sqrt(v1));
    expect(agree / n).toBeGreaterThan(0.7);
  });

  it('linear-gaussian: the closed-form Fisher E[x̄x̄ᵀ] ⊗ I matches the model GGN on a large sample', async () => {
    const seed = 21;
    const n = 20000;
    const p = await load('linear-gaussian', seed, n, 10);
    const spec = linearGaussianSpec(seed);
    const d = spec.d;
    const k = spec.k;
    const P = numParams(p.def);
    expect(P).toBe((d + 1) * k);
    // 1) The sample second moment converges to the closed form (relative, statistical bound).
    const Apop = linearGaussianSecondMoment(spec);
    const Asam = sampleSecondMoment(p.train.x, n, d);
    const scale = Apop.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const err = Apop.reduce((m, v, i) => Math.max(m, Math.abs(v - Asam[i]!)), 0);
    expect(err / scale).toBeLessThan(0.05);
    // 2) The model's GGN (probed by ggnVectorProduct, any θ: the model is linear) equals
    //    kron((1/N)X̄ᵀX̄, I) exactly and approximates the population Fisher.
    const params = initParams(p.def, 1);
    const batch = fullBatch(p.train);
    const fp = forward(p.def, params, batch.x);
    const G = new Float64Array(P * P);
    for (let j = 0; j < P; j++) {
      const e = new Float64Array(P);
      e[j] = 1;
      const v = fromFloat64(p.def, e);
      const gv = ggnVectorProduct(p.def, params, fp, v);
      toFloat64(gv).forEach((val, i) => (G[i * P + j] = val));
      tf.dispose([...v, ...gv]);
    }
    const Fsample = kronIdentity(Asam, d + 1, k);
    const Fpop = linearGaussianFisher(seed);
    const relMax = (a: Float64Array, b: Float64Array) =>
      a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0) / b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(relMax(G, Fsample)).toBeLessThan(1e-4);
    expect(relMax(G, Fpop)).toBeLessThan(0.05);
    // Kronecker structure: zero between different outputs.
    expect(Fpop[0 * P + 1]).toBe(0);
    disposeForward(fp);
    tf.dispose([...params, batch.x, batch.y]);
  });
});
