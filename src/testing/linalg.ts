/**
 * Small float64 host linear algebra for building test transforms and checking results. Matrices
 * are row-major `number[][]`. Independent of src/solvers on purpose (it is an oracle).
 */
import { EigenvalueDecomposition, Matrix, inverse } from 'ml-matrix';

export type Mat = number[][];

export const eye = (n: number): Mat => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
export const zeros = (r: number, c: number): Mat => Array.from({ length: r }, () => new Array<number>(c).fill(0));
export const diagMat = (d: readonly number[]): Mat => d.map((v, i) => d.map((_, j) => (i === j ? v : 0)));
export const transpose = (a: Mat): Mat => (a.length === 0 ? [] : a[0]!.map((_, j) => a.map((r) => r[j]!)));

export function matmul(a: Mat, b: Mat): Mat {
  const n = a.length;
  const k = b.length;
  const m = k === 0 ? 0 : b[0]!.length;
  const out = zeros(n, m);
  for (let i = 0; i < n; i++) for (let p = 0; p < k; p++) {
    const v = a[i]![p]!;
    if (v === 0) continue;
    for (let j = 0; j < m; j++) out[i]![j]! += v * b[p]![j]!;
  }
  return out;
}

/** Row vector times matrix. */
export const vecmat = (v: readonly number[], a: Mat): number[] => matmul([[...v]], a)[0]!;

export function invert(a: Mat): Mat {
  return inverse(new Matrix(a)).to2DArray();
}

/** Eigenvalues of a symmetric matrix, ascending. */
export function symEigenvalues(a: Mat): number[] {
  const e = new EigenvalueDecomposition(new Matrix(a), { assumeSymmetric: true });
  return [...e.realEigenvalues].sort((x, y) => x - y);
}

/** 2-norm condition number via singular values of a (through eig of aᵀa). */
export function cond(a: Mat): number {
  const ev = symEigenvalues(matmul(transpose(a), a));
  return Math.sqrt(ev[ev.length - 1]! / Math.max(ev[0]!, 1e-300));
}

/** Dense square matrix from a row-major Float64Array. */
export function fromFlat(a: ArrayLike<number>, n: number): Mat {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => a[i * n + j]!));
}

export const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};

/** A deterministic PRNG (mulberry32) with normal samples; testing's own, independent of src/model. */
export interface Rand {
  uniform(): number;
  normal(): number;
}

export function rand(seed: number): Rand {
  let s = (seed ^ 0x6d2b79f5) >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal };
}

/** A random orthogonal n×n matrix (Gram-Schmidt on a Gaussian matrix); rows are the basis vectors.
 * With `first`, the first row is first/‖first‖. */
export function randomOrthogonal(n: number, r: Rand, first?: readonly number[]): Mat {
  const q: number[][] = [];
  if (first) {
    const norm = Math.hypot(...first);
    q.push(first.map((x) => x / norm));
  }
  while (q.length < n) {
    let v = Array.from({ length: n }, () => r.normal());
    for (const u of q) {
      const d = v.reduce((s, x, i) => s + x * u[i]!, 0);
      v = v.map((x, i) => x - d * u[i]!);
    }
    const norm = Math.hypot(...v);
    if (norm > 1e-6) q.push(v.map((x) => x / norm));
  }
  return q;
}

/** Log-uniform magnitude in [1/maxScale, maxScale] with a random sign. */
export const signedLogUniform = (r: Rand, maxScale: number): number =>
  (r.uniform() < 0.5 ? -1 : 1) * Math.exp((2 * r.uniform() - 1) * Math.log(maxScale));

/**
 * A well-conditioned, far-from-orthogonal invertible matrix U diag(s) Vᵀ with singular values
 * spread log-uniformly over [1/√cond, √cond] (the largest and smallest pinned at the ends).
 */
export function randomInvertible(n: number, r: Rand, condition: number, preserve?: readonly number[]): Mat {
  // With `preserve` = p: p is a left and right singular vector (pM = s₁p and Mp = s₁p), e.g. the
  // all-ones direction of softmax logits, whose common shift changes no prediction.
  const u = transpose(randomOrthogonal(n, r, preserve));
  const v = transpose(randomOrthogonal(n, r, preserve));
  const h = Math.sqrt(condition);
  // n = 1: a scalar at either end of the range (never near 1, so the map is far from orthogonal).
  const s = n === 1 ? [r.uniform() < 0.5 ? h : 1 / h] : Array.from({ length: n }, (_, i) => Math.exp(((2 * i) / (n - 1) - 1) * Math.log(h)));
  return matmul(matmul(u, diagMat(s)), transpose(v));
}
