/**
 * Dense float64 oracles for curvature tests, built independently of the structured code paths:
 * the per-example Jacobians Jₙ by probing the model's jvp with basis vectors, the likelihood's
 * output gradient and Hessian in closed form, then JᵀHJ/N, Σ gₙgₙᵀ/N, ... as plain loops.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import * as M from '../../src/model/index.js';
import type { Batch, LikelihoodName, ModelDef, Params } from '../../src/model/types.js';
import { createContext, type OwnedContext } from '../../src/curvature/index.js';

export const denseParams = (def: ModelDef): number => M.numParams(def);

export interface Problem {
  def: ModelDef;
  params: Params;
  batch: Batch;
  ctx: OwnedContext;
  dispose(): void;
}

/** A small random MLP in → h (tanh) → out with the given head, N examples. */
export function smallProblem(likelihood: LikelihoodName, seed: number, dims = { inp: 3, hidden: 4, out: 3, n: 6 }): Problem {
  const def: ModelDef = {
    inputDim: dims.inp,
    layers: [
      { kind: 'dense', inDim: dims.inp, outDim: dims.hidden },
      { kind: 'activation', fn: 'tanh' },
      { kind: 'dense', inDim: dims.hidden, outDim: dims.out },
    ],
    likelihood,
  };
  return problemFor(def, seed, dims.n);
}

export function problemFor(def: ModelDef, seed: number, n: number): Problem {
  const rng = M.makeRng(seed);
  const P = M.numParams(def);
  const flat = new Float64Array(P).map(() => 0.8 * rng.normal());
  const params = M.fromFloat64(def, flat);
  const out = M.outputDim(def);
  const x = tf.tensor2d(Array.from({ length: n * def.inputDim }, () => rng.normal()), [n, def.inputDim]);
  let yv: number[];
  if (def.likelihood === 'categorical') yv = Array.from({ length: n }, () => rng.int(out)).flatMap((c) => Array.from({ length: out }, (_, k) => (k === c ? 1 : 0)));
  else if (def.likelihood === 'bernoulli') yv = Array.from({ length: n * out }, () => rng.int(2));
  else yv = Array.from({ length: n * out }, () => rng.normal());
  const y = tf.tensor2d(yv, [n, out]);
  const batch = { x, y };
  const ctx = createContext(def, params, batch, { seed: seed + 1 });
  return {
    def,
    params,
    batch,
    ctx,
    dispose: () => {
      ctx.dispose();
      tf.dispose([...params, x, y]);
    },
  };
}

