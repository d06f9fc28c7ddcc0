/**
 * Synthetic problems generated from a seed (host RNG, identical on every backend).
 * Seed streams: 0 = the generator's own parameters (teacher, true weights, input law),
 * 1 = training data, 2 = test data.
 */
import type { ModelDef } from '../model/types.js';
import { deriveSeed, makeRng } from '../model/random.js';
import type { Rng } from '../model/random.js';
import type { Dataset } from './types.js';

const streams = { spec: 0, train: 1, test: 2 } as const;

function gaussianMatrix(rng: Rng, rows: number, cols: number, scale: number): Float64Array {
  return Float64Array.from({ length: rows * cols }, () => scale * rng.normal());
}

/** out[n, o] = Σᵢ x[n, i] M[i, o] + b[o], row-major. */
function affine(x: ArrayLike<number>, n: number, d: number, M: ArrayLike<number>, b: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < k; o++) {
      let s = b[o]!;
      for (let i = 0; i < d; i++) s += x[r * d + i]! * M[i * k + o]!;
      out[r * k + o] = s;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// logistic: binary logistic regression, x ~ N(0, I_d), y ~ Bernoulli(σ(x·w* + b*)).

export const logisticDims = { d: 20 } as const;

export function logisticDef(): ModelDef {
  const { d } = logisticDims;
  return { inputDim: d, likelihood: 'bernoulli', layers: [{ kind: 'dense', inDim: d, outDim: 1 }] };
}

/** The planted weights w* [d] and bias b* of the logistic problem. */
export function logisticSpec(seed: number): { readonly weights: Float64Array; readonly bias: number } {
  const { d } = logisticDims;
  const spec = makeRng(deriveSeed(seed, streams.spec));
  const weights = gaussianMatrix(spec, d, 1, 2 / Math.sqrt(d)); // logits with standard deviation ≈ 2
  return { weights, bias: 0.5 * spec.normal() };
}

export function logisticData(seed: number, n: number, split: 'train' | 'test'): Dataset {
  const { d } = logisticDims;
  const { weights: w, bias } = logisticSpec(seed);
  const b = [bias];
  const rng = makeRng(deriveSeed(seed, streams[split]));
  const x = Float32Array.from({ length: n * d }, () => rng.normal());
  const logits = affine(x, n, d, w, b, 1);
  const y = Float32Array.from(logits, (z) => (rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0));
  return { x, y, n, xDim: d, yDim: 1 };
}

// ---------------------------------------------------------------------------------------------
// teacher-student: y = teacher(x) + 0.1 ε, teacher d-32(tanh)-k with random weights; the student
// is a wider d-64(tanh)-k network with a unit-variance gaussian head.

export const teacherDims = { d: 10, teacherHidden: 32, studentHidden: 64, k: 5, noise: 0.1 } as const;

export function teacherStudentDef(): ModelDef {
  const { d, studentHidden, k } = teacherDims;
  return {
    inputDim: d,
    likelihood: 'gaussian',
    layers: [
      { kind: 'dense', inDim: d, outDim: studentHidden },
      { kind: 'activation', fn: 'tanh' },
      { kind: 'dense', inDim: studentHidden, outDim: k },
    ],
  };
}

export function teacherStudentData(seed: number, n: number, split: 'train' | 'test'): Dataset {
  const { d, teacherHidden: h, k, noise } = teacherDims;
  const spec = makeRng(deriveSeed(seed, streams.spec));
  const W1 = gaussianMatrix(spec, d, h, 1.5 / Math.sqrt(d));
  const b1 = gaussianMatrix(spec, 1, h, 0.1);
  const W2 = gaussianMatrix(spec, h, k, 1 / Math.sqrt(h));
  const b2 = gaussianMatrix(spec, 1, k, 0.1);
  const rng = makeRng(deriveSeed(seed, streams[split]));
  const x = Float32Array.from({ length: n * d }, () => rng.normal());
  const hidden = affine(x, n, d, W1, b1, h).map(Math.tanh);
  const out = affine(hidden, n, h, W2, b2, k);
  const y = Float32Array.from(out, (v) => v + noise * rng.normal());
  return { x, y, n, xDim: d, yDim: k };
}

// ---------------------------------------------------------------------------------------------
// linear-gaussian: x = μ + z L (z ~ N(0, I_d), L upper-triangular so Cov x = LᵀL), y = x W* + b* + ε,
// fitted by a single dense layer with a unit-variance gaussian head. Its Fisher is known:
//   F = E[x̄ x̄ᵀ] ⊗ I_k,  x̄ = [x; 1],  E[x̄ x̄ᵀ] = [[Σ + μμᵀ, μ], [μᵀ, 1]]
// exactly in geodesic's flat order [W row-major (i*k + o), b] — b[o] sits where row i = d would.

export const linearGaussianDims = { d: 6, k: 3 } as const;

export interface LinearGaussianSpec {
  readonly d: number;
  readonly k: number;
  readonly mean: Float64Array; // μ [d]
  readonly factor: Float64Array; // L [d, d], row-major, upper-triangular
  readonly weights: Float64Array; // W* [d, k]
  readonly bias: Float64Array; // b* [k]
}

export function linearGaussianSpec(seed: number): LinearGaussianSpec {
  const { d, k } = linearGaussianDims;
  const rng = makeRng(deriveSeed(seed, streams.spec));
  const mean = Float64Array.from({ length: d }, () => rng.normal());
  const factor = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) factor[i * d + j] = i === j ? 0.5 + rng.next() : 0.5 * rng.normal();
  }
  const weights = gaussianMatrix(rng, d, k, 1 / Math.sqrt(d));
  const bias = gaussianMatrix(rng, 1, k, 1);
  return { d, k, mean, factor, weights, bias };
}

