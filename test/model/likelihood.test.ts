import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { tidy } from '../../src/model/tidy.js';
import type { LikelihoodName } from '../../src/model/types.js';
import {
  meanLoss,
  outputGradient,
  outputHessianSqrt,
  outputHessianSqrtFactor,
  outputHessianVp,
  perExampleLoss,
  predictiveKL,
  sampleTargets,
} from '../../src/model/likelihood.js';
import { hostExampleLoss, noLeak, randomVector, relErr } from './host.js';
import { makeRng } from '../../src/model/random.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const names: LikelihoodName[] = ['categorical', 'gaussian', 'bernoulli'];
const N = 3;
const K = 4;

function outputs(seed: number): number[][] {
  const v = randomVector(N * K, seed);
  return Array.from({ length: N }, (_, n) => Array.from({ length: K }, (_, k) => Math.fround(1.5 * v[n * K + k]!)));
}

function targets(name: LikelihoodName, seed: number): number[][] {
  const rng = makeRng(seed);
  return Array.from({ length: N }, () => {
    if (name === 'gaussian') return Array.from({ length: K }, () => Math.fround(rng.normal()));
    if (name === 'bernoulli') return Array.from({ length: K }, () => (rng.next() < 0.5 ? 1 : 0));
    const c = rng.int(K);
    return Array.from({ length: K }, (_, k) => (k === c ? 1 : 0));
  });
}

/** ∂²ℓ/∂f² of the host float64 loss by central second differences. */
function fdOutputHessian(name: LikelihoodName, f: number[], y: number[], h = 1e-4): number[][] {
  const l = (a: number, sa: number, b: number, sb: number) => {
    const g = [...f];
    g[a] += sa * h;
    g[b] += sb * h;
    return hostExampleLoss(name, g, y);
  };
  return f.map((_, a) => f.map((__, b) => (l(a, 1, b, 1) - l(a, 1, b, -1) - l(a, -1, b, 1) + l(a, -1, b, -1)) / (4 * h * h)));
}