export interface Oracle {
  P: number;
  ggn: Float64Array;
  ef: Float64Array;
  cov: Float64Array;
  outer: Float64Array;
  grad: Float64Array;
  /** Per dense layer: A (in×in), Ā ((in+1)²), G exact and empirical (out×out). */
  layers: { inDim: number; outDim: number; offset: number; A: Float64Array; Ah: Float64Array; G: Float64Array; Gemp: Float64Array }[];
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export function oracle(p: Problem): Oracle {
  const { def, params, batch } = p;
  const P = M.numParams(def);
  const fp = M.forward(def, params, batch.x);
  const [N, C] = fp.output.shape;
  // J[n][o][j] by probing jvp with basis vectors.
  const J = Array.from({ length: N }, () => Array.from({ length: C }, () => new Float64Array(P)));
  for (let j = 0; j < P; j++) {
    const e = new Float64Array(P);
    e[j] = 1;
    const v = M.fromFloat64(def, e);
    const jv = M.jvp(def, params, fp, v);
    const d = jv.dataSync();
    for (let n = 0; n < N; n++) for (let o = 0; o < C; o++) J[n]![o]![j] = d[n * C + o]!;
    tf.dispose([...v, jv]);
  }
  const f = fp.output.arraySync() as number[][];
  const y = batch.y.arraySync() as number[][];
  const grads: Float64Array[] = [];
  const ggn = new Float64Array(P * P);
  for (let n = 0; n < N; n++) {
    const fn = f[n]!;
    let df: number[];
    let H: number[][];
    if (def.likelihood === 'categorical') {
      const m = Math.max(...fn);
      const ex = fn.map((z) => Math.exp(z - m));
      const s = ex.reduce((a, b) => a + b, 0);
      const pr = ex.map((e) => e / s);
      df = pr.map((q, k) => q - y[n]![k]!);
      H = pr.map((qi, i) => pr.map((qj, j) => (i === j ? qi : 0) - qi * qj));
    } else if (def.likelihood === 'gaussian') {
      df = fn.map((z, k) => z - y[n]![k]!);
      H = fn.map((_, i) => fn.map((__, j) => (i === j ? 1 : 0)));
    } else {
      const sg = fn.map(sigmoid);
      df = sg.map((s, k) => s - y[n]![k]!);
      H = sg.map((si, i) => sg.map((_, j) => (i === j ? si * (1 - si) : 0)));
    }
    const g = new Float64Array(P);
    for (let o = 0; o < C; o++) for (let j = 0; j < P; j++) g[j] = g[j]! + J[n]![o]![j]! * df[o]!;
    grads.push(g);
    // HJ (C×P), then JᵀHJ
    const HJ = Array.from({ length: C }, (_, i) => {
      const r = new Float64Array(P);
      for (let k = 0; k < C; k++) if (H[i]![k] !== 0) for (let j = 0; j < P; j++) r[j] = r[j]! + H[i]![k]! * J[n]![k]![j]!;
      return r;
    });
    for (let a = 0; a < P; a++) for (let o = 0; o < C; o++) {
      const ja = J[n]![o]![a]!;
      if (ja === 0) continue;
      for (let b = 0; b < P; b++) ggn[a * P + b] = ggn[a * P + b]! + (ja * HJ[o]![b]!) / N;
    }
  }
  const grad = new Float64Array(P);
  grads.forEach((g) => g.forEach((v, i) => (grad[i] = grad[i]! + v / N)));
  const ef = new Float64Array(P * P);
  const cov = new Float64Array(P * P);
  const outer = new Float64Array(P * P);
  for (let a = 0; a < P; a++)
    for (let b = 0; b < P; b++) {
      let s = 0;
      let c = 0;
      for (const g of grads) {
        s += g[a]! * g[b]!;
        c += (g[a]! - grad[a]!) * (g[b]! - grad[b]!);
      }
      ef[a * P + b] = s / N;
      cov[a * P + b] = c / N;
      outer[a * P + b] = grad[a]! * grad[b]!;
    }
  const info = M.paramInfo(def);
  const layers = M.denseLayers(def).map((d, l) => {
    const a = fp.denseInputs[l]!.arraySync() as number[][];
    const inD = d.inDim;
    const A = new Float64Array(inD * inD);
    const Ah = new Float64Array((inD + 1) * (inD + 1));
    for (const row of a) {
      const ah = [...row, 1];
      for (let i = 0; i <= inD; i++) for (let j = 0; j <= inD; j++) Ah[i * (inD + 1) + j] = Ah[i * (inD + 1) + j]! + (ah[i]! * ah[j]!) / N;
    }
    for (let i = 0; i < inD; i++) for (let j = 0; j < inD; j++) A[i * inD + j] = Ah[i * (inD + 1) + j]!;
    const bOff = info[2 * l + 1]!.offset;
    const G = new Float64Array(d.outDim * d.outDim);
    const Gemp = new Float64Array(d.outDim * d.outDim);
    for (let i = 0; i < d.outDim; i++)
      for (let j = 0; j < d.outDim; j++) {
        G[i * d.outDim + j] = ggn[(bOff + i) * P + bOff + j]!;
        Gemp[i * d.outDim + j] = ef[(bOff + i) * P + bOff + j]!;
      }
    return { inDim: inD, outDim: d.outDim, offset: info[2 * l]!.offset, A, Ah, G, Gemp };
  });
  M.disposeForward(fp);
  return { P, ggn, ef, cov, outer, grad, layers };
}

export const kron = (A: Float64Array, a: number, B: Float64Array, b: number): Float64Array => {
  const n = a * b;
  const out = new Float64Array(n * n);
  for (let i = 0; i < a; i++) for (let j = 0; j < a; j++) for (let k = 0; k < b; k++) for (let l = 0; l < b; l++) out[(i * b + k) * n + j * b + l] = A[i * a + j]! * B[k * b + l]!;
  return out;
};

/** The K-FAC P×P matrix from oracle factors (DESIGN §3: W block kron(A, G), b block G; homogeneous kron(Ā, G) over [W; b]). */
export function kfacDense(o: Oracle, bias: 'separate' | 'homogeneous', source: 'exact' | 'empirical'): Float64Array {
  const P = o.P;
  const Mx = new Float64Array(P * P);
  const put = (B: Float64Array, size: number, off: number) => {
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) Mx[(off + i) * P + off + j] = B[i * size + j]!;
  };
  for (const l of o.layers) {
    const G = source === 'exact' ? l.G : l.Gemp;
    if (bias === 'homogeneous') put(kron(l.Ah, l.inDim + 1, G, l.outDim), (l.inDim + 1) * l.outDim, l.offset);
    else {
      put(kron(l.A, l.inDim, G, l.outDim), l.inDim * l.outDim, l.offset);
      put(G, l.outDim, l.offset + l.inDim * l.outDim);
    }
  }
  return Mx;
}

export const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};

/** max |a − b| ≤ tol · max(|b|, floor). */
export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 2e-4, what = '', floor = 1e-3): void {
  expect(a.length, `${what} length`).toBe(b.length);
  let err = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!);
    if (!(e <= err)) {
      err = e;
      at = i;
    }
  }
  const scale = Math.max(maxAbs(b), floor);
  expect(err / scale, `${what}: max error ${err} at ${at} (${a[at]} vs ${b[at]}), scale ${scale}`).toBeLessThanOrEqual(tol);
}

export const matVec = (Mx: Float64Array, x: Float64Array): Float64Array => {
  const n = x.length;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += Mx[i * n + j]! * x[j]!;
    y[i] = s;
  }
  return y;
};

export const randomVector = (def: ModelDef, seed: number): { host: Float64Array; params: Params } => {
  const rng = M.makeRng(seed);
  const host = new Float64Array(M.numParams(def)).map(() => Math.fround(rng.normal()));
  return { host, params: M.fromFloat64(def, host) };
};

/** Runs fn and checks it leaves no tensor behind. */
export function noLeak<T>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const r = fn();
  expect(tf.memory().numTensors, 'tensor leak').toBe(before);
  return r;
}