export function linearGaussianDef(): ModelDef {
  const { d, k } = linearGaussianDims;
  return { inputDim: d, likelihood: 'gaussian', layers: [{ kind: 'dense', inDim: d, outDim: k }] };
}

export function linearGaussianData(seed: number, n: number, split: 'train' | 'test'): Dataset {
  const s = linearGaussianSpec(seed);
  const { d, k } = s;
  const rng = makeRng(deriveSeed(seed, streams[split]));
  const z = Float64Array.from({ length: n * d }, () => rng.normal());
  const x = Float32Array.from(affine(z, n, d, s.factor, s.mean, d));
  const mean = affine(x, n, d, s.weights, s.bias, k);
  const y = Float32Array.from(mean, (v) => v + rng.normal());
  return { x, y, n, xDim: d, yDim: k };
}

/** E[x̄x̄ᵀ] = [[LᵀL + μμᵀ, μ], [μᵀ, 1]], (d+1)×(d+1) row-major. */
export function linearGaussianSecondMoment(spec: LinearGaussianSpec): Float64Array {
  const { d, mean, factor } = spec;
  const m = d + 1;
  const A = new Float64Array(m * m);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = mean[i]! * mean[j]!;
      for (let r = 0; r < d; r++) s += factor[r * d + i]! * factor[r * d + j]!;
      A[i * m + j] = s;
    }
    A[i * m + d] = mean[i]!;
    A[d * m + i] = mean[i]!;
  }
  A[d * m + d] = 1;
  return A;
}

/** The population Fisher F = E[x̄x̄ᵀ] ⊗ I_k as a P×P row-major matrix in geodesic's flat order. */
export function linearGaussianFisher(seed: number): Float64Array {
  const spec = linearGaussianSpec(seed);
  return kronIdentity(linearGaussianSecondMoment(spec), spec.d + 1, spec.k);
}

/** kron(A, I_k) for an m×m row-major A. */
export function kronIdentity(A: Float64Array, m: number, k: number): Float64Array {
  const p = m * k;
  const F = new Float64Array(p * p);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) for (let o = 0; o < k; o++) F[(i * k + o) * p + (j * k + o)] = A[i * m + j]!;
  return F;
}
