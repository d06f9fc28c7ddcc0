/**
 * Dense symmetric solvers on the host, float64, row-major n×n Float64Array.
 *
 * Implementation choice (measured, see bench/solvers.ts and docs/engine.md): our own Cholesky and
 * Householder-tridiagonalization + implicit QL (the EISPACK tred2/tql2 pair, as in JAMA and
 * ml-matrix) on flat Float64Arrays, with the eigenvector matrix stored transposed so every hot
 * loop is a contiguous scan. ml-matrix runs the same algorithm through per-element get/set calls.
 */
import * as E from 'fp-ts/lib/Either.js';
import { checkSquare, firstNonFinite, invalidInput, type SolverError } from './errors.js';
import { denseKernels } from './kernels.js';

export interface CholeskyOptions {
  /** Retries with growing diagonal jitter after the first failure (default 6: jitter up to 1e-5·mean|diag|). */
  readonly maxJitterTries?: number;
}

export interface CholeskyResult {
  /** Lower-triangular factor, row-major n×n (upper triangle zero), L Lᵀ = A + jitter·I. */
  readonly L: Float64Array;
  /** Diagonal jitter that had to be added (0 when A itself factored). */
  readonly jitter: number;
  readonly warnings: string[];
}

export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  readonly values: Float64Array;
  /** Row-major n×n; column j is the unit eigenvector of values[j]. */
  readonly vectors: Float64Array;
}

/** Relative asymmetry max|Aij − Aji| / max|A| accepted (and symmetrized away). */
const SYMMETRY_TOL = 1e-5;

const symmetrized = (name: string, A: Float64Array, n: number): E.Either<SolverError, Float64Array> => {
  const bad = checkSquare(name, A, n);
  if (bad) return E.left(bad);
  let maxAbs = 0;
  let maxAsym = 0;
  for (let i = 0; i < n * n; i++) maxAbs = Math.max(maxAbs, Math.abs(A[i]!));
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    S[i * n + i] = A[i * n + i]!;
    for (let j = 0; j < i; j++) {
      const a = A[i * n + j]!;
      const b = A[j * n + i]!;
      maxAsym = Math.max(maxAsym, Math.abs(a - b));
      const m = 0.5 * (a + b);
      S[i * n + j] = m;
      S[j * n + i] = m;
    }
  }
  if (maxAsym > SYMMETRY_TOL * maxAbs) {
    const rel = maxAsym / maxAbs;
    return E.left({
      _tag: 'NotSymmetric',
      asymmetry: rel,
      message: `${name}: matrix is not symmetric (max |Aij − Aji| / max |A| = ${rel.toExponential(2)} > ${SYMMETRY_TOL})`,
    });
  }
  return E.right(S);
};

/** Default number of jitter retries (jitter up to 1e-5·mean|diag|), shared by both dense solve methods. */
export const DEFAULT_JITTER_TRIES = 6;

/**
 * The first rung of the jitter ladder for A + λI: 1e-10·mean|Aᵢᵢ + λ| (1e-10 for a zero diagonal).
 * Rung t adds base·10ᵗ. Both dense solve methods climb the same ladder, so a PSD matrix whose
 * null-space eigenvalues came out slightly negative (float32 curvature estimates: −1e-7·‖A‖ is
 * rounding, not indefiniteness) gets the same step from `cholesky` and from `eigen`.
 */
export const jitterBase = (A: Float64Array, n: number, lambda: number): number => {
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += Math.abs(A[i * n + i]! + lambda);
  meanDiag /= n;
  return 1e-10 * (meanDiag > 0 ? meanDiag : 1);
};

/** In-place-free Cholesky of S + jitter·I; returns L or the failing pivot index. */
const choleskyRaw = (S: Float64Array, n: number, jitter: number): { L: Float64Array } | { failedAt: number; pivot: number } => {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = S[ri + j]!;
      if (i === j) s += jitter;
      for (let k = 0; k < j; k++) s -= L[ri + k]! * L[rj + k]!;
      if (i === j) {
        if (!(s > 0) || !Number.isFinite(s)) return { failedAt: i, pivot: s };
        L[ri + i] = Math.sqrt(s);
      } else {
        L[ri + j] = s / L[rj + j]!;
      }
    }
  }
  return { L };
};

