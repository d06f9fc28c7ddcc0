import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as C from '../../src/curvature/index.js';
import type { CurvatureExpr } from '../../src/curvature/index.js';
import * as M from '../../src/model/index.js';
import { expectClose, kron, matVec, problemFor, randomVector, smallProblem, type Problem } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const atom = (name: string, args: Record<string, unknown> = {}): CurvatureExpr => ({ _tag: 'Atom', name, args });
const structure = (name: string, of: CurvatureExpr, args: Record<string, unknown> = {}): CurvatureExpr => ({ _tag: 'Structure', name, of, args });
const transform = (name: string, of: CurvatureExpr, args: Record<string, unknown> = {}): CurvatureExpr => ({ _tag: 'Transform', name, of, args });
const sum = (...terms: CurvatureExpr[]): CurvatureExpr => ({ _tag: 'Sum', terms });
const scale = (factor: number, of: CurvatureExpr): CurvatureExpr => ({ _tag: 'Scale', factor, of });
const outerG = atom('outer', { of: 'gradient' });

/** A sequence of problems on the same model: same batch, parameters moving along a fixed direction. */
function trajectory(base: Problem, steps: number): Problem[] {
  const theta = M.toFloat64(base.params);
  const dir = randomVector(base.def, 99).host;
  return Array.from({ length: steps }, (_, t) => {
    const params = M.fromFloat64(base.def, theta.map((v, i) => v + 0.05 * (t + 1) * dir[i]! + 0.01 * Math.sin(7 * i * (t + 1))));
    const ctx = C.createContext(base.def, params, base.batch, { seed: 5 + t, step: t });
    return { def: base.def, params, batch: base.batch, ctx, dispose: () => (ctx.dispose(), tf.dispose([...params])) };
  });
}

const bits = (ts: M.Params) => ts.map((t) => Array.from(t.dataSync()));

describe('bit-compatibility of the diagonal running averages with tfjs optimizers', () => {
  let base: Problem;
  let steps: Problem[];
  beforeAll(() => {
    base = smallProblem('categorical', 3);
    steps = trajectory(base, 4);
  });
  afterAll(() => {
    steps.forEach((s) => s.dispose());
    base.dispose();
  });

  it('Adam: diag(outer(gradient)) |> ema(0.999, debias) |> sqrt, solved with λ = ε', () => {
    const beta = 0.999;
    const eps = 1e-8;
    const est = C.createEstimator(transform('sqrt', transform('ema', structure('diag', outerG), { decay: beta, debias: true })), base.def);
    let s = est.init(base.params);
    let v = base.params.map((p) => tf.zerosLike(p));
    let acc = tf.scalar(beta); // tfjs: accBeta2 = scalar(beta2), multiplied after each step
    for (const p of steps) {
      s = est.update(s, p.ctx);
      const g = p.ctx.gradient();
      const m = g; // any vector: the solve is what Adam divides the first moment by
      const { x } = est.operator(s).solve(m, eps);
      // tfjs adam_optimizer.ts, step by step
      const expected = tf.tidy(() => {
        const oneMinusAcc = tf.sub(1, acc);
        const nv = v.map((vi, i) => tf.add(tf.mul(vi, beta), tf.mul(tf.square(g[i]!), 1 - beta)));
        const out = nv.map((vi, i) => tf.div(m[i]!, tf.add(tf.sqrt(tf.div(vi, oneMinusAcc)), eps)));
        return { nv, out };
      });
      expect(bits(x)).toEqual(bits(expected.out));
      tf.dispose([...v, ...x, ...expected.out]);
      v = expected.nv;
      const nacc = tf.mul(acc, beta) as tf.Scalar;
      acc.dispose();
      acc = nacc;
    }
    est.dispose(s);
    tf.dispose([...v, acc]);
  });

  it('RMSProp: (diag(outer(gradient)) |> ema(0.9) + ε·identity) |> sqrt, solved with λ = 0', () => {
    const decay = 0.9;
    const eps = 1e-7;
    const expr = transform('sqrt', sum(transform('ema', structure('diag', outerG), { decay }), scale(eps, atom('identity'))));
    const est = C.createEstimator(expr, base.def);
    let s = est.init(base.params);
    let ms = base.params.map((p) => tf.zerosLike(p));
    for (const p of steps) {
      s = est.update(s, p.ctx);
      const g = p.ctx.gradient();
      const { x } = est.operator(s).solve(g, 0);
      // tfjs rmsprop_optimizer.ts (not centered): ms ← ms·decay + g²(1 − decay); g / sqrt(ms + ε)
      const expected = tf.tidy(() => {
        const nms = ms.map((vi, i) => tf.add(tf.mul(vi, decay), tf.mul(tf.square(g[i]!), 1 - decay)));
        return { nms, out: nms.map((vi, i) => tf.div(g[i]!, tf.add(tf.sqrt(tf.add(vi, eps)), 0))) };
      });
      expect(bits(x)).toEqual(bits(expected.out));
      tf.dispose([...ms, ...x, ...expected.out]);
      ms = expected.nms;
    }
    est.dispose(s);
    tf.dispose([...ms]);
  });

  it('Adagrad: (diag(outer(gradient)) |> sum(init: 0.1) + ε·identity) |> sqrt', () => {
    const eps = 1e-7;
    const expr = transform('sqrt', sum(transform('sum', structure('diag', outerG), { init: 0.1 }), scale(eps, atom('identity'))));
    const est = C.createEstimator(expr, base.def);
    let s = est.init(base.params);
    let accum = base.params.map((p) => tf.fill(p.shape, 0.1));
    for (const p of steps) {
      s = est.update(s, p.ctx);
      const g = p.ctx.gradient();
      const { x } = est.operator(s).solve(g, 0);
      const expected = tf.tidy(() => {
        const na = accum.map((a, i) => tf.add(a, tf.square(g[i]!)));
        return { na, out: na.map((a, i) => tf.div(g[i]!, tf.add(tf.sqrt(tf.add(a, eps)), 0))) };
      });
      expect(bits(x)).toEqual(bits(expected.out));
      tf.dispose([...accum, ...x, ...expected.out]);
      accum = expected.na;
    }
    est.dispose(s);
    tf.dispose([...accum]);
  });
});

