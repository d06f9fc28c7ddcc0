/**
 * Every property of geodesic/testing against the example specs (through the real front end), with
 * the predicted outcome asserted — including the predicted failures, found and shrunk by fast-check.
 */
import * as tf from '@tensorflow/tfjs';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkProperty,
  descentDirection,
  empiricalFisherCounterexample,
  fisherEqualsGGN,
  klStep,
  largeDampingLimit,
  planFile,
  planOrThrow,
  planText,
  psd,
  reducesTo,
  solverLaws,
  expectNoLeak,
  arbPlan,
  arbModelCase,
  FAMILIES,
  predictInvariance,
  measureDescent,
  averagingRule,
  referenceAverages,
  AVERAGING_TOLERANCE,
} from '../../src/testing/index.js';

const RUNS = Number(process.env.GEODESIC_THEORY_RUNS ?? 4);
const SEED = 7;
const example = (name: string, opt?: string) => planOrThrow(planFile(`examples/${name}.optim`), opt);
const inline = (text: string) => planOrThrow(planText(text));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('klStep: ½ΔᵀFΔ = ε and KL = ε(1 + O(√ε)) at ε = 1e-5, 1e-4, 1e-3', () => {
  it('natural_gradient.optim (kl(ε) step) holds', () => {
    const r = expectNoLeak(() => checkProperty(klStep(example('natural_gradient')), { numRuns: RUNS, seed: SEED }));
    expect(r.holds, r.report).toBe(true);
    expect(r.worst).toBeLessThanOrEqual(1);
  });
  it('is refused for a spec whose step is not kl(ε)', () => {
    const r = checkProperty(klStep(example('sgd')), { numRuns: 1, seed: SEED });
    expect(r.holds).toBe(false);
    expect(r.error).toMatch(/step = kl/);
  });
});

describe('klStep measures the step, not the averaged parameters (issue 17)', () => {
  it('a kl(ε) spec with averaging = ema(decay: 0.9) holds (the average moves by only 0.1·Δ: KL ≈ 0.01·ε)', () => {
    const ema = inline('optimizer ema { curvature = full(fisher(exact))\n damping = tikhonov(1e-4)\n solver = cholesky\n step = kl(epsilon: 1e-3)\n averaging = ema(decay: 0.9) }');
    const r = checkProperty(klStep(ema), { numRuns: RUNS, seed: SEED });
    expect(r.holds, r.report).toBe(true);
  });
});

describe('averagingRule: the evaluated parameters are the average the rule names', () => {
  it('polyak.optim (from clamped into the run) and an ema(decay: 0.9) spec hold', () => {
    for (const plan of [example('polyak'), inline('optimizer e { step = lr(0.1)\n averaging = ema(decay: 0.9) }')]) {
      const r = expectNoLeak(() => checkProperty(averagingRule(plan), { numRuns: RUNS, seed: SEED }));
      expect(r.holds, r.report).toBe(true);
      expect(r.worst).toBeLessThan(AVERAGING_TOLERANCE);
    }
  });
  it('a false claim fails with a counterexample: the EMA spec checked as polyak(from: 1), and sgd as ema', () => {
    const emaPlan = inline('optimizer e { step = lr(0.1)\n averaging = ema(decay: 0.9) }');
    const a = checkProperty(averagingRule(emaPlan, { claimed: { _tag: 'polyak', from: 1 } }), { numRuns: RUNS, seed: SEED });
    expect(a.holds).toBe(false);
    expect(a.report).toMatch(/checked against polyak\(from: 1\)/);
    const b = checkProperty(averagingRule(example('sgd'), { claimed: { _tag: 'ema', decay: 0.5 } }), { numRuns: RUNS, seed: SEED });
    expect(b.holds).toBe(false);
  });
  it('referenceAverages follows the rules by hand', () => {
    const its = [[0], [1], [2], [3]];
    expect(referenceAverages({ _tag: 'polyak', from: 2 }, its).map((v) => v[0])).toEqual([0, 1, 2, 2.5]);
    expect(referenceAverages({ _tag: 'ema', decay: 0.5 }, its).map((v) => v[0])).toEqual([0, 0.5, 1.25, 2.125]);
    expect(referenceAverages({ _tag: 'none' }, its).map((v) => v[0])).toEqual([0, 1, 2, 3]);
  });
});

describe('fisherEqualsGGN: the Fisher by label enumeration equals the engine GGN', () => {
  for (const lik of ['categorical', 'gaussian', 'bernoulli'] as const) {
    it(lik, () => {
      const r = expectNoLeak(() => checkProperty(fisherEqualsGGN(lik), { numRuns: RUNS, seed: SEED }));
      expect(r.holds, r.report).toBe(true);
      expect(r.worst).toBeLessThan(1e-4);
    });
  }
  it('empirical_fisher ≠ fisher: a counterexample is found and shrunk', () => {
    const p = empiricalFisherCounterexample();
    const r = checkProperty(p, { numRuns: RUNS + 4, seed: SEED });
    expect(r.holds).toBe(false);
    expect(r.error).toBeUndefined();
    expect(r.counterexampleMeasure!.relativeGap).toBeGreaterThan(0.1);
    // shrunk towards the smallest model
    expect(r.counterexample!.shape.hidden.length).toBe(0);
    expect(r.counterexample!.shape.inputDim).toBe(2);
  });
});