/** Cholesky A = L Lᵀ of a symmetric positive-definite matrix; on failure retries with growing jitter. */
export const cholesky = (A: Float64Array, n: number, options: CholeskyOptions = {}): E.Either<SolverError, CholeskyResult> => {
  const tries = options.maxJitterTries ?? DEFAULT_JITTER_TRIES;
  if (!Number.isInteger(tries) || tries < 0) return E.left(invalidInput(`cholesky: maxJitterTries must be a non-negative integer, got ${tries}`));
  return E.chain((S: Float64Array): E.Either<SolverError, CholeskyResult> => {
    const base = jitterBase(S, n, 0);
    const warnings: string[] = [];
    // A registered accelerated kernel (src/solvers/kernels.ts) answers the common, PD case; any
    // failure goes through the JS path below for its jitter retries and diagnostics.
    const fast = denseKernels().cholesky?.(S, n, 0);
    if (fast !== undefined) return E.right({ L: fast, jitter: 0, warnings });
    let first = choleskyRaw(S, n, 0);
    if ('L' in first) return E.right({ L: first.L, jitter: 0, warnings });
    let jitter = 0;
    for (let t = 0; t < tries; t++) {
      jitter = base * 10 ** t;
      const r = choleskyRaw(S, n, jitter);
      if ('L' in r) {
        warnings.push(
          `cholesky: matrix not numerically positive definite (pivot ${first.failedAt} = ${first.pivot.toExponential(3)}); ` +
            `factored with jitter ${jitter.toExponential(2)}·I`,
        );
        return E.right({ L: r.L, jitter, warnings });
      }
      first = r.failedAt > first.failedAt ? first : r;
    }
    return E.left({
      _tag: 'NotPositiveDefinite',
      jitterTried: jitter,
      message:
        `cholesky: matrix is not positive definite (pivot ${first.failedAt} = ${first.pivot.toExponential(3)}` +
        (tries > 0 ? `, still failing with jitter ${jitter.toExponential(2)}·I)` : ')'),
    });
  })(symmetrized('cholesky', A, n));
};

/** Solves L Lᵀ x = b (L from `cholesky`). */
export const choleskySolve = (L: Float64Array, n: number, b: Float64Array): Float64Array => {
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = x[i]!;
    for (let k = 0; k < i; k++) s -= L[ri + k]! * x[k]!;
    x[i] = s / L[ri + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n;
    const xi = x[i]! / L[ri + i]!;
    x[i] = xi;
    for (let k = 0; k < i; k++) x[k] = x[k]! - L[ri + k]! * xi;
  }
  return x;
};

const hypot = (a: number, b: number): number => {
  const aa = Math.abs(a);
  const bb = Math.abs(b);
  if (aa > bb) {
    const r = b / a;
    return aa * Math.sqrt(1 + r * r);
  }
  if (b !== 0) {
    const r = a / b;
    return bb * Math.sqrt(1 + r * r);
  }
  return 0;
};

// Hot loops as small functions: V8 optimizes these far better than the same loops inlined in one
// large function (measured: bench/solvers.ts).

/** e[k] += W[rj+k]·f for k in [from, to); returns Σ W[rj+k]·d[k] over the same range. */
const symvRow = (W: Float64Array, rj: number, from: number, to: number, d: Float64Array, e: Float64Array, f: number): number => {
  let g = 0;
  for (let k = from; k < to; k++) {
    const w = W[rj + k]!;
    g += w * d[k]!;
    e[k] = e[k]! + w * f;
  }
  return g;
};

/** W[rj+k] −= f·e[k] + g·d[k] for k in [from, to). */
const rank2Row = (W: Float64Array, rj: number, from: number, to: number, f: number, e: Float64Array, g: number, d: Float64Array): void => {
  for (let k = from; k < to; k++) W[rj + k] = W[rj + k]! - (f * e[k]! + g * d[k]!);
};

const dotRows = (W: Float64Array, ra: number, rb: number, len: number): number => {
  let g = 0;
  for (let k = 0; k < len; k++) g += W[ra + k]! * W[rb + k]!;
  return g;
};

/** W[rj+k] += a·d[k] for k < len. */
const axpyRow = (W: Float64Array, rj: number, a: number, d: Float64Array, len: number): void => {
  for (let k = 0; k < len; k++) W[rj + k] = W[rj + k]! + a * d[k]!;
};

