/**
 * Reproduces /work/shared/reference (PyTorch float64 peers) on the small 6-5-4-3 tanh MLP:
 * outputs, loss, gradient, per-example gradients, and by probing the Hessian and GGN.
 * The [out][in] → [in, out] mapping happens once, in src/model/referenceLayout.ts.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { disposeBackward, disposeForward, perExampleGrads } from '../../src/model/network.js';
import { fromFloat64 } from '../../src/model/layout.js';
import { ggnVectorProduct, hessianVectorProduct, lossAndGradient } from '../../src/model/objective.js';
import { matrixFromReference, referencePermutation, referenceProblem, rowsFromReference, vectorFromReference } from '../../src/model/referenceLayout.js';
import type { ReferenceProblemJson } from '../../src/model/referenceLayout.js';
import { flat, noLeak } from './host.js';

const dir = '/work/shared/reference';
const problemJson = JSON.parse(readFileSync(`${dir}/problem_small.json`, 'utf8')) as ReferenceProblemJson;
const ref = JSON.parse(readFileSync(`${dir}/reference_classification.json`, 'utf8')).classification as {
  outputs_f: number[][];
  loss: number;
  grad: number[];
  per_sample_grads: number[][];
  hessian: number[][];
  ggn: number[][];
};

/** max |a − b| ≤ tol · max |ref|. The issue asks 1e-4; on cpu we measure ≈1.5e-7, so 1e-5 here. */
function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
  }
  expect(err).toBeLessThanOrEqual(tol * scale);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('reference_classification.json (softmax cross-entropy, 6-5-4-3 tanh MLP)', () => {
  const prob = referenceProblem(problemJson, 'categorical');
  const P = 74;

  it('the layout helper is a permutation that transposes each W and keeps biases', () => {
    const perm = referencePermutation(prob.def);
    expect(perm.length).toBe(P);
    expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: P }, (_, i) => i));
    // geodesic W1[i=1][o=0] (flat 1·5+0 = 5) is the reference's W1[o=0][i=1] (flat 0·6+1 = 1).
    expect(perm[5]).toBe(1);
    expect(perm[30]).toBe(30); // b1[0]
    expect(vectorFromReference(prob.def, Array.from({ length: P }, (_, i) => i))).toEqual(Float64Array.from(perm));
  });

  it('reproduces outputs, loss, gradient and per-example gradients to float32 tolerance', () => {
    const params = fromFloat64(prob.def, prob.params);
    const batch = { x: tf.tensor2d(prob.x), y: tf.tensor2d(prob.yOneHot) };
    noLeak(() => {
      const r = lossAndGradient(prob.def, params, batch);
      expectClose(r.forward.output.dataSync(), ref.outputs_f.flat());
      expect(Math.abs(r.loss.dataSync()[0]! - ref.loss)).toBeLessThan(1e-6 * Math.max(1, ref.loss));
      expectClose(flat(r.gradient), vectorFromReference(prob.def, ref.grad));
      const pe = perExampleGrads(prob.def, r.forward, r.backward);
      const rows = rowsFromReference(prob.def, ref.per_sample_grads);
      const n = prob.x.length;
      // Reassemble [N][P] in geodesic order from the per-parameter [N, ...] tensors.
      const ours = rows.map(() => new Float64Array(P));
      let off = 0;
      for (const t of pe) {
        const per = t.size / n;
        const d = t.dataSync();
        for (let e = 0; e < n; e++) for (let j = 0; j < per; j++) ours[e]![off + j] = d[e * per + j]!;
        off += per;
      }
      expectClose(ours.flatMap((r) => [...r]), rows.flatMap((r) => [...r]));
      tf.dispose([r.loss, ...r.gradient, ...pe]);
      disposeForward(r.forward);
      disposeBackward(r.backward);
    });
    tf.dispose([...params, batch.x, batch.y]);
  });

  it('reproduces the Hessian and the GGN by probing hessianVectorProduct / ggnVectorProduct', () => {
    const params = fromFloat64(prob.def, prob.params);
    const batch = { x: tf.tensor2d(prob.x), y: tf.tensor2d(prob.yOneHot) };
    const r = lossAndGradient(prob.def, params, batch);
    const H = new Float64Array(P * P);
    const G = new Float64Array(P * P);
    noLeak(() => {
      for (let j = 0; j < P; j++) {
        const e = new Float64Array(P);
        e[j] = 1;
        const v = fromFloat64(prob.def, e);
        const hv = hessianVectorProduct(prob.def, params, batch, v);
        const gv = ggnVectorProduct(prob.def, params, r.forward, v);
        const hc = flat(hv);
        const gc = flat(gv);
        for (let i = 0; i < P; i++) {
          H[i * P + j] = hc[i]!;
          G[i * P + j] = gc[i]!;
        }
        tf.dispose([...v, ...hv, ...gv]);
      }
    });
    expectClose(H, matrixFromReference(prob.def, ref.hessian));
    expectClose(G, matrixFromReference(prob.def, ref.ggn));
    tf.dispose([r.loss, ...r.gradient, ...params, batch.x, batch.y]);
    disposeForward(r.forward);
    disposeBackward(r.backward);
  });
});
