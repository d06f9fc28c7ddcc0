/**
 * The compiled step's curvature context hands the gradient's own backward pass to the curvature
 * engine: an empirical-Fisher K-FAC update performs no second backward (no matmul beyond the
 * factor products) and one lossAndGradient per step.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createStepContext } from '../../src/optim/context.js';
import { empiricalSamples } from '../../src/curvature/context.js';
import { disposeOuter } from '../../src/curvature/samples.js';
import * as M from '../../src/model/index.js';
import type { ModelDef } from '../../src/model/types.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const def: ModelDef = {
  inputDim: 4,
  layers: [
    { kind: 'dense', inDim: 4, outDim: 5 },
    { kind: 'activation', fn: 'tanh' },
    { kind: 'dense', inDim: 5, outDim: 3 },
  ],
  likelihood: 'categorical',
};

describe('StepContext.curvatureContext shares the backward pass', () => {
  it('empirical statistics are the gradient backward’s per-example cotangents, with no extra backward', async () => {
    const params = M.initParams(def, 3);
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 5) as tf.Tensor2D;
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3).toFloat() as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const step = createStepContext({ def, batch: { x, y }, params, seed: 1, step: 0 });
    const cc = step.curvatureContext();
    expect(cc.backward).toBeDefined();
    step.gradient();
    let s: ReturnType<typeof empiricalSamples> | undefined;
    const info = await tf.profile(() => { s = empiricalSamples(cc, false); });
    expect(info.kernelNames.filter((k) => k.includes('MatMul'))).toEqual([]);
    // independent reference: a fresh cotangent-only backward of the data labels' output gradients
    const fp = M.forward(def, params, x);
    const u = M.outputGradient(def.likelihood, fp.output, y);
    const ref = M.preActivationGradients(def, params, fp, u);
    s!.g.forEach((g, l) => {
      const a = g.dataSync();
      const b = ref[l]!.dataSync();
      expect(a.length).toBe(b.length);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-6 * (1 + Math.abs(b[i]!)));
    });
    tf.dispose([u, ...ref]);
    M.disposeForward(fp);
    disposeOuter(s!);
    expect(step.counts().lossAndGradient).toBe(1);
    step.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
    M.disposeParams(params);
  });
});