/** Givens rotation of rows ri and ri + n of W. */
const rotateRows = (W: Float64Array, ri: number, n: number, c: number, s: number): void => {
  const ri1 = ri + n;
  for (let k = 0; k < n; k++) {
    const hk = W[ri1 + k]!;
    const wk = W[ri + k]!;
    W[ri1 + k] = s * wk + c * hk;
    W[ri + k] = c * wk - s * hk;
  }
};

/**
 * tred2 + tql2 on W = Vᵀ (row k of W is column k of V). Input W holds the symmetric matrix;
 * on return d holds ascending eigenvalues and row j of W the eigenvector of d[j].
 * Returns false if QL fails to converge.
 */
const tred2tql2 = (n: number, W: Float64Array, d: Float64Array, e: Float64Array): boolean => {
  let f: number, g: number, h: number, hh: number, scale: number;
  for (let j = 0; j < n; j++) d[j] = W[j * n + n - 1]!;
  for (let i = n - 1; i > 0; i--) {
    scale = 0;
    h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = W[j * n + i - 1]!;
        W[j * n + i] = 0;
        W[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      f = d[i - 1]!;
      g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        const rj = j * n;
        f = d[j]!;
        W[i * n + j] = f;
        e[j] = e[j]! + W[rj + j]! * f + symvRow(W, rj, j + 1, i, d, e, f);
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        const rj = j * n;
        f = d[j]!;
        g = e[j]!;
        rank2Row(W, rj, j, i, f, e, g, d);
        d[j] = W[rj + i - 1]!;
        W[rj + i] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    W[i * n + n - 1] = W[i * n + i]!;
    W[i * n + i] = 1;
    h = d[i + 1]!;
    const ri1 = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = W[ri1 + k]! / h;
      for (let j = 0; j <= i; j++) {
        const rj = j * n;
        axpyRow(W, rj, -dotRows(W, ri1, rj, i + 1), d, i + 1);
      }
    }
    for (let k = 0; k <= i; k++) W[ri1 + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = W[j * n + n - 1]!;
    W[j * n + n - 1] = 0;
  }
  W[n * n - 1] = 1;
  e[0] = 0;
  return tql2(n, W, d, e);
};

/** Implicit QL on the tridiagonal (d, e), rotating rows of W; sorts ascending. False if no convergence. */
const tql2 = (n: number, W: Float64Array, d: Float64Array, e: Float64Array): boolean => {
  let f: number, g: number, h: number;
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  f = 0;
  let tst1 = 0;
  const eps = Number.EPSILON;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) return false;
        g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          rotateRows(W, i * n, n, c, s);
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  // sort ascending, swapping rows of W
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i]!;
    for (let j = i + 1; j < n; j++) {
      if (d[j]! < p) {
        k = j;
        p = d[j]!;
      }
    }
    if (k !== i) {
      d[k] = d[i]!;
      d[i] = p;
      const ri = i * n;
      const rk = k * n;
      for (let j = 0; j < n; j++) {
        const t = W[ri + j]!;
        W[ri + j] = W[rk + j]!;
        W[rk + j] = t;
      }
    }
  }
  return true;
};

/**
 * Eigendecomposition of a symmetric matrix, as rows: values ascending, `rows` row-major with
 * row j the eigenvector of values[j] (the cheaper layout for products; `symmetricEigen` transposes).
 */
export const symmetricEigenRows = (A: Float64Array, n: number): E.Either<SolverError, { values: Float64Array; rows: Float64Array }> =>
  E.chain((W: Float64Array): E.Either<SolverError, { values: Float64Array; rows: Float64Array }> => {
    const fast = denseKernels().symmetricEigen?.(W, n);
    if (fast !== undefined && firstNonFinite(fast.values) < 0 && firstNonFinite(fast.vectors) < 0) {
      const rows = new Float64Array(n * n);
      const v = fast.vectors;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rows[j * n + i] = v[i * n + j]!;
      return E.right({ values: fast.values, rows });
    }
    const d = new Float64Array(n);
    const e = new Float64Array(n);
    if (!tred2tql2(n, W, d, e) || firstNonFinite(d) >= 0 || firstNonFinite(W) >= 0) {
      return E.left<SolverError>({ _tag: 'NoConvergence', message: `symmetricEigen: QL iteration did not converge (n = ${n})` });
    }
    return E.right({ values: d, rows: W });
  })(symmetrized('symmetricEigen', A, n));

