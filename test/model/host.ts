/**
 * Test oracle: an independent float64 host implementation of the model's forward pass and mean
 * loss, written straight from DESIGN §3 (no tfjs), used for finite differences in float64.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef, ActivationName, LikelihoodName, Params } from '../../src/model/types.js';
import { makeRng } from '../../src/model/random.js';

const act: Record<ActivationName, (z: number) => number> = {
  tanh: Math.tanh,
  relu: (z) => Math.max(z, 0),
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
  softplus: (z) => (z > 30 ? z : Math.log1p(Math.exp(z))),
  identity: (z) => z,
};

export function hostForward(def: ModelDef, theta: ArrayLike<number>, x: number[][]): number[][] {
  let off = 0;
  let h = x.map((r) => [...r]);
  for (const layer of def.layers) {
    if (layer.kind === 'dense') {
      const { inDim, outDim } = layer;
      const W = off;
      const b = off + inDim * outDim;
      off = b + outDim;
      h = h.map((row) => {
        const z = new Array<number>(outDim);
        for (let o = 0; o < outDim; o++) {
          let s = theta[b + o]!;
          for (let i = 0; i < inDim; i++) s += row[i]! * theta[W + i * outDim + o]!;
          z[o] = s;
        }
        return z;
      });
    } else if (layer.kind === 'activation') {
      const f = act[layer.fn];
      h = h.map((row) => row.map(f));
    } else {
      const M = layer.matrix;
      const c = layer.offset;
      h = h.map((row) => M[0]!.map((_, o) => row.reduce((s, v, i) => s + v * M[i]![o]!, c?.[o] ?? 0)));
    }
  }
  return h;
}

export function hostExampleLoss(name: LikelihoodName, f: number[], y: number[]): number {
  if (name === 'gaussian') return 0.5 * f.reduce((s, v, k) => s + (v - y[k]!) ** 2, 0);
  if (name === 'bernoulli') return f.reduce((s, v, k) => s + (Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))) - y[k]! * v), 0);
  const m = Math.max(...f);
  const lse = m + Math.log(f.reduce((s, v) => s + Math.exp(v - m), 0));
  return f.reduce((s, v, k) => s + y[k]! * (lse - v), 0);
}

export function hostLoss(def: ModelDef, theta: ArrayLike<number>, x: number[][], y: number[][]): number {
  const f = hostForward(def, theta, x);
  return f.reduce((s, row, n) => s + hostExampleLoss(def.likelihood, row, y[n]!), 0) / f.length;
}

/** Random data for a model: x ~ N(0,1), targets valid for the likelihood. */
export function randomData(def: ModelDef, outDim: number, n: number, seed: number): { x: number[][]; y: number[][] } {
  const rng = makeRng(seed);
  const x = Array.from({ length: n }, () => Array.from({ length: def.inputDim }, () => rng.normal()));
  const y = Array.from({ length: n }, () => {
    if (def.likelihood === 'gaussian') return Array.from({ length: outDim }, () => rng.normal());
    if (def.likelihood === 'bernoulli') return Array.from({ length: outDim }, () => (rng.next() < 0.5 ? 1 : 0));
    const c = rng.int(outDim);
    return Array.from({ length: outDim }, (_, k) => (k === c ? 1 : 0));
  });
  return { x, y };
}

export function randomVector(p: number, seed: number): Float64Array {
  const rng = makeRng(seed);
  return Float64Array.from({ length: p }, () => rng.normal());
}

/** Max |a−b| / max(1, max|b|). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 1e-30;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

export function flat(p: Params): Float64Array {
  const total = p.reduce((s, t) => s + t.size, 0);
  const out = new Float64Array(total);
  let off = 0;
  for (const t of p) {
    out.set(t.dataSync(), off);
    off += t.size;
  }
  return out;
}

/** Runs fn and asserts that it leaves no tensor behind (returns fn's result, which must hold no tensors). */
export function noLeak<T>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const r = fn();
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`tensor leak: ${after - before} tensors`);
  return r;
}

/** Small models covering every activation, likelihood and a fixed_linear layer. */
export function smallModels(): ModelDef[] {
  const acts: ActivationName[] = ['tanh', 'relu', 'sigmoid', 'softplus', 'identity'];
  const liks: LikelihoodName[] = ['categorical', 'gaussian', 'bernoulli'];
  const out: ModelDef[] = [];
  acts.forEach((fn, i) => {
    const likelihood = liks[i % 3]!;
    out.push({
      inputDim: 3,
      likelihood,
      layers: [
        { kind: 'dense', inDim: 3, outDim: 4 },
        { kind: 'activation', fn },
        { kind: 'dense', inDim: 4, outDim: 3 },
        { kind: 'activation', fn: acts[(i + 2) % 5]! },
        { kind: 'dense', inDim: 3, outDim: 3 },
      ],
    });
  });
  for (const likelihood of liks) {
    out.push({
      inputDim: 2,
      likelihood,
      layers: [
        { kind: 'fixed_linear', matrix: [[1, 0.5, -0.3], [0.2, -1, 0.7]], offset: [0.1, 0, -0.2] },
        { kind: 'dense', inDim: 3, outDim: 4 },
        { kind: 'activation', fn: 'sigmoid' },
        { kind: 'fixed_linear', matrix: [[0.9, 0.1], [-0.4, 0.3], [0.2, 0.8], [0.5, -0.6]] },
        { kind: 'activation', fn: 'tanh' },
        { kind: 'dense', inDim: 2, outDim: 3 },
      ],
    });
  }
  return out;
}
