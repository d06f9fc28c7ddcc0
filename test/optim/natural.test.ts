/**
 * Natural-gradient step rules, damping, momentum and averaging, each checked against an
 * independent quantity: the predictive KL of the model before/after the step, the exact loss of a
 * quadratic problem, gradients at the new point, host-side averages.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArgValue, Curvature, OptimizerSpec } from '../../src/language/spec.js';
import type { Batch, ModelDef, Params } from '../../src/model/types.js';
import { disposeParams, forward, ggnVectorProduct, initParams, lossAndGradient, makeRng, meanLoss, predictiveKL } from '../../src/model/index.js';
import { compile, createStepContext, levenbergMarquardtUpdate, type Optimizer, type OptState, type StepMetrics } from '../../src/optim/index.js';
import { atom, comp, host, makeSpec, planOf, smallBatch, smallDef, span } from './helpers.js';

const kfacFisher = (): Curvature => ({ _tag: 'Structure', name: 'kfac', of: atom('fisher', { sampled: 0 }), args: { bias: 'separate' }, span });
const full = (of: Curvature): Curvature => ({ _tag: 'Structure', name: 'full', of, args: {}, span });

/** Linear model 4 → 2 with a gaussian likelihood: the loss is exactly quadratic, GGN = Hessian. */
const linearDef: ModelDef = { inputDim: 4, layers: [{ kind: 'dense', inDim: 4, outDim: 2 }], likelihood: 'gaussian' };
function linearBatch(n: number): Batch {
  const rng = makeRng(21);
  const x = Array.from({ length: n * 4 }, () => rng.normal());
  const y = Array.from({ length: n * 2 }, () => 3 * rng.normal());
  return { x: tf.tensor2d(x, [n, 4]), y: tf.tensor2d(y, [n, 2]) };
}

const lossOf = (def: ModelDef, p: Params, b: Batch): number => {
  const l = tf.tidy(() => meanLoss(def.likelihood, forward(def, p, b.x).output, b.y));
  const v = l.dataSync()[0]!;
  l.dispose();
  return v;
};

/** ½ΔᵀGΔ with G the exact GGN on the batch. */
const halfQuad = (def: ModelDef, p: Params, b: Batch, delta: Params): number => {
  const lg = lossAndGradient(def, p, b);
  const Gd = ggnVectorProduct(def, p, lg.forward, delta);
  const v = tf.tidy(() => tf.addN(delta.map((d, i) => tf.sum(tf.mul(d, Gd[i]!)))).dataSync()[0]!);
  tf.dispose([lg.loss, ...lg.gradient, lg.forward.output, ...lg.forward.inputs, ...lg.forward.denseInputs, ...lg.forward.denseOutputs, ...lg.backward.grads, ...lg.backward.denseOutputGrads, ...Gd]);
  return 0.5 * v;
};

