import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import { checkText } from '../../src/language/index.js';
import { plan } from '../../src/optim/plan.js';
import { estimateCost } from '../../src/optim/cost.js';
import type { ModelDef } from '../../src/model/types.js';

const mlp: ModelDef = {
  inputDim: 4,
  layers: [
    { kind: 'dense', inDim: 4, outDim: 3 },
    { kind: 'activation', fn: 'tanh' },
    { kind: 'dense', inDim: 3, outDim: 2 },
  ],
  likelihood: 'categorical',
};
const P = 4 * 3 + 3 + 3 * 2 + 2;
const W = 4 * 3 + 3 * 2;

function planOf(text: string) {
  const checked = checkText('cost.optim', text);
  if (E.isLeft(checked.specs)) throw new Error(JSON.stringify(checked.specs.left));
  const p = plan(checked.specs.right[0]!.optimizers[0]!);
  if (E.isLeft(p)) throw new Error(p.left.message);
  return p.right;
}

describe('cost model', () => {
  it('SGD: one forward (2NW) and one backward (4NW) pass, and the parameters alone in memory', () => {
    const c = estimateCost(planOf('optimizer sgd { step = lr(0.1) }'), mlp, 8);
    expect(c.numParams).toBe(P);
    expect(c.flops[0]!.flops).toBe(6 * 8 * W);
    expect(c.memory).toBe(P);
    expect(c.flopsPerStep).toBe(c.flops.reduce((t, f) => t + f.flops, 0));
  });

  it('K-FAC: factor storage Σ 2(nA² + nG²) (factors and inverses), refresh amortized over its cadence', () => {
    const text = (every: number) =>
      `optimizer k { curvature = kfac(fisher(sampled: 1)) refresh = every(${every}) damping = factored(1e-3) step = lr(0.1) }`;
    const once = estimateCost(planOf(text(1)), mlp, 8);
    const ten = estimateCost(planOf(text(10)), mlp, 8);
    const storage = 2 * (5 * 5 + 3 * 3) + 2 * (4 * 4 + 2 * 2);
    expect(once.memoryItems.find((m) => m.what.startsWith('curvature'))?.numbers).toBe(storage);
    const refresh = (c: typeof once) => c.flops.find((f) => f.what.startsWith('inverse'))!.flops;
    expect(refresh(ten)).toBeCloseTo(refresh(once) / 10, 9);
    // Factored damping inverts the factors (n³ each); exact damping eigendecomposes them (9n³).
    const exact = estimateCost(planOf(text(1).replace('factored(1e-3)', 'tikhonov(1e-3)')), mlp, 8);
    expect(refresh(exact)).toBeCloseTo(9 * refresh(once), 6);
  });

  it('a momentum vector costs one parameter vector of memory', () => {
    const c = estimateCost(planOf('optimizer m { step = lr(0.1) momentum = heavy_ball(0.9) }'), mlp, 8);
    expect(c.memory).toBe(2 * P);
  });
});
