/**
 * Independent host references for the properties: the Fisher as an *expectation over labels*
 * (enumerated exactly, not through the engine's GGN products), predictive KLs in float64 from the
 * logits, and the engine's dense curvature at one point.
 */
import * as tf from '@tensorflow/tfjs';
import { backward, disposeBackward, disposeForward, forward, outputGradient, perExampleGrads, predictiveMean } from '../model/index.js';
import type { LikelihoodName, ModelDef, Params } from '../model/types.js';
import { createContext, curvatureAt, type CurvatureExpr } from '../curvature/index.js';
import { toBatch, toParams, disposeBatch, type HostBatch } from './cases.js';

/** Output rows [N][out] of a tensor. */
const rows = (t: tf.Tensor2D): number[][] => t.arraySync();

/** Logits (raw outputs) on the batch, float64 copies of the float32 values. */
export function logitsAt(def: ModelDef, theta: readonly Float64Array[], x: readonly (readonly number[])[]): number[][] {
  const p = toParams(def, theta);
  const xt = tf.tensor2d(x.map((r) => [...r]), undefined, 'float32');
  const fp = forward(def, p, xt);
  const out = rows(fp.output);
  disposeForward(fp);
  tf.dispose([...p, xt]);
  return out;
}

const logSumExp = (v: readonly number[]): number => {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
};
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

/** KL(p(·|a) ‖ p(·|b)) for one example's logits, in float64. */
export function klOfLogits(likelihood: LikelihoodName, a: readonly number[], b: readonly number[]): number {
  switch (likelihood) {
    case 'categorical': {
      const la = logSumExp(a);
      const lb = logSumExp(b);
      return a.reduce((s, ai, k) => s + Math.exp(ai - la) * (ai - la - (b[k]! - lb)), 0);
    }
    case 'gaussian':
      return 0.5 * a.reduce((s, ai, k) => s + (ai - b[k]!) ** 2, 0);
    case 'bernoulli':
      // p = σ(a): log p = −softplus(−a), log(1 − p) = −softplus(a)
      return a.reduce((s, ai, k) => {
        const bi = b[k]!;
        const p = 1 / (1 + Math.exp(-ai));
        return s + p * (softplus(-bi) - softplus(-ai)) + (1 - p) * (softplus(bi) - softplus(ai));
      }, 0);
  }
}