describe.each(names)('likelihood %s', (name) => {
  const f = outputs(names.indexOf(name) + 1);
  const y = targets(name, names.indexOf(name) + 11);

  it('per-example and mean loss match the float64 host loss', () => {
    const ft = tf.tensor2d(f);
    const yt = tf.tensor2d(y);
    noLeak(() => {
      const pe = perExampleLoss(name, ft, yt);
      const m = meanLoss(name, ft, yt);
      const host = f.map((r, n) => hostExampleLoss(name, r, y[n]!));
      expect(relErr(pe.dataSync(), host)).toBeLessThan(1e-6);
      expect(Math.abs(m.dataSync()[0]! - host.reduce((a, b) => a + b) / N)).toBeLessThan(1e-5);
      tf.dispose([pe, m]);
    });
    tf.dispose([ft, yt]);
  });

  it('outputGradient equals tf.grad of the summed per-example loss', () => {
    const ft = tf.tensor2d(f);
    const yt = tf.tensor2d(y);
    const auto = tidy(() => tf.grad((o: tf.Tensor) => tf.sum(perExampleLoss(name, o as tf.Tensor2D, yt)))(ft).dataSync());
    noLeak(() => {
      const g = outputGradient(name, ft, yt);
      expect(relErr(g.dataSync(), auto)).toBeLessThan(1e-6);
      g.dispose();
    });
    tf.dispose([ft, yt]);
  });

  it('outputHessianVp and the square-root factor S (S Sᵀ = H) match finite-difference Hessians', () => {
    const ft = tf.tensor2d(f);
    const u = randomVector(N * K, 99);
    const ut = tf.tensor2d(Array.from(u), [N, K]);
    noLeak(() => {
      const hut = outputHessianVp(name, ft, ut);
      const hu = hut.arraySync() as number[][];
      hut.dispose();
      const S = outputHessianSqrt(name, ft);
      expect(S.shape).toEqual([N, K, K]);
      const Sa = S.arraySync() as number[][][];
      const factor = outputHessianSqrtFactor(name, ft);
      const fromFactor = tidy(() =>
        (factor.kind === 'dense' ? factor.s : tf.mul(tf.expandDims(factor.d, 2), tf.expandDims(tf.eye(K), 0))).arraySync() as number[][][],
      );
      tf.dispose(factor.kind === 'dense' ? factor.s : factor.d);
      S.dispose();
      for (let n = 0; n < N; n++) {
        const H = fdOutputHessian(name, f[n]!, y[n]!);
        const Hu = H.map((row) => row.reduce((s, h, b) => s + h * u[n * K + b]!, 0));
        expect(relErr(hu[n]!, Hu)).toBeLessThan(1e-5);
        const SSt = H.map((_, a) => H.map((__, b) => Sa[n]![a]!.reduce((s, v, c) => s + v * Sa[n]![b]![c]!, 0)));
        expect(relErr(SSt.flat(), H.flat())).toBeLessThan(1e-5);
        expect(relErr(fromFactor[n]!.flat(), Sa[n]!.flat())).toBeLessThan(1e-7);
      }
    });
    tf.dispose([ft, ut]);
  });

  it('sampleTargets: seeded, deterministic, and its sample mean matches the predictive mean (4σ bound)', () => {
    const S = 4000;
    const row = f[0]!;
    const ft = tf.tensor2d(Array.from({ length: S }, () => row));
    const a = noLeak(() => {
      const s = sampleTargets(name, ft, 1234);
      const r = s.arraySync() as number[][];
      s.dispose();
      return r;
    });
    const b = sampleTargets(name, ft, 1234);
    const c = sampleTargets(name, ft, 4321);
    expect(b.arraySync()).toEqual(a);
    expect(c.arraySync()).not.toEqual(a);
    tf.dispose([b, c, ft]);
    // Expected per-unit means/variances in float64.
    let mean: number[];
    let variance: number[];
    if (name === 'categorical') {
      const m = Math.max(...row);
      const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
      mean = row.map((v) => Math.exp(v - m) / z);
      variance = mean.map((p) => p * (1 - p));
      for (const r of a) expect(r.reduce((s, v) => s + v, 0)).toBe(1); // one-hot rows
    } else if (name === 'bernoulli') {
      mean = row.map((v) => 1 / (1 + Math.exp(-v)));
      variance = mean.map((p) => p * (1 - p));
      for (const r of a) for (const v of r) expect(v === 0 || v === 1).toBe(true);
    } else {
      mean = row;
      variance = row.map(() => 1);
      const emp = row.map((_, k) => a.reduce((s, r) => s + (r[k]! - row[k]!) ** 2, 0) / S);
      emp.forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(4 * Math.sqrt(2 / S)));
    }
    const empMean = row.map((_, k) => a.reduce((s, r) => s + r[k]!, 0) / S);
    empMean.forEach((m, k) => expect(Math.abs(m - mean[k]!)).toBeLessThan(4 * Math.sqrt(variance[k]! / S) + 1e-9));
  });

  it('predictiveKL: zero at equal outputs, matches the host KL, and ≈ ½ δᵀHδ for small δ', () => {
    const g = outputs(names.indexOf(name) + 21);
    const host = (p: number[], q: number[]): number => {
      if (name === 'gaussian') return 0.5 * p.reduce((s, v, k) => s + (v - q[k]!) ** 2, 0);
      if (name === 'bernoulli') {
        return p.reduce((s, fp, k) => {
          const a = 1 / (1 + Math.exp(-fp));
          const b = 1 / (1 + Math.exp(-q[k]!));
          return s + a * Math.log(a / b) + (1 - a) * Math.log((1 - a) / (1 - b));
        }, 0);
      }
      const sm = (v: number[]) => {
        const m = Math.max(...v);
        const z = v.reduce((s, x) => s + Math.exp(x - m), 0);
        return v.map((x) => Math.exp(x - m) / z);
      };
      const a = sm(p);
      const b = sm(q);
      return a.reduce((s, x, k) => s + x * Math.log(x / b[k]!), 0);
    };
    const ft = tf.tensor2d(f);
    const gt = tf.tensor2d(g);
    noLeak(() => {
      const kl = predictiveKL(name, ft, gt);
      expect(relErr(kl.dataSync(), f.map((r, n) => host(r, g[n]!)))).toBeLessThan(1e-5);
      const self = predictiveKL(name, ft, ft);
      self.dataSync().forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-6));
      tf.dispose([kl, self]);
    });
    // Second order: KL(f ‖ f + δ) = ½ δᵀ H(f) δ + O(δ³), H from finite differences.
    const d = 1e-2;
    const delta = randomVector(N * K, 5);
    const fd = f.map((r, n) => r.map((v, k) => v + d * delta[n * K + k]!));
    const quad = f.map((r, n) => {
      const H = fdOutputHessian(name, r, y[n]!);
      const dn = r.map((_, k) => d * delta[n * K + k]!);
      return 0.5 * H.reduce((s, row, a) => s + dn[a]! * row.reduce((t, h, b) => t + h * dn[b]!, 0), 0);
    });
    const exact = f.map((r, n) => host(r, fd[n]!));
    exact.forEach((e, n) => expect(Math.abs(e - quad[n]!)).toBeLessThan(0.05 * quad[n]! + 1e-9));
    tf.dispose([ft, gt]);
  });
});
