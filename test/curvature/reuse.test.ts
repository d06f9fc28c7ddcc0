/**
 * Empirical-Fisher statistics reuse the context's data-loss backward pass (CurvatureContext.backward)
 * instead of a second cotangent-only backward: same statistics as the fallback path, no extra
 * matmuls (counted with tf.profile), and a gradient equal to the model's lossAndGradient.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as C from '../../src/curvature/index.js';
import { empiricalSamples } from '../../src/curvature/context.js';
import type { CurvatureContext } from '../../src/curvature/types.js';
import * as M from '../../src/model/index.js';
import { disposeOuter } from '../../src/curvature/samples.js';
import { expectClose, smallProblem } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The same context without the shared backward pass (the pre-reuse code path). */
const withoutBackward = (ctx: CurvatureContext): CurvatureContext => ({
  def: ctx.def,
  params: ctx.params,
  batch: ctx.batch,
  forward: ctx.forward,
  gradient: ctx.gradient,
  seed: ctx.seed,
  step: ctx.step,
});

const matMulKernels = async (f: () => void): Promise<number> => {
  const info = await tf.profile(f);
  return info.kernelNames.filter((k) => k.includes('MatMul')).length;
};

describe.each(['categorical', 'gaussian', 'bernoulli'] as const)('empirical statistics reuse the backward pass (%s head)', (head) => {
  it('sample sets and K-FAC factors equal those of a separate cotangent-only backward', () => {
    const p = smallProblem(head, 31, { inp: 4, hidden: 5, out: 3, n: 7 });
    expect(p.ctx.backward).toBeDefined();
    p.ctx.gradient(); // memoize the context's own tensors before counting
    const before = tf.memory().numTensors;
    const shared = empiricalSamples(p.ctx, false);
    const fresh = empiricalSamples(withoutBackward(p.ctx), false);
    expect(shared.g.length).toBe(fresh.g.length);
    shared.g.forEach((g, l) => {
      expect(g.shape).toEqual(fresh.g[l]!.shape);
      expectClose(Float64Array.from(g.dataSync()), Float64Array.from(fresh.g[l]!.dataSync()), 1e-6, `g[${l}]`);
    });
    expect(shared.weight).toBe(fresh.weight);
    disposeOuter(shared);
    disposeOuter(fresh);
    for (const bias of ['homogeneous', 'separate'] as const) {
      const a = C.kfacFactors(p.ctx, { bias, source: 'empirical' });
      const b = C.kfacFactors(withoutBackward(p.ctx), { bias, source: 'empirical' });
      a.layers.forEach((la, l) => {
        expectClose(la.G, b.layers[l]!.G, 1e-6, `G[${l}] ${bias}`);
        expectClose(la.A, b.layers[l]!.A, 1e-6, `A[${l}] ${bias}`);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
    p.dispose();
  });

  it('no backward matmul once the gradient is computed; the fallback path does one', async () => {
    const p = smallProblem(head, 32);
    p.ctx.gradient();
    const before = tf.memory().numTensors;
    let s: ReturnType<typeof empiricalSamples> | undefined;
    expect(await matMulKernels(() => { s = empiricalSamples(p.ctx, false); })).toBe(0);
    disposeOuter(s!);
    expect(await matMulKernels(() => { s = empiricalSamples(withoutBackward(p.ctx), false); })).toBeGreaterThan(0);
    disposeOuter(s!);
    expect(tf.memory().numTensors).toBe(before);
    p.dispose();
  });

  it('the shared-backward gradient equals lossAndGradient and backward() is memoized', () => {
    const p = smallProblem(head, 33);
    const b1 = p.ctx.backward!();
    expect(p.ctx.backward!()).toBe(b1);
    const lg = M.lossAndGradient(p.def, p.params, p.batch);
    const g = p.ctx.gradient();
    expectClose(M.toFloat64(g), M.toFloat64(lg.gradient), 1e-6, 'gradient');
    b1.denseOutputGrads.forEach((t, l) => expectClose(Float64Array.from(t.dataSync()), Float64Array.from(lg.backward.denseOutputGrads[l]!.dataSync()), 1e-6, `denseOutputGrads[${l}]`));
    tf.dispose([lg.loss, ...lg.gradient, ...lg.backward.grads, ...lg.backward.denseOutputGrads]);
    M.disposeForward(lg.forward);
    const before = tf.memory().numTensors;
    p.ctx.dispose();
    expect(tf.memory().numTensors).toBeLessThan(before);
    p.dispose();
  });
});