/** Mean over the batch of KL(p_θ ‖ p_θ'), from logits. */
export const meanKL = (likelihood: LikelihoodName, a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number =>
  a.reduce((s, ai, n) => s + klOfLogits(likelihood, ai, b[n]!), 0) / a.length;

/** Label configurations with their per-example weights: an exact expectation over y ~ p(·|f(x)) for
 * the gradient outer products (for a Gaussian, the symmetric design y = f ± √out·eᵢ, weight
 * 1/(2·out) each, has E[(y − f)(y − f)ᵀ] = I exactly, which is all a second moment needs). */
function labelDesign(likelihood: LikelihoodName, out: number[][], mean: number[][]): { y: number[][]; w: number[] }[] {
  const n = out.length;
  const k = out[0]!.length;
  switch (likelihood) {
    case 'categorical':
      return Array.from({ length: k }, (_, c) => ({ y: out.map(() => Array.from({ length: k }, (_, j) => (j === c ? 1 : 0))), w: mean.map((p) => p[c]!) }));
    case 'bernoulli':
      return Array.from({ length: 2 ** k }, (_, mask) => {
        const bits = Array.from({ length: k }, (_, j) => (mask >> j) & 1);
        return { y: out.map(() => bits), w: mean.map((p) => bits.reduce((acc, b, j) => acc * (b ? p[j]! : 1 - p[j]!), 1)) };
      });
    case 'gaussian':
      return Array.from({ length: 2 * k }, (_, i) => {
        const j = i >> 1;
        const s = (i & 1 ? -1 : 1) * Math.sqrt(k);
        return { y: out.map((f) => f.map((v, q) => v + (q === j ? s : 0))), w: new Array<number>(n).fill(1 / (2 * k)) };
      });
  }
}

/** Per-example gradients of −log p(yₙ | f(xₙ)) for labels y: [N][P] (float64 copies). */
function perExample(def: ModelDef, params: Params, x: tf.Tensor2D, y: number[][]): number[][] {
  const fp = forward(def, params, x);
  const yt = tf.tensor2d(y, undefined, 'float32');
  const u = outputGradient(def.likelihood, fp.output, yt);
  const bp = backward(def, params, fp, u);
  const pe = perExampleGrads(def, fp, bp);
  const n = y.length;
  const flat = tf.tidy(() => pe.map((t) => t.reshape([n, -1]).arraySync() as number[][]));
  tf.dispose([yt, u, ...pe]);
  disposeBackward(bp);
  disposeForward(fp);
  return Array.from({ length: n }, (_, i) => flat.flatMap((f) => f[i]!));
}

const outerAccumulate = (M: Float64Array, P: number, g: readonly number[], w: number): void => {
  for (let i = 0; i < P; i++) {
    const gi = g[i]! * w;
    if (gi === 0) continue;
    for (let j = 0; j < P; j++) M[i * P + j]! += gi * g[j]!;
  }
};

/** F = (1/N) Σₙ E_{y∼p(·|xₙ)}[∇ℓ ∇ℓᵀ], by enumerating labels (exact), dense P×P. */
export function fisherByLabels(def: ModelDef, theta: readonly Float64Array[], batch: HostBatch): Float64Array {
  const params = toParams(def, theta);
  const x = tf.tensor2d(batch.x.map((r) => [...r]), undefined, 'float32');
  const fp = forward(def, params, x);
  const out = rows(fp.output);
  const m = predictiveMean(def.likelihood, fp.output);
  const mean = rows(m);
  tf.dispose(m);
  disposeForward(fp);
  const P = theta.reduce((s, a) => s + a.length, 0);
  const F = new Float64Array(P * P);
  const N = batch.x.length;
  for (const { y, w } of labelDesign(def.likelihood, out, mean)) {
    const g = perExample(def, params, x, y);
    g.forEach((gn, n) => outerAccumulate(F, P, gn, w[n]! / N));
  }
  tf.dispose([...params, x]);
  return F;
}

/** F̂ = (1/N) Σₙ gₙgₙᵀ at the data labels (host, from per-example gradients). */
export function empiricalFisherByHand(def: ModelDef, theta: readonly Float64Array[], batch: HostBatch): Float64Array {
  const params = toParams(def, theta);
  const x = tf.tensor2d(batch.x.map((r) => [...r]), undefined, 'float32');
  const P = theta.reduce((s, a) => s + a.length, 0);
  const F = new Float64Array(P * P);
  perExample(def, params, x, batch.y.map((r) => [...r])).forEach((gn) => outerAccumulate(F, P, gn, 1 / batch.x.length));
  tf.dispose([...params, x]);
  return F;
}

/** The engine's dense curvature `expr` at θ (one update of any running estimate), and the gradient. */
export function engineCurvature(expr: CurvatureExpr, def: ModelDef, theta: readonly Float64Array[], batch: HostBatch, seed = 0): { C: Float64Array; g: Float64Array } {
  const params = toParams(def, theta);
  const b = toBatch(batch);
  const ctx = createContext(def, params, b, { seed });
  try {
    const op = curvatureAt(expr, ctx);
    try {
      const C = op.toDense();
      const g = Float64Array.from(ctx.gradient().flatMap((t) => [...t.dataSync()]));
      return { C, g };
    } finally {
      op.dispose();
    }
  } finally {
    ctx.dispose();
    disposeBatch(b);
    tf.dispose(params as tf.Tensor[]);
  }
}
