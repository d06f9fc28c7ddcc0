import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { activateWasm } from '../../src/backend/wasm.js';
import { installMatmulFix, uninstallMatmulFix, matmulFixInstalled } from '../../src/backend/matmulFix.js';
import { lcgData as data, maxRelErr as relErr } from './helpers.js';

/** Relative error with the floor 1e-6 for near-zero references. */
const maxRelErr = (x: Float32Array, ref: Float32Array) => relErr(x, ref, 1e-6);

type Case = { aShape: number[]; bShape: number[]; ta: boolean; tb: boolean };

function cases(): Case[] {
  const m = 5, k = 7, n = 6;
  const batches: Array<[number[], number[]]> = [[[], []], [[2], [2]], [[1], [3]], [[3], [1]], [[2, 3], [3]]];
  const out: Case[] = [];
  for (const [ba, bb] of batches)
    for (const ta of [false, true])
      for (const tb of [false, true])
        out.push({ aShape: [...ba, ...(ta ? [k, m] : [m, k])], bShape: [...bb, ...(tb ? [n, k] : [k, n])], ta, tb });
  return out;
}

async function onBackend<T>(name: string, f: () => tf.Tensor): Promise<Float32Array> {
  await (name === 'wasm' ? activateWasm() : tf.setBackend(name));
  const before = tf.memory().numTensors;
  const t = tf.tidy(f);
  const v = (await t.data()) as Float32Array;
  t.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return v;
}

describe('wasm transposed-matmul fix', () => {
  beforeAll(async () => {
    await activateWasm();
    expect(installMatmulFix()).toBe(true);
  });
  afterAll(() => uninstallMatmulFix());

  it('is installed and idempotent', () => {
    expect(matmulFixInstalled()).toBe(true);
    expect(installMatmulFix()).toBe(true);
  });

  it('BatchMatMul equals the cpu backend for every transpose / batch-broadcast case', async () => {
    for (const c of cases()) {
      const f = () =>
        tf.matMul(
          tf.tensor(data(tf.util.sizeFromShape(c.aShape), 1), c.aShape),
          tf.tensor(data(tf.util.sizeFromShape(c.bShape), 2), c.bShape),
          c.ta,
          c.tb,
        );
      const ref = await onBackend('cpu', f);
      const got = await onBackend('wasm', f);
      expect(got.length).toBe(ref.length);
      expect(maxRelErr(got, ref), JSON.stringify(c)).toBeLessThan(1e-5);
    }
  });

  it('_FusedMatMul equals the cpu backend for transposes × bias shapes × activations', async () => {
    const m = 5, k = 7, n = 6;
    for (const batch of [1, 2]) {
    const activations = ['linear', 'relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu', 'prelu'] as const;
    const biasShapes: Array<number[] | null> = [null, [n], [1, n], [m, n], [batch, 1, n]];
    for (const ta of [false, true])
      for (const tb of [false, true])
        for (const biasShape of biasShapes)
          for (const activation of activations) {
            const aShape = [batch, ...(ta ? [k, m] : [m, k])];
            const bShape = [batch, ...(tb ? [n, k] : [k, n])];
            const f = () =>
              tf.fused.matMul({
                a: tf.tensor(data(tf.util.sizeFromShape(aShape), 3), aShape),
                b: tf.tensor(data(tf.util.sizeFromShape(bShape), 4), bShape),
                transposeA: ta,
                transposeB: tb,
                bias: biasShape === null ? undefined : tf.tensor(data(tf.util.sizeFromShape(biasShape), 5), biasShape),
                activation,
                preluActivationWeights: activation === 'prelu' ? tf.tensor(data(n, 6), [n]) : undefined,
                leakyreluAlpha: 0.1,
              });
            const ref = await onBackend('cpu', f);
            const got = await onBackend('wasm', f);
            expect(maxRelErr(got, ref), JSON.stringify({ batch, ta, tb, biasShape, activation })).toBeLessThan(1e-5);
          }
    }
  });

  it('gradients through a fused dense layer match the cpu backend', async () => {
    const x = data(8 * 5, 7), w = data(5 * 4, 8), bias = data(4, 9);
    const f = () => {
      const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
        tf.fused.matMul({ a: xx as tf.Tensor2D, b: ww as tf.Tensor2D, bias: bb, activation: 'relu' }).square().sum(),
      );
      const [dx, dw, db] = g([tf.tensor2d(x, [8, 5]), tf.tensor2d(w, [5, 4]), tf.tensor1d(bias)]);
      return tf.concat([dx!.flatten(), dw!.flatten(), db!.flatten()]);
    };
    const ref = await onBackend('cpu', f);
    const got = await onBackend('wasm', f);
    expect(maxRelErr(got, ref)).toBeLessThan(1e-5);
  });
});
