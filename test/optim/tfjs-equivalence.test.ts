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
import type { ArgValue, Curvature, OptimizerSpec } from '../../src/language/spec.js';
import { engineEstimator } from '../../src/optim/index.js';
import { atom, bitIdentical, comp, host, makeSpec, maxRelDiff, planOf, smallBatch, smallDef, span } from './helpers.js';

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

describe('adaptive specs through the curvature engine reproduce tf.train (100 steps)', () => {
  const diagOuter = (): Curvature => ({ _tag: 'Structure', name: 'diag', of: atom('outer', { of: 'gradient' }), args: {}, span });
  const transform = (name: 'ema' | 'sum' | 'sqrt', of: Curvature, args: Record<string, ArgValue> = {}): Curvature => ({
    _tag: 'Transform',
    name,
    of,
    args,
    span,
  });
  const plusEps = (of: Curvature, eps: number): Curvature => ({
    _tag: 'Sum',
    terms: [of, { _tag: 'Scale', factor: eps, of: atom('identity'), span }],
    span,
  });

  it('adam ≡ tf.train.adam(0.01), bit-identical', async () => {
    const spec = makeSpec({
      gradient: [comp('ema', { decay: 0.9, debias: true })],
      curvature: transform('sqrt', transform('ema', diagOuter(), { decay: 0.999, debias: true })),
      damping: comp('tikhonov', { lambda: 1e-7 }),
      step: comp('lr', { eta: 0.01 }),
    });
    const { ours, theirs } = await runBoth(spec, tf.train.adam(0.01), 100, engineEstimator);
    const rel = maxRelDiff(ours, theirs);
    console.log(`adam: max relative difference ${rel}, bit-identical ${bitIdentical(ours, theirs)}`);
    expect(rel).toBeLessThanOrEqual(1e-5);
    expect(bitIdentical(ours, theirs)).toBe(true);
  });

  it('rmsprop ≡ tf.train.rmsprop(0.01), bit-identical', async () => {
    const spec = makeSpec({
      curvature: transform('sqrt', plusEps(transform('ema', diagOuter(), { decay: 0.9, debias: false }), 1e-7)),
      step: comp('lr', { eta: 0.01 }),
    });
    const { ours, theirs } = await runBoth(spec, tf.train.rmsprop(0.01), 100, engineEstimator);
    const rel = maxRelDiff(ours, theirs);
    console.log(`rmsprop: max relative difference ${rel}, bit-identical ${bitIdentical(ours, theirs)}`);
    expect(rel).toBeLessThanOrEqual(1e-5);
    expect(bitIdentical(ours, theirs)).toBe(true);
  });

  it('adagrad ≡ tf.train.adagrad(0.1), bit-identical', async () => {
    const spec = makeSpec({
      curvature: transform('sqrt', plusEps(transform('sum', diagOuter(), { init: 0.1 }), 1e-7)),
      step: comp('lr', { eta: 0.1 }),
    });
    const { ours, theirs } = await runBoth(spec, tf.train.adagrad(0.1), 100, engineEstimator);
    const rel = maxRelDiff(ours, theirs);
    console.log(`adagrad: max relative difference ${rel}, bit-identical ${bitIdentical(ours, theirs)}`);
    expect(rel).toBeLessThanOrEqual(1e-5);
    expect(bitIdentical(ours, theirs)).toBe(true);
  });

  it('adam with a different β₂ is told apart (the comparison can fail)', async () => {
    const spec = makeSpec({
      gradient: [comp('ema', { decay: 0.9, debias: true })],
      curvature: transform('sqrt', transform('ema', diagOuter(), { decay: 0.99, debias: true })),
      damping: comp('tikhonov', { lambda: 1e-7 }),
      step: comp('lr', { eta: 0.01 }),
    });
    const { ours, theirs } = await runBoth(spec, tf.train.adam(0.01), 100, engineEstimator);
    expect(maxRelDiff(ours, theirs)).toBeGreaterThan(1e-3);
  });
});
