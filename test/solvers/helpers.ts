/** Independent dense references for the solver tests (plain loops, no code shared with src/solvers). */
import fc from 'fast-check';

/** Gaussian elimination with partial pivoting: solves M x = b (M row-major n×n). */
export const gaussSolve = (M: ArrayLike<number>, n: number, b: ArrayLike<number>): Float64Array => {
  const a = Float64Array.from(M as ArrayLike<number>);
  const x = Float64Array.from(b as ArrayLike<number>);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[piv * n + c]!)) piv = r;
    if (piv !== c) {
      for (let k = 0; k < n; k++) [a[c * n + k], a[piv * n + k]] = [a[piv * n + k]!, a[c * n + k]!];
      [x[c], x[piv]] = [x[piv]!, x[c]!];
    }
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c]! / a[c * n + c]!;
      if (f === 0) continue;
      for (let k = c; k < n; k++) a[r * n + k] = a[r * n + k]! - f * a[c * n + k]!;
      x[r] = x[r]! - f * x[c]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r]!;
    for (let k = r + 1; k < n; k++) s -= a[r * n + k]! * x[k]!;
    x[r] = s / a[r * n + r]!;
  }
  return x;
};

export const matMul = (A: ArrayLike<number>, B: ArrayLike<number>, n: number, m: number, p: number): Float64Array => {
  const C = new Float64Array(n * p);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < m; k++) {
      const a = A[i * m + k]!;
      for (let j = 0; j < p; j++) C[i * p + j] = C[i * p + j]! + a * B[k * p + j]!;
    }
  return C;
};

export const transpose = (A: ArrayLike<number>, n: number, m: number): Float64Array => {
  const T = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) T[j * n + i] = A[i * m + j]!;
  return T;
};

export const mv = (A: ArrayLike<number>, n: number, x: ArrayLike<number>): Float64Array => matMul(A, x, n, n, 1);

export const addDiag = (A: ArrayLike<number>, n: number, lambda: number): Float64Array => {
  const B = Float64Array.from(A as ArrayLike<number>);
  for (let i = 0; i < n; i++) B[i * n + i] = B[i * n + i]! + lambda;
  return B;
};

/** kron(A, B) row-major: (A⊗B)[(i*nB + k), (j*nB + l)] = A[i,j] B[k,l]. */
export const kron = (A: ArrayLike<number>, nA: number, B: ArrayLike<number>, nB: number): Float64Array => {
  const n = nA * nB;
  const K = new Float64Array(n * n);
  for (let i = 0; i < nA; i++)
    for (let j = 0; j < nA; j++)
      for (let k = 0; k < nB; k++)
        for (let l = 0; l < nB; l++) K[(i * nB + k) * n + (j * nB + l)] = A[i * nA + j]! * B[k * nB + l]!;
  return K;
};

export const maxAbs = (x: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
};

export const maxAbsDiff = (x: ArrayLike<number>, y: ArrayLike<number>): number => {
  if (x.length !== y.length) throw new Error(`length mismatch ${x.length} vs ${y.length}`);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
};

/** max|x − y| / max(max|y|, tiny) */
export const relErr = (x: ArrayLike<number>, y: ArrayLike<number>): number => maxAbsDiff(x, y) / Math.max(maxAbs(y), 1e-300);

/** Deterministic pseudo-random numbers in [-1, 1). */
export const lcg = (seed: number) => {
  let s = seed >>> 0 || 1;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
};

/** B Bᵀ / m + εI from a random n×m B (SPD). */
export const spdFrom = (B: ArrayLike<number>, n: number, m: number, eps: number): Float64Array =>
  addDiag(
    matMul(B, transpose(B, n, m), n, m, n).map((v) => v / m),
    n,
    eps,
  );

export const randomSpd = (n: number, seed: number, eps = 1e-2, m = n): Float64Array => {
  const r = lcg(seed);
  return spdFrom(Float64Array.from({ length: n * m }, r), n, m, eps);
};

export const randomVec = (n: number, seed: number): Float64Array => Float64Array.from({ length: n }, lcg(seed));

// Entries are multiples of 1/1000 in [−1, 1]: bounded so B Bᵀ stays well-scaled (ε keeps it comfortably
// positive definite), and never tiny-but-nonzero (1e−162 squares to 0 in any ‖·‖², CG's stopping test).
const arbEntry = fc.integer({ min: -1000, max: 1000 }).map((k) => k / 1000);

export const arbSpd = (maxN: number, eps = 0.1) =>
  fc.integer({ min: 1, max: maxN }).chain((n) =>
    fc
      .array(arbEntry, { minLength: n * n, maxLength: n * n })
      .map((b) => ({ n, A: spdFrom(Float64Array.from(b), n, n, eps) })),
  );

export const arbVec = (n: number) =>
  fc
    .array(arbEntry, { minLength: n, maxLength: n })
    .map((v) => Float64Array.from(v));