/** A = V diag(values) Vᵀ, values ascending, V row-major with column j the eigenvector j. */
export const symmetricEigen = (A: Float64Array, n: number): E.Either<SolverError, SymmetricEigen> =>
  E.map(({ values, rows }: { values: Float64Array; rows: Float64Array }) => {
    const vectors = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) vectors[i * n + j] = rows[j * n + i]!;
    return { values, vectors };
  })(symmetricEigenRows(A, n));

/** V diag(f(values)) Vᵀ from eigenvector rows (row j = eigenvector j). */
export const spectralFunction = (rows: Float64Array, n: number, fValues: Float64Array): Float64Array => {
  // out[i][k] = Σ_j rows[j][i] f_j rows[j][k]; accumulate rank-one updates row-wise (contiguous).
  const out = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const fj = fValues[j]!;
    if (fj === 0) continue;
    const rj = j * n;
    for (let i = 0; i < n; i++) {
      const c = fj * rows[rj + i]!;
      if (c === 0) continue;
      const ri = i * n;
      for (let k = 0; k < n; k++) out[ri + k] = out[ri + k]! + c * rows[rj + k]!;
    }
  }
  return out;
};

/** Eigenvalues below this (relative to the largest |eigenvalue|) are rounding noise. */
const clampTolerance = (values: Float64Array, n: number, lambda: number): number => {
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]! + lambda));
  return 64 * n * Number.EPSILON * maxAbs;
};

export interface PowerResult {
  readonly matrix: Float64Array;
  readonly warnings: string[];
}

/**
 * f(values + λ)^p for a spectral power, clamping tiny negative eigenvalues (rounding noise) to 0
 * with a warning; Left on a genuinely negative eigenvalue with a fractional power, or on a zero
 * eigenvalue with a negative power.
 */
export const powerOfEigenvalues = (
  values: Float64Array,
  n: number,
  p: number,
  lambda: number,
  name: string,
): E.Either<SolverError, { powered: Float64Array; warnings: string[] }> => {
  if (!Number.isFinite(p)) return E.left(invalidInput(`${name}: power must be finite, got ${p}`));
  if (!Number.isFinite(lambda)) return E.left(invalidInput(`${name}: lambda must be finite, got ${lambda}`));
  const tol = clampTolerance(values, n, lambda);
  const integer = Number.isInteger(p);
  const powered = new Float64Array(values.length);
  const warnings: string[] = [];
  let clamped = 0;
  let worst = 0;
  for (let i = 0; i < values.length; i++) {
    let v = values[i]! + lambda;
    if (v < 0 && -v <= tol) {
      clamped++;
      worst = Math.min(worst, v);
      v = 0;
    } else if (v < 0 && !integer) {
      return E.left({
        _tag: 'NegativeEigenvalue',
        eigenvalue: v,
        message: `${name}: eigenvalue ${v.toExponential(3)} (after damping) is negative; the fractional power ${p} is undefined`,
      });
    }
    if (p < 0 && Math.abs(v) <= tol) {
      return E.left({
        _tag: 'Singular',
        message: `${name}: eigenvalue ${v.toExponential(3)} is numerically zero; the power ${p} is undefined (add damping)`,
      });
    }
    powered[i] = p === 1 ? v : v ** p;
    if (!Number.isFinite(powered[i]!)) {
      return E.left({ _tag: 'Singular', message: `${name}: eigenvalue ${v.toExponential(3)} raised to ${p} is not finite (add damping)` });
    }
  }
  if (clamped > 0) {
    warnings.push(`${name}: clamped ${clamped} slightly negative eigenvalue(s) (down to ${worst.toExponential(2)}) to 0`);
  }
  return E.right({ powered, warnings });
};

/** (A + λI)^p via the eigendecomposition, with the warnings of any clamping. */
export const symmetricPowerWithReport = (A: Float64Array, n: number, p: number, lambda = 0): E.Either<SolverError, PowerResult> =>
  E.chain(({ values, rows }: { values: Float64Array; rows: Float64Array }) =>
    E.map(({ powered, warnings }: { powered: Float64Array; warnings: string[] }) => ({
      matrix: spectralFunction(rows, n, powered),
      warnings,
    }))(powerOfEigenvalues(values, n, p, lambda, 'symmetricPower')),
  )(symmetricEigenRows(A, n));