describe('descentDirection: gᵀ(C + λI)⁻¹g > 0 for SPD metrics', () => {
  for (const name of ['natural_gradient', 'natural_gradient_cg', 'diagonal_fisher', 'hessian_free', 'tonga', 'sgd']) {
    it(`${name}.optim holds`, () => {
      const r = checkProperty(descentDirection(example(name)), { numRuns: RUNS, seed: SEED });
      expect(r.holds, r.report).toBe(true);
      expect(r.best).toBeGreaterThan(0);
    });
  }
  it('an undamped Hessian step fails (indefinite away from a minimum): found and shrunk', () => {
    const newton = inline('optimizer newton { curvature = full(hessian)\n damping = tikhonov(1e-6)\n solver = eigen\n step = lr(1) }');
    const r = checkProperty(descentDirection(newton, { shape: { maxHidden: 1, likelihoods: ['bernoulli'] } }), { numRuns: 30, seed: SEED });
    expect(r.holds, 'a Hessian step should fail descent somewhere').toBe(false);
    expect(r.counterexampleMeasure!.cosine).toBeLessThanOrEqual(0);
    expect(r.counterexample!.shape.hidden.length).toBe(1);
  });
});

describe('psd(curvature)', () => {
  it('fisher(exact) and ggn are PSD', () => {
    for (const name of ['fisher', 'ggn'] as const) {
      const r = checkProperty(psd({ _tag: 'Atom', name, args: name === 'fisher' ? { sampled: 0 } : {} }), { numRuns: RUNS, seed: SEED });
      expect(r.holds, r.report).toBe(true);
    }
  });
  it('hessian is not PSD on some model: found and shrunk', () => {
    const r = checkProperty(psd({ _tag: 'Atom', name: 'hessian', args: {} }, { shape: { maxHidden: 1, likelihoods: ['gaussian'] } }), { numRuns: 40, seed: SEED });
    expect(r.holds).toBe(false);
    expect(r.counterexampleMeasure!.minOverMax).toBeLessThan(-1e-5);
  });
});

describe('reducesTo', () => {
  it('identity curvature (preconditioned, no damping) is SGD with the same η', () => {
    const id = inline('optimizer plain { curvature = identity\n damping = tikhonov(0)\n solver = cholesky\n step = lr(0.01) }');
    const r = checkProperty(reducesTo(id, example('sgd')), { numRuns: RUNS, seed: SEED });
    expect(r.holds, r.report).toBe(true);
  });
  it('damping → ∞: diagonal_fisher with tikhonov(1e6) is SGD with η/1e6 (and with 1e-2 it is not)', () => {
    const big = largeDampingLimit(example('diagonal_fisher'), 1e6);
    expect(checkProperty(reducesTo(big.damped, big.sgd), { numRuns: RUNS, seed: SEED }).holds).toBe(true);
    const small = largeDampingLimit(example('diagonal_fisher'), 1e-2);
    const r = checkProperty(reducesTo(small.damped, small.sgd), { numRuns: RUNS, seed: SEED });
    expect(r.holds).toBe(false);
    expect(r.counterexampleMeasure!.relativeDifference).toBeGreaterThan(1e-2);
  });
  const kfacText = 'optimizer k { curvature = kfac(fisher(exact), bias: "homogeneous")\n damping = tikhonov(1e-3)\n solver = kronecker\n step = lr(0.1) }';
  const fullText = 'optimizer f { curvature = full(fisher(exact))\n damping = tikhonov(1e-3)\n solver = cholesky\n step = lr(0.1) }';
  it('kfac on a single linear layer with a gaussian head is exact natural gradient', () => {
    const r = checkProperty(reducesTo(inline(kfacText), inline(fullText), { shape: { maxHidden: 0, likelihoods: ['gaussian'] } }), { numRuns: RUNS, seed: SEED });
    expect(r.holds, r.report).toBe(true);
  });
  it('…but not with a hidden layer and a categorical head (found and shrunk)', () => {
    const r = checkProperty(reducesTo(inline(kfacText), inline(fullText), { shape: { maxHidden: 1, likelihoods: ['categorical'] } }), { numRuns: RUNS + 4, seed: SEED });
    expect(r.holds).toBe(false);
    expect(r.counterexampleMeasure!.relativeDifference).toBeGreaterThan(1e-3);
  });
});

describe('solverLaws', () => {
  it('dense Cholesky and eigen solves: backward error ≤ 1e-10, linear in v', () => {
    const r = checkProperty(solverLaws(5), { numRuns: 50, seed: SEED });
    expect(r.holds, r.report).toBe(true);
    expect(r.worst).toBeLessThan(1e-10);
  });
});

describe('generated specs (arbPlan: valid spec text → check → plan)', () => {
  it('every generated spec checks and plans, and the predictor decides every family', () => {
    fc.assert(
      fc.property(arbPlan, (plan) => {
        for (const f of FAMILIES) {
          const p = predictInvariance(plan, f);
          if (p.reason.length === 0) return false;
        }
        return true;
      }),
      { numRuns: 60, seed: SEED },
    );
  });
  it('descent holds for generated specs with SPD metrics (damped fisher/ggn/empirical-fisher structures)', () => {
    const spd = arbPlan.filter((p) => p.preconditioned && p.damping._tag === 'tikhonov');
    fc.assert(
      fc.property(spd, arbModelCase({ maxHidden: 0 }), (plan, c) => measureDescent(plan, c).cosine > 0),
      { numRuns: Math.min(RUNS * 5, 40), seed: SEED },
    );
  });
});
