import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../../src/model/types.js';
import { disposeBackward, disposeForward, forward } from '../../src/model/network.js';
import { fromFloat64, numParams, outputDim } from '../../src/model/layout.js';
import { ggnVectorProduct, hessianVectorProduct, lossAndGradient } from '../../src/model/objective.js';
import { flat, hostExampleLoss, hostForward, hostLoss, noLeak, randomData, randomVector, relErr, smallModels } from './host.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Dense Hessian of the mean loss by central second differences of the float64 host loss. */
function fdHessian(def: ModelDef, theta: Float64Array, x: number[][], y: number[][], h = 1e-4): Float64Array {
  const p = theta.length;
  const H = new Float64Array(p * p);
  const L = (di: number, si: number, dj: number, sj: number) => {
    const t = Float64Array.from(theta);
    t[di] += si * h;
    t[dj] += sj * h;
    return hostLoss(def, t, x, y);
  };
  for (let i = 0; i < p; i++) {
    for (let j = i; j < p; j++) {
      const v = (L(i, 1, j, 1) - L(i, 1, j, -1) - L(i, -1, j, 1) + L(i, -1, j, -1)) / (4 * h * h);
      H[i * p + j] = v;
      H[j * p + i] = v;
    }
  }
  return H;
}

function matVec(A: Float64Array, v: ArrayLike<number>): Float64Array {
  const p = v.length;
  const out = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = 0;
    for (let j = 0; j < p; j++) s += A[i * p + j]! * v[j]!;
    out[i] = s;
  }
  return out;
}

function setup(def: ModelDef, seed: number, n = 4) {
  const p = numParams(def);
  const theta = randomVector(p, seed).map((v) => Math.fround(0.8 * v));
  const { x, y } = randomData(def, outputDim(def), n, seed + 1);
  return { theta, x, y, p };
}