/** (A + λI)^p via the eigendecomposition (row-major n×n). */
export const symmetricPower = (A: Float64Array, n: number, p: number, lambda = 0): E.Either<SolverError, Float64Array> =>
  E.map((r: PowerResult) => r.matrix)(symmetricPowerWithReport(A, n, p, lambda));

export interface DenseSolveResult {
  readonly x: Float64Array;
  readonly jitter: number;
  readonly warnings: string[];
}

/** Solves (A + λI) x = b by Cholesky (with jitter retries) or by the eigendecomposition. */
export const solveDense = (
  A: Float64Array,
  n: number,
  b: Float64Array,
  lambda: number,
  method: 'cholesky' | 'eigen',
): E.Either<SolverError, DenseSolveResult> => {
  if (b.length !== n) return E.left(invalidInput(`solveDense: right-hand side has ${b.length} entries, expected ${n}`));
  const badB = firstNonFinite(b);
  if (badB >= 0) return E.left({ _tag: 'NonFinite', message: `solveDense: right-hand side entry ${badB} is ${b[badB]}` });
  if (!Number.isFinite(lambda)) return E.left(invalidInput(`solveDense: lambda must be finite, got ${lambda}`));
  if (A.length !== n * n) return E.left(invalidInput(`solveDense: expected ${n}×${n} = ${n * n} entries, got ${A.length}`));
  if (method === 'cholesky') {
    const Ad = Float64Array.from(A);
    for (let i = 0; i < n; i++) Ad[i * n + i] = Ad[i * n + i]! + lambda;
    return E.map((c: CholeskyResult) => ({ x: choleskySolve(c.L, n, b), jitter: c.jitter, warnings: c.warnings }))(cholesky(Ad, n));
  }
  return E.chain(({ values, rows }: { values: Float64Array; rows: Float64Array }) => {
    // The same jitter ladder as the Cholesky path: λ + jitter with the smallest rung (0 first) that
    // makes every eigenvalue positive. Without it, a PSD curvature whose null-space eigenvalues are
    // float32 rounding below −λ was refused by `eigen` (step rejected, damping raised) and factored
    // with jitter by `cholesky`, so the two solvers took different steps (docs/theory.md §5.1).
    const minValue = values.length > 0 ? values[0]! : 0; // ascending
    const base = jitterBase(A, n, lambda);
    let jitter = 0;
    let tol = clampTolerance(values, n, lambda);
    for (let t = 0; !(minValue + lambda + jitter > tol); t++) {
      if (t >= DEFAULT_JITTER_TRIES) {
        return E.left<SolverError>({
          _tag: 'NotPositiveDefinite',
          jitterTried: jitter,
          message:
            `solveDense: A + λI is not positive definite (eigenvalue ${(minValue + lambda).toExponential(3)} with λ = ${lambda}` +
            (jitter > 0 ? `, still not with jitter ${jitter.toExponential(2)}·I)` : ')'),
        });
      }
      jitter = base * 10 ** t;
      tol = clampTolerance(values, n, lambda + jitter);
    }
    const warnings: string[] =
      jitter > 0
        ? [`eigen: matrix not numerically positive definite (smallest eigenvalue ${(minValue + lambda).toExponential(3)} with λ = ${lambda}); solved with jitter ${jitter.toExponential(2)}·I`]
        : [];
    // x = Σ_j v_j (v_jᵀ b) / (s_j + λ + jitter)
    const x = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const s = values[j]! + lambda + jitter;
      const rj = j * n;
      let c = 0;
      for (let k = 0; k < n; k++) c += rows[rj + k]! * b[k]!;
      c /= s;
      for (let k = 0; k < n; k++) x[k] = x[k]! + c * rows[rj + k]!;
    }
    return E.right({ x, jitter, warnings });
  })(symmetricEigenRows(A, n));
};

/** y = A x for row-major n×n A. */
export const matVec = (A: Float64Array, n: number, x: Float64Array): Float64Array => {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const ri = i * n;
    for (let k = 0; k < n; k++) s += A[ri + k]! * x[k]!;
    y[i] = s;
  }
  return y;
};
