/**
 * reparametrizationInvariance in detail: the reparametrized models are genuinely different models
 * (param maps / fixed layers the engine sees), counterexamples shrink to the smallest model and are
 * printed with the transform and both trajectories' numbers.
 */
import * as tf from '@tensorflow/tfjs';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkProperty, measureInvariance, planFile, planOrThrow, planText, reparametrizationInvariance, withVanishingDamping } from '../../src/testing/index.js';

const RUNS = Number(process.env.GEODESIC_THEORY_RUNS ?? 4);
const example = (name: string, opt?: string) => planOrThrow(planFile(`examples/${name}.optim`), opt);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('counterexamples', () => {
  it('SGD × elementwise: shrunk to the smallest model, printed with the transform and both runs', () => {
    const prop = reparametrizationInvariance(example('sgd'), 'elementwise');
    const r = checkProperty(prop, { numRuns: RUNS, seed: 1 });
    expect(r.holds).toBe(false);
    const cx = r.counterexample!;
    expect(cx.model.shape.hidden).toEqual([]);
    expect(cx.model.shape.inputDim).toBe(2);
    expect(cx.model.shape.outputDim).toBe(2);
    expect(r.counterexampleMeasure!.gap).toBeGreaterThan(0.25);
    expect(r.report).toMatch(/θ = diag\(s\)·φ, s = \[/);
    expect(r.report).toMatch(/run on f:  outputs/);
    expect(r.report).toMatch(/run on f̃: outputs/);
    // the replay path reproduces the same counterexample
    const replay = fc.check(prop.property, { numRuns: RUNS, seed: r.seed, path: r.path! });
    expect(replay.failed).toBe(true);
    expect(replay.counterexample![0]).toEqual(cx);
  });

  it('K-FAC × linear (a general map of one layer’s parameters) is found', () => {
    const r = checkProperty(reparametrizationInvariance(example('kfac', 'kfac_factored'), 'linear'), { numRuns: RUNS, seed: 3 });
    expect(r.holds).toBe(false);
    expect(r.report).toMatch(/θ = T·φ on \[vec W; b\]/);
  });
});

describe('the λ → 0 measurement', () => {
  it('damping is kept in kind and capped (tikhonov at λ_test, factored at λ_test², both × the undebiased-EMA scale)', () => {
    const ng = withVanishingDamping(example('natural_gradient'));
    expect(ng.damping).toEqual({ _tag: 'tikhonov', lambda: { _tag: 'constant', value: 1e-6 } });
    // kfac(…) |> ema(decay: 0.95) without debias holds 0.05² of A ⊗ G after one update
    const kf = withVanishingDamping(example('kfac', 'kfac_factored'));
    expect(kf.damping._tag).toBe('factored');
    if (kf.damping._tag === 'factored' && kf.damping.lambda._tag === 'constant') expect(kf.damping.lambda.value / (1e-12 * 0.05 * 0.05)).toBeCloseTo(1, 10);
    else throw new Error('expected a constant factored damping');
    const lm = withVanishingDamping(example('hessian_free'));
    expect(lm.damping._tag === 'levenberg_marquardt' && lm.damping.initial).toBe(1e-6);
  });

  it('with the damping as written, exact natural gradient is visibly not invariant (the damping term)', () => {
    const ng = example('natural_gradient');
    const c = { model: { shape: { inputDim: 3, hidden: [], activations: ['tanh', 'tanh'], outputDim: 2, likelihood: 'gaussian' }, n: 12, dataSeed: 5, paramSeed: 6 }, family: 'layer-affine', transformSeed: 9, lossScale: 1 } as const;
    const vanishing = measureInvariance(ng, c as never);
    const asWritten = measureInvariance({ ...ng, damping: { _tag: 'tikhonov', lambda: { _tag: 'constant', value: 1 } } }, c as never, { damping: 'as-written' });
    expect(vanishing.gap).toBeLessThan(1e-2);
    expect(asWritten.gap).toBeGreaterThan(10 * vanishing.gap);
  });

  it('a spec the engine cannot run is reported, not scored', () => {
    // every example runs now; a spec whose every step fails: the square root of an indefinite Hessian
    const newton = planOrThrow(planText('optimizer newton {\n  curvature = full(hessian) ^ 0.5\n  damping   = none\n}\n'));
    const r = checkProperty(reparametrizationInvariance(newton, 'elementwise'), { numRuns: 1, seed: 1 });
    expect(r.holds).toBe(false);
    expect(r.error).toMatch(/fractional power 0.5 is undefined/);
  });
});