describe('exact Hessian-vector product of the mean loss', () => {
  smallModels().forEach((def, m) => {
    const name = `model ${m}: ${def.layers.map((l) => (l.kind === 'activation' ? l.fn : l.kind)).join('-')} / ${def.likelihood}`;
    it(`${name}: H v equals the float64 finite-difference Hessian times v`, () => {
      const { theta, x, y, p } = setup(def, 100 + m);
      const H = fdHessian(def, theta, x, y);
      const vArr = randomVector(p, 101 + m).map(Math.fround);
      const params = fromFloat64(def, theta);
      const v = fromFloat64(def, vArr);
      const batch = { x: tf.tensor2d(x), y: tf.tensor2d(y) };
      noLeak(() => {
        const hv = hessianVectorProduct(def, params, batch, v);
        expect(relErr(flat(hv), matVec(H, vArr))).toBeLessThan(1e-4);
        tf.dispose(hv as tf.Tensor[]);
      });
      tf.dispose([...params, ...v, batch.x, batch.y]);
    });
  });

  it('probing with basis vectors rebuilds the whole dense Hessian of a tiny model (symmetric, = FD Hessian)', () => {
    const def: ModelDef = {
      inputDim: 2,
      likelihood: 'categorical',
      layers: [
        { kind: 'dense', inDim: 2, outDim: 3 },
        { kind: 'activation', fn: 'sigmoid' },
        { kind: 'dense', inDim: 3, outDim: 3 },
      ],
    };
    const { theta, x, y, p } = setup(def, 7, 5);
    const Hfd = fdHessian(def, theta, x, y);
    const params = fromFloat64(def, theta);
    const batch = { x: tf.tensor2d(x), y: tf.tensor2d(y) };
    const H = new Float64Array(p * p);
    const before = tf.memory().numTensors;
    for (let j = 0; j < p; j++) {
      const e = new Float64Array(p);
      e[j] = 1;
      const ev = fromFloat64(def, e);
      const cols = hessianVectorProduct(def, params, batch, ev);
      const col = flat(cols);
      for (let i = 0; i < p; i++) H[i * p + j] = col[i]!;
      tf.dispose([...ev, ...cols]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(relErr(H, Hfd)).toBeLessThan(1e-4);
    let asym = 0;
    for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) asym = Math.max(asym, Math.abs(H[i * p + j]! - H[j * p + i]!));
    expect(asym).toBeLessThan(1e-6);
    tf.dispose([...params, batch.x, batch.y]);
  });

  it('H v equals central differences of tfjs gradients (float32, loose)', () => {
    const def = smallModels()[3]!; // softplus / gaussian
    const { theta, x, y, p } = setup(def, 300);
    const vArr = randomVector(p, 301).map(Math.fround);
    const params = fromFloat64(def, theta);
    const v = fromFloat64(def, vArr);
    const batch = { x: tf.tensor2d(x), y: tf.tensor2d(y) };
    const eps = 1e-2;
    const grad = (sign: number) => {
      const ps = fromFloat64(def, theta.map((t, i) => t + sign * eps * vArr[i]!));
      const r = lossAndGradient(def, ps, batch);
      const g = flat(r.gradient);
      tf.dispose([r.loss, ...r.gradient, ...ps]);
      disposeForward(r.forward);
      disposeBackward(r.backward);
      return g;
    };
    const gp = grad(1);
    const gm = grad(-1);
    const fd = gp.map((a, i) => (a - gm[i]!) / (2 * eps));
    const hv = hessianVectorProduct(def, params, batch, v);
    expect(relErr(flat(hv), fd)).toBeLessThan(2e-3);
    tf.dispose([...hv, ...params, ...v, batch.x, batch.y]);
  });
});

describe('Gauss-Newton-vector product', () => {
  smallModels().forEach((def, m) => {
    it(`model ${m} / ${def.likelihood}: (1/N) Σ Jᵀ H J v equals the float64 finite-difference J and H`, () => {
      const { theta, x, y, p } = setup(def, 200 + m);
      const k = outputDim(def);
      const n = x.length;
      const h = 1e-6;
      // J[n] (k × p) by central differences of the host forward.
      const J: Float64Array[] = Array.from({ length: n }, () => new Float64Array(k * p));
      for (let j = 0; j < p; j++) {
        const tp = Float64Array.from(theta);
        const tm = Float64Array.from(theta);
        tp[j] += h;
        tm[j] -= h;
        const fp = hostForward(def, tp, x);
        const fm = hostForward(def, tm, x);
        for (let e = 0; e < n; e++) for (let o = 0; o < k; o++) J[e]![o * p + j] = (fp[e]![o]! - fm[e]![o]!) / (2 * h);
      }
      // Hₙ by second differences of the host per-example loss in f.
      const f = hostForward(def, theta, x);
      const hh = 1e-4;
      const vArr = randomVector(p, 201 + m).map(Math.fround);
      const expected = new Float64Array(p);
      for (let e = 0; e < n; e++) {
        const Hn = new Float64Array(k * k);
        for (let a = 0; a < k; a++) {
          for (let b = 0; b < k; b++) {
            const l = (sa: number, sb: number) => {
              const g = [...f[e]!];
              g[a] += sa * hh;
              g[b] += sb * hh;
              return hostExampleLoss(def.likelihood, g, y[e]!);
            };
            Hn[a * k + b] = (l(1, 1) - l(1, -1) - l(-1, 1) + l(-1, -1)) / (4 * hh * hh);
          }
        }
        const jv = new Float64Array(k);
        for (let o = 0; o < k; o++) for (let j = 0; j < p; j++) jv[o] += J[e]![o * p + j]! * vArr[j]!;
        const hjv = new Float64Array(k);
        for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) hjv[a] += Hn[a * k + b]! * jv[b]!;
        for (let j = 0; j < p; j++) for (let o = 0; o < k; o++) expected[j] += (J[e]![o * p + j]! * hjv[o]!) / n;
      }
      const params = fromFloat64(def, theta);
      const v = fromFloat64(def, vArr);
      const xt = tf.tensor2d(x);
      const fpass = forward(def, params, xt);
      noLeak(() => {
        const gv = ggnVectorProduct(def, params, fpass, v);
        expect(relErr(flat(gv), expected)).toBeLessThan(1e-4);
        tf.dispose(gv as tf.Tensor[]);
      });
      disposeForward(fpass);
      tf.dispose([...params, ...v, xt]);
    });
  });
});