const meanKL = (def: ModelDef, p: Params, q: Params, b: Batch): number => {
  const t = tf.tidy(() => tf.mean(predictiveKL(def.likelihood, forward(def, p, b.x).output, forward(def, q, b.x).output)));
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

const sub = (a: Params, b: Params): Params => a.map((t, i) => tf.sub(t, b[i]!));

/** Runs `steps` steps from `params0` on a fixed batch; returns every iterate and the metrics. */
function run(opt: Optimizer, def: ModelDef, batch: Batch, params0: Params, steps: number): { iterates: Params[]; metrics: StepMetrics[]; state: OptState } {
  let params: Params = params0.map((p) => p.clone());
  let state = opt.init(params);
  const iterates: Params[] = [params.map((p) => p.clone())];
  const metrics: StepMetrics[] = [];
  for (let t = 0; t < steps; t++) {
    const ctx = createStepContext({ def, batch, params, seed: 100 + t, step: t });
    const [next, s, m] = opt.step(ctx, state);
    ctx.dispose();
    disposeParams(params);
    params = next;
    state = s;
    metrics.push(m);
    iterates.push(params.map((p) => p.clone()));
  }
  disposeParams(params);
  return { iterates, metrics, state };
}

const specWith = (o: Partial<OptimizerSpec>) => makeSpec(o);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('KL-measured steps (K-FAC preconditioner, exact Fisher on the batch)', () => {
  it('kl(ε): the step has ½ΔᵀFΔ = ε, and the predictive KL agrees to second order', () => {
    const batch = smallBatch(64, 3);
    const p0 = initParams(smallDef, 4);
    const eps = 1e-4;
    const opt = compile(planOf(specWith({ curvature: kfacFisher(), damping: comp('tikhonov', { lambda: 1e-3 }), step: comp('kl', { epsilon: eps }) })), smallDef);
    const before = tf.memory().numTensors;
    const { iterates, metrics, state } = run(opt, smallDef, batch, p0, 1);
    const delta = sub(iterates[1]!, iterates[0]!);
    expect(halfQuad(smallDef, p0, batch, delta)).toBeCloseTo(eps, 7);
    expect(metrics[0]!.kl).toBeCloseTo(eps, 9);
    const kl = meanKL(smallDef, iterates[0]!, iterates[1]!, batch);
    expect(Math.abs(kl / eps - 1)).toBeLessThan(0.05);
    opt.dispose(state);
    iterates.forEach(disposeParams);
    disposeParams(delta);
    expect(tf.memory().numTensors).toBe(before);
    disposeParams(p0);
    tf.dispose([batch.x, batch.y]);
  });

  it('kl_trust(radius, lr): clipped to ½ΔᵀFΔ = radius when lr is large; untouched (Δ = −lr·p) when small', () => {
    const batch = smallBatch(64, 3);
    const p0 = initParams(smallDef, 4);
    const radius = 1e-3;
    const mk = (lr: number) =>
      compile(planOf(specWith({ curvature: kfacFisher(), damping: comp('tikhonov', { lambda: 1e-3 }), step: comp('kl_trust', { radius, lr }) })), smallDef);
    const big = run(mk(10), smallDef, batch, p0, 1);
    const dBig = sub(big.iterates[1]!, big.iterates[0]!);
    expect(halfQuad(smallDef, p0, batch, dBig)).toBeCloseTo(radius, 6);
    const small = run(mk(1e-3), smallDef, batch, p0, 1);
    const dSmall = sub(small.iterates[1]!, small.iterates[0]!);
    const klSmall = halfQuad(smallDef, p0, batch, dSmall);
    expect(klSmall).toBeLessThan(radius);
    // Unclipped: the same as lr(1e-3) with the same preconditioner.
    const plain = run(
      compile(planOf(specWith({ curvature: kfacFisher(), damping: comp('tikhonov', { lambda: 1e-3 }), step: comp('lr', { eta: 1e-3 }) })), smallDef),
      smallDef,
      batch,
      p0,
      1,
    );
    const dPlain = sub(plain.iterates[1]!, plain.iterates[0]!);
    const [a, b] = [dSmall, dPlain].map((d) => Array.from(tf.concat(d.map((t) => t.flatten())).dataSync()));
    a!.forEach((v, i) => expect(v).toBeCloseTo(b![i]!, 7));
    [big, small, plain].forEach((r) => r.iterates.forEach(disposeParams));
    [dBig, dSmall, dPlain, p0].forEach(disposeParams);
    tf.dispose([batch.x, batch.y]);
  });

  it('kfac + kl_trust + quadratic_model momentum + LM damping: every step has ½ΔᵀFΔ ≤ radius', () => {
    const batch = smallBatch(64, 5);
    const p0 = initParams(smallDef, 6);
    const radius = 1e-3;
    const spec = specWith({
      curvature: { _tag: 'Transform', name: 'ema', of: { _tag: 'Structure', name: 'kfac', of: atom('fisher', { sampled: 1 }), args: { bias: 'separate' }, span }, args: { decay: 0.95, debias: false }, span },
      damping: comp('levenberg_marquardt', { initial: 1, decrease: 2 / 3, increase: 1.5, every: 2 }),
      step: comp('kl_trust', { radius, lr: 1 }),
      momentum: comp('quadratic_model'),
      refresh: comp('every', { n: 3 }),
    });
    const opt = compile(planOf(spec), smallDef);
    const r = run(opt, smallDef, batch, p0, 8);
    for (let t = 0; t < 8; t++) {
      const d = sub(r.iterates[t + 1]!, r.iterates[t]!);
      expect(halfQuad(smallDef, r.iterates[t]!, batch, d)).toBeLessThanOrEqual(radius * (1 + 1e-4));
      disposeParams(d);
    }
    expect(r.metrics.every((m) => m.accepted)).toBe(true);
    expect(r.metrics.at(-1)!.loss).toBeLessThan(r.metrics[0]!.loss);
    expect(r.metrics.some((m) => m.mu !== 0 && m.mu !== undefined)).toBe(true);
    opt.dispose(r.state);
    r.iterates.forEach(disposeParams);
    disposeParams(p0);
    tf.dispose([batch.x, batch.y]);
  });
});

describe('quadratic models on an exactly quadratic loss (linear model, gaussian likelihood)', () => {
  it('quadratic_model step: α minimizes the loss along the direction', () => {
    const batch = linearBatch(32);
    const p0 = initParams(linearDef, 1);
    const opt = compile(planOf(specWith({ curvature: atom('identity'), damping: comp('tikhonov', { lambda: 1e-9 }), step: comp('quadratic_model') })), linearDef);
    const r = run(opt, linearDef, batch, p0, 1);
    const delta = sub(r.iterates[1]!, p0);
    const at = (s: number) => {
      const q = p0.map((t, i) => tf.add(t, tf.mul(delta[i]!, s)));
      const l = lossOf(linearDef, q, batch);
      disposeParams(q);
      return l;
    };
    const l1 = at(1);
    expect(l1).toBeLessThan(at(0));
    expect(l1).toBeLessThan(at(0.95));
    expect(l1).toBeLessThan(at(1.05));
    r.iterates.forEach(disposeParams);
    [delta, p0].forEach(disposeParams);
    tf.dispose([batch.x, batch.y]);
  });

  it('quadratic_model momentum: the new point is stationary along both Δ and the previous update', async () => {
    const batch = linearBatch(32);
    const p0 = initParams(linearDef, 2);
    const opt = compile(planOf(specWith({ curvature: atom('identity'), damping: comp('tikhonov', { lambda: 1e-9 }), step: comp('lr', { eta: 1 }), momentum: comp('quadratic_model') })), linearDef);
    const r = run(opt, linearDef, batch, p0, 3);
    // After step 2: gradient at θ₃ ⟂ previous update (θ₂ − θ₁) and ⟂ the new proposal (−g(θ₂) for identity).
    const prev = sub(r.iterates[2]!, r.iterates[1]!);
    const lg2 = lossAndGradient(linearDef, r.iterates[2]!, batch);
    const lg3 = lossAndGradient(linearDef, r.iterates[3]!, batch);
    const dotH = (a: Params, b: Params) => a.reduce((s, t, i) => s + tf.tidy(() => tf.sum(tf.mul(t, b[i]!)).dataSync()[0]!), 0);
    const norm = (a: Params) => Math.sqrt(dotH(a, a));
    expect(Math.abs(dotH(lg3.gradient, prev)) / (norm(lg3.gradient) * norm(prev))).toBeLessThan(1e-3);
    expect(Math.abs(dotH(lg3.gradient, lg2.gradient)) / (norm(lg3.gradient) * norm(lg2.gradient))).toBeLessThan(1e-3);
    expect(r.metrics[2]!.mu).not.toBe(0);
    r.iterates.forEach(disposeParams);
    tf.dispose([lg2.loss, lg3.loss, ...lg2.gradient, ...lg3.gradient]);
    [prev, p0].forEach(disposeParams);
    tf.dispose([batch.x, batch.y]);
  });

  it('levenberg_marquardt: ρ = 1 on a quadratic (exact model) ⇒ λ decreases; an overshooting step ⇒ λ increases', () => {
    const batch = linearBatch(32);
    const p0 = initParams(linearDef, 3);
    const lm = (eta: number) =>
      compile(
        planOf(specWith({ curvature: full(atom('ggn')), damping: comp('levenberg_marquardt', { initial: 1, decrease: 0.5, increase: 2, every: 1 }), step: comp('lr', { eta }) })),
        linearDef,
      );
    const good = run(lm(1), linearDef, batch, p0, 3);
    for (const m of good.metrics) expect(m.rho!).toBeCloseTo(1, 3);
    expect(good.metrics.map((m) => m.damping)).toEqual([1, 0.5, 0.25]);
    // On the classifier, a huge step increases the loss: ρ < ¼ ⇒ λ·increase.
    const b2 = smallBatch(64, 9);
    const q0 = initParams(smallDef, 9);
    const bad = run(
      compile(planOf(specWith({ curvature: atom('identity'), damping: comp('levenberg_marquardt', { initial: 1, decrease: 0.5, increase: 2, every: 1 }), step: comp('lr', { eta: 500 }) })), smallDef),
      smallDef,
      b2,
      q0,
      2,
    );
    expect(bad.metrics[0]!.rho!).toBeLessThan(0.25);
    expect(bad.metrics[1]!.damping).toBe(2);
    [good, bad].forEach((r) => r.iterates.forEach(disposeParams));
    [p0, q0].forEach(disposeParams);
    tf.dispose([batch.x, batch.y, b2.x, b2.y]);
  });

  it('levenbergMarquardtUpdate follows Martens (2010)', () => {
    const rule = { decrease: 2 / 3, increase: 1.5 };
    expect(levenbergMarquardtUpdate(1, 0.9, rule)).toBeCloseTo(2 / 3, 12);
    expect(levenbergMarquardtUpdate(1, 0.5, rule)).toBe(1);
    expect(levenbergMarquardtUpdate(1, 0.1, rule)).toBe(1.5);
    expect(levenbergMarquardtUpdate(1, -3, rule)).toBe(1.5);
    expect(levenbergMarquardtUpdate(1, NaN, rule)).toBe(1.5);
    expect(levenbergMarquardtUpdate(1, 0.5, { ...rule, lower: 0.6, upper: 0.9 })).toBe(1.5);
  });

  it('line_search(armijo): the accepted step satisfies sufficient decrease', () => {
    const batch = smallBatch(64, 2);
    const p0 = initParams(smallDef, 2);
    const opt = compile(planOf(specWith({ step: comp('line_search', { c1: 0.3, shrink: 0.5, initial: 64, max_iters: 30 }) })), smallDef);
    const r = run(opt, smallDef, batch, p0, 1);
    const lg = lossAndGradient(smallDef, p0, batch);
    const delta = sub(r.iterates[1]!, p0);
    const gd = delta.reduce((s, d, i) => s + tf.tidy(() => tf.sum(tf.mul(d, lg.gradient[i]!)).dataSync()[0]!), 0);
    const l0 = lossOf(smallDef, p0, batch);
    const l1 = lossOf(smallDef, r.iterates[1]!, batch);
    expect(gd).toBeLessThan(0);
    expect(l1).toBeLessThanOrEqual(l0 + 0.3 * gd + 1e-6);
    expect(r.metrics[0]!.lr!).toBeLessThan(64); // it did backtrack from 64
    r.iterates.forEach(disposeParams);
    tf.dispose([lg.loss, ...lg.gradient]);
    [delta, p0].forEach(disposeParams);
    tf.dispose([batch.x, batch.y]);
  });
});

describe('gradient transforms, averaging, damping on failure', () => {
  const flat = async (p: Params) => (await host(p)).flatMap((a) => Array.from(a));

  it('clip(norm): the sgd step has norm min(‖g‖, c)·η; weight_decay adds λθ', async () => {
    const batch = smallBatch(32, 1);
    const p0 = initParams(smallDef, 1);
    const clipRun = run(compile(planOf(specWith({ gradient: [comp('clip', { norm: 0.01 })], step: comp('lr', { eta: 1 }) })), smallDef), smallDef, batch, p0, 1);
    expect(clipRun.metrics[0]!.stepNorm).toBeCloseTo(0.01, 6);
    expect(clipRun.metrics[0]!.gradNorm).toBeGreaterThan(0.01);
    const wd = run(compile(planOf(specWith({ gradient: [comp('weight_decay', { lambda: 0.1 })], step: comp('lr', { eta: 0.5 }) })), smallDef), smallDef, batch, p0, 1);
    const lg = lossAndGradient(smallDef, p0, batch);
    const expected = (await flat(p0)).map((th, i, all) => th - 0.5 * (0 + th * 0.1));
    const g = await flat(lg.gradient);
    const got = await flat(wd.iterates[1]!);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]! - 0.5 * g[i]!, 6));
    [clipRun, wd].forEach((r) => r.iterates.forEach(disposeParams));
    tf.dispose([lg.loss, ...lg.gradient]);
    disposeParams(p0);
    tf.dispose([batch.x, batch.y]);
  });

  it('polyak(from) and ema(decay) average the iterates; evaluationParams returns the average', async () => {
    const batch = smallBatch(32, 1);
    const p0 = initParams(smallDef, 1);
    const polyak = compile(planOf(specWith({ step: comp('lr', { eta: 0.3 }), averaging: comp('polyak', { from: 2 }) })), smallDef);
    const r = run(polyak, smallDef, batch, p0, 5);
    // iterates θ₁..θ₅ are produced by steps 0..4; polyak(from: 2) averages those of steps ≥ 1: θ₂..θ₅.
    const its = await Promise.all(r.iterates.map(flat));
    const mean = its[2]!.map((_, i) => (its[2]![i]! + its[3]![i]! + its[4]![i]! + its[5]![i]!) / 4);
    const avg = polyak.evaluationParams(r.iterates[5]!, r.state);
    (await flat(avg)).forEach((v, i) => expect(v).toBeCloseTo(mean[i]!, 6));
    disposeParams(avg);
    polyak.dispose(r.state);
    const ema = compile(planOf(specWith({ step: comp('lr', { eta: 0.3 }), averaging: comp('ema', { decay: 0.5 }) })), smallDef);
    const e = run(ema, smallDef, batch, p0, 3);
    const ei = await Promise.all(e.iterates.map(flat));
    const expected = ei[0]!.map((_, i) => 0.5 * (0.5 * (0.5 * ei[0]![i]! + 0.5 * ei[1]![i]!) + 0.5 * ei[2]![i]!) + 0.5 * ei[3]![i]!);
    const eavg = ema.evaluationParams(e.iterates[3]!, e.state);
    (await flat(eavg)).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    disposeParams(eavg);
    ema.dispose(e.state);
    [r, e].forEach((x) => x.iterates.forEach(disposeParams));
    disposeParams(p0);
    tf.dispose([batch.x, batch.y]);
  });

  it('a non-finite step under damping is rejected and λ raised ×10', () => {
    // NaN inputs: loss and gradient are NaN; with tikhonov damping the policy raises λ.
    const x = tf.fill([8, 5], NaN) as tf.Tensor2D;
    const y = tf.oneHot(tf.zeros([8], 'int32'), 3).toFloat() as tf.Tensor2D;
    const p0 = initParams(smallDef, 1);
    const opt = compile(planOf(specWith({ curvature: kfacFisher(), damping: comp('tikhonov', { lambda: 1e-2 }), onNonFinite: comp('reject', { max_failures: 2 }) })), smallDef);
    const r = run(opt, smallDef, { x, y }, p0, 3);
    expect(r.metrics.map((m) => m.accepted)).toEqual([false, false, false]);
    expect(r.metrics.map((m) => m.damping)).toEqual([1e-2, 1e-2 * 10, 1e-2 * 100]);
    expect(r.metrics.map((m) => m.stop)).toEqual([false, false, true]);
    opt.dispose(r.state);
    r.iterates.forEach(disposeParams);
    disposeParams(p0);
    tf.dispose([x, y]);
  });
});
