import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as C from '../../src/curvature/index.js';
import * as M from '../../src/model/index.js';
import { expectClose, matVec, noLeak, oracle, randomVector, smallProblem, type Oracle, type Problem } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const heads = ['categorical', 'gaussian', 'bernoulli'] as const;

describe.each(heads)('matrix-free atoms equal their dense oracles (%s head)', (head) => {
  let p: Problem;
  let o: Oracle;
  beforeAll(() => {
    p = smallProblem(head, head.length * 7 + 1);
    o = oracle(p);
    p.ctx.forward();
    p.ctx.gradient();
  });

  const cases: [string, (ctx: C.CurvatureContext) => C.Op, (o: Oracle) => Float64Array][] = [
    ['fisher(exact)', C.fisherExact, (o) => o.ggn],
    ['ggn', C.ggn, (o) => o.ggn],
    ['empirical_fisher', C.empiricalFisher, (o) => o.ef],
    ['gradient_covariance(centered)', (c) => C.gradientCovariance(c, true), (o) => o.cov],
    ['gradient_covariance(uncentered)', (c) => C.gradientCovariance(c, false), (o) => o.ef],
    ['outer(gradient)', C.outerGradient, (o) => o.outer],
  ];
  it.each(cases)('%s: mv and toDense', (_name, make, dense) => {
    noLeak(() => {
      const op = make(p.ctx);
      const v = randomVector(p.def, 3);
      const y = op.mv(v.params);
      expectClose(M.toFloat64(y), matVec(dense(o), v.host), 2e-4, 'mv');
      expectClose(op.toDense(), dense(o), 2e-4, 'toDense');
      tf.dispose([...y, ...v.params]);
      op.dispose();
    });
  });

  it('solve satisfies (C + λI) x = v for the matrix-free ggn (cg)', () => {
    noLeak(() => {
      const op = C.ggn(p.ctx);
      const v = randomVector(p.def, 4);
      const { x, report } = op.solve(v.params, 0.1, { cg: { maxIters: 200, tol: 1e-6 } });
      expect(report.solver).toBe('cg');
      const xh = M.toFloat64(x);
      const back = matVec(o.ggn, xh).map((t, i) => t + 0.1 * xh[i]!);
      expectClose(back, v.host, 1e-3, 'residual');
      tf.dispose([...x, ...v.params]);
      op.dispose();
    });
  });
});

describe('fisher(sampled: k) converges to fisher(exact)', () => {
  it('the relative error shrinks like 1/√k (fixed seed)', () => {
    const p = smallProblem('categorical', 11, { inp: 3, hidden: 4, out: 3, n: 6 });
    const o = oracle(p);
    const norm = (a: Float64Array) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));
    const errs = [1, 16, 256].map((k) => {
      const op = C.fisherSampled(p.ctx, k);
      const D = op.toDense();
      op.dispose();
      return norm(D.map((x, i) => x - o.ggn[i]!)) / norm(o.ggn);
    });
    // Monte-Carlo error ~ c/√k: from k = 1 to 256 it must fall by far more than noise would allow
    // if sampling were biased; a bound at 4× the 1/√k rate leaves room for the fixed seed's luck.
    expect(errs[2]!).toBeLessThan(0.25);
    expect(errs[2]!).toBeLessThan((4 * errs[0]!) / 16);
    expect(errs[1]!).toBeLessThan(4 * errs[0]! / 4);
    p.dispose();
  });
});

describe('hessian atom', () => {
  it('equals the finite-difference Jacobian of the gradient (float64 oracle on the host)', () => {
    const p = smallProblem('bernoulli', 5);
    const op = C.hessian(p.ctx);
    const H = op.toDense();
    op.dispose();
    // symmetric and consistent with the GGN on a model where the residual term is not zero
    const P = Math.sqrt(H.length);
    let asym = 0;
    for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) asym = Math.max(asym, Math.abs(H[i * P + j]! - H[j * P + i]!));
    expect(asym).toBeLessThan(1e-4);
    // central differences of the gradient, in float32 with a moderate step
    const h = 1e-2;
    const base = M.toFloat64(p.params);
    const gradAt = (theta: Float64Array) => {
      const ps = M.fromFloat64(p.def, theta);
      const lg = M.lossAndGradient(p.def, ps, p.batch);
      const g = M.toFloat64(lg.gradient);
      tf.dispose([...ps, lg.loss, ...lg.gradient, lg.forward.output, ...lg.forward.inputs, ...lg.forward.denseInputs, ...lg.forward.denseOutputs, ...lg.backward.grads, ...lg.backward.denseOutputGrads]);
      return g;
    };
    const fd = new Float64Array(P * P);
    for (let j = 0; j < P; j++) {
      const tp = Float64Array.from(base);
      const tm = Float64Array.from(base);
      tp[j] = tp[j]! + h;
      tm[j] = tm[j]! - h;
      const gp = gradAt(tp);
      const gm = gradAt(tm);
      for (let i = 0; i < P; i++) fd[i * P + j] = (gp[i]! - gm[i]!) / (2 * h);
    }
    expectClose(H, fd, 5e-3, 'hessian vs finite differences');
    p.dispose();
  });
});

describe('cotangent-only backprop used for curvature statistics', () => {
  it("M.preActivationGradients equals the model's backward denseOutputGrads (every activation, a fixed linear layer)", async () => {
    const { problemFor, kfacDense } = await import('./helpers.js');
    const def: M.ModelDef = {
      inputDim: 3,
      layers: [
        { kind: 'dense', inDim: 3, outDim: 4 },
        { kind: 'activation', fn: 'sigmoid' },
        { kind: 'fixed_linear', matrix: [[1, 0.5], [0, 1], [-1, 2], [0.3, 0.3]], offset: [0.1, -0.2] },
        { kind: 'dense', inDim: 2, outDim: 3 },
        { kind: 'activation', fn: 'softplus' },
        { kind: 'dense', inDim: 3, outDim: 3 },
        { kind: 'activation', fn: 'relu' },
        { kind: 'dense', inDim: 3, outDim: 2 },
      ],
      likelihood: 'bernoulli',
    };
    const p = problemFor(def, 21, 7);
    const fp = p.ctx.forward();
    const u = M.outputGradient(def.likelihood, fp.output, p.batch.y);
    const before = tf.memory().numTensors;
    const mine = M.preActivationGradients(def, p.params, fp, u);
    expect(tf.memory().numTensors - before, 'only the returned tensors are new').toBe(mine.length);
    const bp = M.backward(def, p.params, fp, u);
    mine.forEach((g, l) => expect(Array.from(g.dataSync())).toEqual(Array.from(bp.denseOutputGrads[l]!.dataSync())));
    tf.dispose([u, ...mine, ...bp.grads, ...bp.denseOutputGrads]);
    // and K-FAC on this model still equals its dense oracle
    const o = oracle(p);
    for (const bias of ['separate', 'homogeneous'] as const) {
      const op = C.structured({ name: 'kfac', bias }, { name: 'empirical_fisher' }, p.ctx);
      expectClose(op.toDense(), kfacDense(o, bias, 'empirical'), 2e-4, `kfac ${bias}`);
      op.dispose();
    }
    p.dispose();
  });
});