describe('running averages of structured estimates', () => {
  let base: Problem;
  let steps: Problem[];
  beforeAll(() => {
    base = problemFor(
      { inputDim: 3, layers: [{ kind: 'dense', inDim: 3, outDim: 4 }, { kind: 'activation', fn: 'tanh' }, { kind: 'dense', inDim: 4, outDim: 2 }], likelihood: 'gaussian' },
      8,
      20,
    );
    steps = trajectory(base, 3);
    // contexts memoize their forward pass and gradient: compute them before counting tensors
    steps.forEach((p) => (p.ctx.forward(), p.ctx.gradient()));
  });
  afterAll(() => {
    steps.forEach((s) => s.dispose());
    base.dispose();
  });

  it('kfac |> ema(decay, debias): factors are the closed-form debiased averages Σ (1−β)β^(t−i) Fᵢ / (1 − βᵗ)', () => {
    const beta = 0.8;
    const est = C.createEstimator(transform('ema', structure('kfac', atom('fisher', { exact: true }), { bias: 'separate' }), { decay: beta, debias: true }), base.def);
    const before = tf.memory().numTensors;
    let s = est.init(base.params);
    steps.forEach((p) => (s = est.update(s, p.ctx)));
    const t = steps.length;
    const fs = steps.map((p) => C.kfacFactors(p.ctx, { bias: 'separate', source: 'exact' }));
    const avg = (pick: (f: C.KfacFactors) => Float64Array) =>
      pick(fs[0]!).map((_, k) => fs.reduce((acc, f, i) => acc + (1 - beta) * beta ** (t - 1 - i) * pick(f)[k]!, 0) / (1 - beta ** t));
    const D = est.operator(s).toDense();
    const P = Math.sqrt(D.length);
    let off = 0;
    fs[0]!.layers.forEach((l, li) => {
      const A = avg((f) => f.layers[li]!.A);
      const G = avg((f) => f.layers[li]!.G);
      const KW = kron(A, l.nA, G, l.nG);
      const nW = l.nA * l.nG;
      for (let i = 0; i < nW; i++) for (let j = 0; j < nW; j++) expect(Math.abs(D[(off + i) * P + off + j]! - KW[i * nW + j]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(KW[i * nW + j]!)));
      for (let i = 0; i < l.nG; i++) for (let j = 0; j < l.nG; j++) expect(Math.abs(D[(off + nW + i) * P + off + nW + j]! - G[i * l.nG + j]!)).toBeLessThan(1e-5);
      off += nW + l.nG;
    });
    s = est.refresh(s, 0.1);
    const v = randomVector(base.def, 2);
    const { x } = est.operator(s).solve(v.params, 0.1);
    const xh = M.toFloat64(x);
    expectClose(matVec(D, xh).map((y, i) => y + 0.1 * xh[i]!), v.host, 1e-3, 'solve after refresh');
    tf.dispose([...x, ...v.params]);
    est.dispose(s);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('kfac(homogeneous) |> ema(decay, debias): the backend-resident factors (Ā with its border) equal the closed-form averages', () => {
    const beta = 0.7;
    const est = C.createEstimator(transform('ema', structure('kfac', atom('empirical_fisher'), { bias: 'homogeneous' }), { decay: beta, debias: true }), base.def);
    const before = tf.memory().numTensors;
    let s = est.init(base.params);
    steps.forEach((p) => (s = est.update(s, p.ctx)));
    const t = steps.length;
    const fs = steps.map((p) => C.kfacFactors(p.ctx, { bias: 'homogeneous', source: 'empirical' }));
    const avg = (pick: (f: C.KfacFactors) => Float64Array) =>
      pick(fs[0]!).map((_, k) => fs.reduce((acc, f, i) => acc + (1 - beta) * beta ** (t - 1 - i) * pick(f)[k]!, 0) / (1 - beta ** t));
    const D = est.operator(s).toDense();
    const P = Math.sqrt(D.length);
    let off = 0;
    fs[0]!.layers.forEach((l, li) => {
      const A = avg((f) => f.layers[li]!.A);
      expect(A[l.nA * l.nA - 1]).toBeCloseTo(1, 6); // the corner of Ā stays 1 under a debiased average
      const KW = kron(A, l.nA, avg((f) => f.layers[li]!.G), l.nG);
      const nW = l.nA * l.nG; // [W; b] jointly
      for (let i = 0; i < nW; i++) for (let j = 0; j < nW; j++) expect(Math.abs(D[(off + i) * P + off + j]! - KW[i * nW + j]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(KW[i * nW + j]!)));
      off += nW;
    });
    est.dispose(s);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('ekfac |> ema: after a refresh the scaling is re-expressed in the new eigenbasis (same matrix diagonal in that basis)', () => {
    const est = C.createEstimator(transform('ema', structure('ekfac', atom('empirical_fisher'), { bias: 'homogeneous' }), { decay: 0.5, debias: true }), base.def);
    const before = tf.memory().numTensors;
    let s = est.init(base.params);
    steps.forEach((p) => (s = est.update(s, p.ctx)));
    const D1 = est.operator(s).toDense();
    s = est.refresh(s, 0);
    const D2 = est.operator(s).toDense();
    const P = Math.sqrt(D1.length);
    // same trace (the rebasing keeps the diagonal-in-basis sum) and symmetric PSD-ish
    const tr = (D: Float64Array) => Array.from({ length: P }, (_, i) => D[i * P + i]!).reduce((a, b) => a + b, 0);
    expect(Math.abs(tr(D1) - tr(D2)) / tr(D1)).toBeLessThan(1e-4);
    for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) expect(Math.abs(D2[i * P + j]! - D2[j * P + i]!)).toBeLessThan(1e-5);
    // a single-step ekfac estimator equals the one-context operator
    const one = C.createEstimator(structure('ekfac', atom('empirical_fisher'), { bias: 'homogeneous' }), base.def);
    let s1 = one.init(base.params);
    s1 = one.update(s1, steps[0]!.ctx);
    const direct = C.structured({ name: 'ekfac', bias: 'homogeneous' }, { name: 'empirical_fisher' }, steps[0]!.ctx);
    expectClose(one.operator(s1).toDense(), direct.toDense(), 1e-5, 'estimator vs direct');
    direct.dispose();
    one.dispose(s1);
    est.dispose(s);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('lbfgs(memory): secant condition B sₖ = yₖ, two-loop solve = B⁻¹, damped solve by cg', () => {
    const est = C.createEstimator(atom('lbfgs', { memory: 2 }), base.def);
    const before = tf.memory().numTensors;
    let s = est.init(base.params);
    steps.forEach((p) => (s = est.update(s, p.ctx)));
    const op = est.operator(s);
    // newest pair from the last two contexts
    const sK = M.toFloat64(steps[2]!.params).map((v, i) => v - M.toFloat64(steps[1]!.params)[i]!);
    const yK = M.toFloat64(steps[2]!.ctx.gradient()).map((v, i) => v - M.toFloat64(steps[1]!.ctx.gradient())[i]!);
    const B = op.toDense();
    expectClose(matVec(B, sK), yK, 1e-3, 'B s = y');
    const v = randomVector(base.def, 4);
    const r0 = op.solve(v.params, 0);
    expect(r0.report.solver).toBe('lbfgs_two_loop');
    expectClose(matVec(B, M.toFloat64(r0.x)), v.host, 1e-3, 'B · twoLoop(v) = v');
    const r1 = op.solve(v.params, 0.3);
    expect(r1.report.solver).toBe('cg');
    const x1 = M.toFloat64(r1.x);
    expectClose(matVec(B, x1).map((t, i) => t + 0.3 * x1[i]!), v.host, 1e-3, '(B + λI) x = v');
    tf.dispose([...v.params, ...r0.x, ...r1.x]);
    est.dispose(s);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('every expression round-trips init/update/refresh/operator/solve/dispose without leaking', () => {
    const exprs: CurvatureExpr[] = [
      atom('identity'),
      atom('ggn'),
      atom('hessian'),
      atom('fisher', { sampled: 2 }),
      structure('full', atom('empirical_fisher')),
      structure('block_diag', atom('ggn')),
      structure('lowrank', atom('gradient_covariance', { centered: true }), { rank: 3 }),
      transform('sum', structure('diag', atom('fisher', { exact: true })), { init: 1 }),
      { _tag: 'Power', of: transform('ema', structure('kfac', atom('fisher', { sampled: 1 })), { decay: 0.9, debias: true }), exponent: -0.25 },
      sum(scale(0.5, structure('diag', atom('ggn'))), atom('identity')),
    ];
    for (const e of exprs) {
      const est = C.createEstimator(e, base.def);
      steps.forEach((p) => {
        p.ctx.forward();
        p.ctx.gradient();
      });
      const before = tf.memory().numTensors;
      let s = est.init(base.params);
      for (const p of steps) {
        s = est.update(s, p.ctx);
        const lam = e._tag === 'Atom' && e.name === 'hessian' ? 50 : 0.5; // the Hessian is indefinite
        s = est.refresh(s, lam);
        const op = est.operator(s);
        const v = randomVector(base.def, 3);
        const { x } = op.solve(v.params, lam);
        const y = op.mv(v.params);
        expect(M.toFloat64(x).every(Number.isFinite), est.description).toBe(true);
        expect(op.memory()).toBeGreaterThanOrEqual(0);
        expect(op.flops().mv).toBeGreaterThanOrEqual(0);
        tf.dispose([...x, ...y, ...v.params]);
      }
      est.dispose(s);
      expect(tf.memory().numTensors, `leak in ${est.description}`).toBe(before);
    }
  });

  it('clear errors for expressions the engine cannot evaluate', () => {
    expect(() => C.createEstimator(transform('ema', atom('ggn'), { decay: 0.9 }), base.def)).toThrow(/averages structured estimates/);
    expect(() => C.createEstimator(atom('newton'), base.def)).toThrow(/unknown curvature atom 'newton'/);
    expect(() => C.createEstimator(structure('kfac', atom('hessian')), base.def)).not.toThrow();
    const est = C.createEstimator(structure('kfac', atom('hessian')), base.def);
    const s = est.init(base.params);
    expect(() => est.update(s, steps[0]!.ctx)).toThrow(/known only through products/);
    expect(() => est.operator(s)).toThrow(/no estimate yet/);
    est.dispose(s);
    const lr = C.createEstimator({ _tag: 'Power', of: structure('lowrank', atom('empirical_fisher'), { rank: 2 }), exponent: 0.5 }, base.def);
    let s2 = lr.init(base.params);
    s2 = lr.update(s2, steps[0]!.ctx);
    expect(() => lr.operator(s2)).toThrow(C.CurvatureError);
    lr.dispose(s2);
  });
});

describe('refresh cadence', () => {
  it('between refreshes the operator is the last refresh’s (stale); without refreshes it follows the state', () => {
    const base = smallProblem('gaussian', 12, { inp: 3, hidden: 4, out: 2, n: 12 });
    const steps = trajectory(base, 3);
    steps.forEach((p) => (p.ctx.forward(), p.ctx.gradient()));
    const expr = structure('kfac', atom('empirical_fisher'), { bias: 'separate' });
    const direct = steps.map((p) => {
      const op = C.structured({ name: 'kfac', bias: 'separate' }, { name: 'empirical_fisher' }, p.ctx);
      const D = op.toDense();
      op.dispose();
      return D;
    });
    const before = tf.memory().numTensors;
    const est = C.createEstimator(expr, base.def);
    let s = est.init(base.params);
    s = est.update(s, steps[0]!.ctx);
    s = est.refresh(s, 0.1);
    s = est.update(s, steps[1]!.ctx); // no refresh: still step 0's operator
    expectClose(est.operator(s).toDense(), direct[0]!, 1e-6, 'stale between refreshes');
    s = est.refresh(s, 0.1);
    expectClose(est.operator(s).toDense(), direct[1]!, 1e-6, 'current after refresh');
    est.dispose(s);
    // never refreshed: always current
    const est2 = C.createEstimator(expr, base.def);
    let s2 = est2.init(base.params);
    for (let t = 0; t < 3; t++) {
      s2 = est2.update(s2, steps[t]!.ctx);
      expectClose(est2.operator(s2).toDense(), direct[t]!, 1e-6, `current at ${t}`);
    }
    est2.dispose(s2);
    expect(tf.memory().numTensors).toBe(before);
    steps.forEach((p) => p.dispose());
    base.dispose();
  });
});

describe('sum(init) of K-FAC factors', () => {
  it('accumulates factor-wise from √init·I (so the product starts at init·I)', () => {
    const base = smallProblem('gaussian', 13, { inp: 2, hidden: 3, out: 2, n: 8 });
    const steps = trajectory(base, 2);
    const est = C.createEstimator(transform('sum', structure('kfac', atom('empirical_fisher'), { bias: 'homogeneous' }), { init: 4 }), base.def);
    let s = est.init(base.params);
    steps.forEach((p) => (s = est.update(s, p.ctx)));
    const fs = steps.map((p) => C.kfacFactors(p.ctx, { bias: 'homogeneous', source: 'empirical' }));
    const D = est.operator(s).toDense();
    const P = Math.sqrt(D.length);
    let off = 0;
    fs[0]!.layers.forEach((l, li) => {
      const acc = (pick: (f: C.KfacFactors) => Float64Array, n: number) =>
        pick(fs[0]!).map((v, k) => 2 * (k % (n + 1) === 0 ? 1 : 0) + v + pick(fs[1]!)[k]!);
      const K = kron(acc((f) => f.layers[li]!.A, l.nA), l.nA, acc((f) => f.layers[li]!.G, l.nG), l.nG);
      const n = l.nA * l.nG;
      const got = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) got[i * n + j] = D[(off + i) * P + off + j]!;
      expectClose(got, K, 1e-5, `layer ${li}`);
      off += n;
    });
    est.dispose(s);
    steps.forEach((p) => p.dispose());
    base.dispose();
  });
});

describe('curvatureAt (one context, no running state)', () => {
  it('equals the structured operator and frees everything it made', () => {
    const base = smallProblem('bernoulli', 14);
    base.ctx.forward();
    base.ctx.gradient();
    const before = tf.memory().numTensors;
    for (const e of [structure('diag', atom('ggn')), atom('ggn'), sum(atom('ggn'), scale(0.1, atom('identity')))]) {
      const op = C.curvatureAt(e, base.ctx);
      const ref = e._tag === 'Structure' ? C.structured({ name: 'diag' }, { name: 'ggn' }, base.ctx) : C.ggn(base.ctx);
      const R = ref.toDense();
      const shift = e._tag === 'Sum' ? 0.1 : 0;
      const n = Math.sqrt(R.length);
      expectClose(op.toDense(), R.map((v, i) => v + (i % (n + 1) === 0 ? shift : 0)), 1e-5, op.description);
      op.dispose();
      ref.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    base.dispose();
  });
});
