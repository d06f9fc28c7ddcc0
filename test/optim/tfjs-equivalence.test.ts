/**
 * The DSL is the same algorithm as tfjs's built-in optimizers: same model, data, init and the
 * same gradients (geodesic's backprop), fed to `tf.train.*.applyGradients` on one side and to the
 * compiled spec on the other, for 100 steps.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initParams, lossAndGradient, disposeParams } from '../../src/model/index.js';
import type { Params } from '../../src/model/types.js';
import { compileWith, type EstimatorFactory } from '../../src/optim/compile.js';
import { createStepContext } from '../../src/optim/context.js';
import type { OptimizerSpec } from '../../src/language/spec.js';
import { bitIdentical, comp, host, makeSpec, maxRelDiff, planOf, smallBatch, smallDef } from './helpers.js';

const noEstimator: EstimatorFactory = () => {
  throw new Error('this test needs no curvature estimator');
};

async function runBoth(
  spec: OptimizerSpec,
  tfOpt: tf.Optimizer,
  steps: number,
  factory: EstimatorFactory = noEstimator,
): Promise<{ ours: Float32Array[]; theirs: Float32Array[] }> {
  const batch = smallBatch(32, 7);
  const init = initParams(smallDef, 3);
  // tfjs side: variables updated in place by applyGradients.
  const vars = init.map((p, i) => tf.variable(p.clone(), true, `equiv_${i}_${Math.random().toString(36).slice(2)}`));
  for (let k = 0; k < steps; k++) {
    const lg = lossAndGradient(smallDef, vars, batch);
    tfOpt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: lg.gradient[i]! })));
    tf.dispose([lg.loss, ...lg.gradient, lg.forward.output, ...lg.forward.inputs, ...lg.forward.denseInputs, ...lg.forward.denseOutputs, ...lg.backward.grads, ...lg.backward.denseOutputGrads]);
  }
  const theirs = await host(vars);
  // geodesic side.
  const opt = compileWith(planOf(spec), smallDef, factory);
  let params: Params = init.map((p) => p.clone());
  let state = opt.init(params);
  for (let k = 0; k < steps; k++) {
    const ctx = createStepContext({ def: smallDef, batch, params, seed: 0, step: k });
    const [next, nextState] = opt.step(ctx, state);
    ctx.dispose();
    disposeParams(params);
    params = next;
    state = nextState;
  }
  const ours = await host(params);
  opt.dispose(state);
  disposeParams(params);
  disposeParams(init);
  tf.dispose([batch.x, batch.y, ...vars]);
  tfOpt.dispose();
  return { ours, theirs };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('first-order specs reproduce tf.train trajectories (100 steps)', () => {
  it('sgd: lr(0.1) ≡ tf.train.sgd(0.1), bit for bit', async () => {
    const { ours, theirs } = await runBoth(makeSpec({ step: comp('lr', { eta: 0.1 }) }), tf.train.sgd(0.1), 100);
    expect(maxRelDiff(ours, theirs)).toBe(0);
    expect(bitIdentical(ours, theirs)).toBe(true);
  });

  it('momentum: heavy_ball(0.9) ≡ tf.train.momentum(0.05, 0.9), bit for bit', async () => {
    const spec = makeSpec({ step: comp('lr', { eta: 0.05 }), momentum: comp('heavy_ball', { mu: 0.9 }) });
    const { ours, theirs } = await runBoth(spec, tf.train.momentum(0.05, 0.9), 100);
    expect(bitIdentical(ours, theirs)).toBe(true);
  });

  it('nesterov(0.9) ≡ tf.train.momentum(0.05, 0.9, useNesterov), bit for bit', async () => {
    const spec = makeSpec({ step: comp('lr', { eta: 0.05 }), momentum: comp('nesterov', { mu: 0.9 }) });
    const { ours, theirs } = await runBoth(spec, tf.train.momentum(0.05, 0.9, true), 100);
    expect(bitIdentical(ours, theirs)).toBe(true);
  });

  it('a different learning rate is detected (the comparison can fail)', async () => {
    const { ours, theirs } = await runBoth(makeSpec({ step: comp('lr', { eta: 0.1 }) }), tf.train.sgd(0.1000001), 100);
    expect(bitIdentical(ours, theirs)).toBe(false);
  });
});
