/**
 * Kronecker-factored solves for one dense layer's block kron(A, G) (A: [nA, nA] input factor,
 * G: [nG, nG] output factor; in geodesic's [in, out] row-major layout (A⊗G) vec(V) = vec(A V G)).
 * Factors are eigendecomposed once on the host in float64; the per-step products run in tfjs:
 *   exact:    (A⊗G + λI)⁻¹ vec(V) = vec(Q_A [(Q_Aᵀ V Q_G) ⊘ (s_A s_Gᵀ + λ)] Q_Gᵀ)
 *   factored: (A + π√λ I)⁻¹ V (G + √λ/π I)⁻¹, π = sqrt((tr A / nA) / (tr G / nG))
 *             (Martens & Grosse 2015 §6.3).
 * Factored damping needs no eigendecomposition: `kroneckerFactoredInverse` computes the two damped
 * SPD inverses once (Cholesky, host float64; a registered native kernel when available) and
 * `kroneckerFactoredSolve` applies them with two matmuls. Exact damping needs the eigenbases.
 * Invalid requests (indefinite damped system, zero trace for π) throw a SolverException.
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { powerOfEigenvalues, symmetricEigenRows } from './dense.js';
import { SolverException, type SolverError } from './errors.js';
import { spdInverseMany } from './spd.js';

export type KroneckerDamping = 'exact' | 'factored';

export interface KroneckerEigen {
  readonly nA: number;
  readonly nG: number;
  /** Eigenvectors as columns, [nA, nA] / [nG, nG], float32 tensors. */
  readonly QA: tf.Tensor2D;
  readonly QG: tf.Tensor2D;
  /** Eigenvalues (ascending) as tensors, and in float64 on the host. */
  readonly sA: tf.Tensor1D;
  readonly sG: tf.Tensor1D;
  readonly valuesA: Float64Array;
  readonly valuesG: Float64Array;
  readonly traceA: number;
  readonly traceG: number;
  readonly warnings: readonly string[];
  dispose(): void;
}

const columnsTensor = (rows: Float64Array, n: number): tf.Tensor2D => {
  // rows: row j = eigenvector j; the tensor holds them as columns.
  const out = new Float32Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) out[i * n + j] = rows[j * n + i]!;
  return tf.tensor2d(out, [n, n]);
};

const unwrap = <T>(r: E.Either<SolverError, T>): T => {
  if (E.isLeft(r)) throw new SolverException(r.left);
  return r.right;
};

const trace = (M: Float64Array, n: number): number => {
  let t = 0;
  for (let i = 0; i < n; i++) t += M[i * n + i]!;
  return t;
};

/** Unit roundoff of float32, the precision the factors are accumulated in (Σ aaᵀ, Σ ggᵀ on the backend). */
const FLOAT32_EPSILON = 2 ** -23;

/**
 * Eigenvalues of a Kronecker factor with rounding-level negative values set to 0. A factor is a Gram
 * matrix (1/N) Σ vvᵀ, PSD by construction; accumulated in float32, its entries carry errors up to
 * ~n·ε₃₂·max|M| per entry, so by Weyl's inequality an eigenvalue moves by at most ~n²·ε₃₂·λ_max.
 * A negative eigenvalue within that bound is rounding of an exact zero (the softmax output factor G
 * is singular: its gradients sum to 0 over classes), and clamping it is the nearest PSD matrix.
 * Without this, exact-damped K-FAC refused a solve whenever s_A·s_G,min < −λ (λ ~ 1e-9 in the
 * invariance tests), in one parametrization and not another (docs/theory.md §5.1).
 */
export const clampGramEigenvalues = (values: Float64Array, n: number, what: string): { values: Float64Array; warning: string | undefined } => {
  let maxAbs = 0;
  for (let i = 0; i < values.length; i++) maxAbs = Math.max(maxAbs, Math.abs(values[i]!));
  const tol = 8 * n * n * FLOAT32_EPSILON * maxAbs;
  let clamped = 0;
  let worst = 0;
  const out = Float64Array.from(values);
  for (let i = 0; i < out.length; i++) {
    if (out[i]! < 0 && -out[i]! <= tol) {
      clamped++;
      worst = Math.min(worst, out[i]!);
      out[i] = 0;
    }
  }
  return { values: out, warning: clamped > 0 ? `${what}: clamped ${clamped} rounding-level negative eigenvalue(s) (down to ${worst.toExponential(2)}) of a PSD factor to 0` : undefined };
};

/** Eigendecomposes both factors; Left if either is not a finite symmetric matrix. Rounding-level
 * negative eigenvalues of the (PSD by construction) factors are clamped to 0 (`clampGramEigenvalues`). */
export const tryKroneckerFactorsEigen = (
  A: Float64Array,
  nA: number,
  G: Float64Array,
  nG: number,
): E.Either<SolverError, KroneckerEigen> => {
  const ea = symmetricEigenRows(A, nA);
  if (E.isLeft(ea)) return E.left({ ...ea.left, message: `kronecker factor A: ${ea.left.message}` });
  const eg = symmetricEigenRows(G, nG);
  if (E.isLeft(eg)) return E.left({ ...eg.left, message: `kronecker factor G: ${eg.left.message}` });
  const ca = clampGramEigenvalues(ea.right.values, nA, 'kronecker factor A');
  const cg = clampGramEigenvalues(eg.right.values, nG, 'kronecker factor G');
  const QA = columnsTensor(ea.right.rows, nA);
  const QG = columnsTensor(eg.right.rows, nG);
  const sA = tf.tensor1d(Float32Array.from(ca.values));
  const sG = tf.tensor1d(Float32Array.from(cg.values));
  let disposed = false;
  return E.right({
    nA,
    nG,
    QA,
    QG,
    sA,
    sG,
    valuesA: ca.values,
    valuesG: cg.values,
    traceA: trace(A, nA),
    traceG: trace(G, nG),
    warnings: [ca.warning, cg.warning].filter((w): w is string => w !== undefined),
    dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose([QA, QG, sA, sG]);
    },
  });
};

/** As `tryKroneckerFactorsEigen`, throwing a SolverException on invalid factors. */
export const kroneckerFactorsEigen = (A: Float64Array, nA: number, G: Float64Array, nG: number): KroneckerEigen => {
  const r = tryKroneckerFactorsEigen(A, nA, G, nG);
  if (E.isLeft(r)) throw new SolverException(r.left);
  return r.right;
};

/** π of the factored damping from the factors' traces, and the per-factor damping (π√λ, √λ/π). */
export const tryFactoredDampingOf = (
  traceA: number,
  nA: number,
  traceG: number,
  nG: number,
  lambda: number,
): E.Either<SolverError, { pi: number; lambdaA: number; lambdaG: number }> => {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) {
    return E.left({ _tag: 'InvalidInput', message: `kronecker: factored damping needs a finite λ ≥ 0, got ${lambda}` });
  }
  const meanA = traceA / nA;
  const meanG = traceG / nG;
  if (!(meanA > 0) || !(meanG > 0)) {
    return E.left({
      _tag: 'Singular',
      message: `kronecker: factored damping needs positive factor traces (tr A / nA = ${meanA}, tr G / nG = ${meanG})`,
    });
  }
  const pi = Math.sqrt(meanA / meanG);
  const r = Math.sqrt(lambda);
  return E.right({ pi, lambdaA: pi * r, lambdaG: r / pi });
};

/** π of the factored damping, and the per-factor damping (π√λ, √λ/π). */
export const factoredDamping = (eig: KroneckerEigen, lambda: number): { pi: number; lambdaA: number; lambdaG: number } =>
  unwrap(tryFactoredDampingOf(eig.traceA, eig.nA, eig.traceG, eig.nG, lambda));

/** The nA×nG grid of (s_A[i] s_G[j] + λ)^p ('exact') or (s_A[i] + λ_A)^p (s_G[j] + λ_G)^p ('factored'). */
export const kroneckerEigenvalueGrid = (eig: KroneckerEigen, p: number, lambda: number, mode: KroneckerDamping): Float64Array => {
  const { nA, nG, valuesA, valuesG } = eig;
  if (mode === 'exact') {
    const prod = new Float64Array(nA * nG);
    for (let i = 0; i < nA; i++) for (let j = 0; j < nG; j++) prod[i * nG + j] = valuesA[i]! * valuesG[j]!;
    return unwrap(powerOfEigenvalues(prod, nA * nG, p, lambda, 'kronecker (exact damping)')).powered;
  }
  const { lambdaA, lambdaG } = factoredDamping(eig, lambda);
  const pa = unwrap(powerOfEigenvalues(valuesA, nA, p, lambdaA, 'kronecker factor A (factored damping)')).powered;
  const pg = unwrap(powerOfEigenvalues(valuesG, nG, p, lambdaG, 'kronecker factor G (factored damping)')).powered;
  const out = new Float64Array(nA * nG);
  for (let i = 0; i < nA; i++) for (let j = 0; j < nG; j++) out[i * nG + j] = pa[i]! * pg[j]!;
  return out;
};

const checkV = (eig: KroneckerEigen, V: tf.Tensor2D, name: string): void => {
  if (V.rank !== 2 || V.shape[0] !== eig.nA || V.shape[1] !== eig.nG) {
    throw new SolverException({
      _tag: 'InvalidInput',
      message: `${name}: V must have shape [${eig.nA}, ${eig.nG}], got [${V.shape.join(', ')}]`,
    });
  }
};

/** (A⊗G + λI)^p vec(V) (exact) or (A+π√λI)^p V (G+√λ/πI)^p (factored), as an [nA, nG] tensor. */
export const kroneckerPower = (
  eig: KroneckerEigen,
  V: tf.Tensor2D,
  p: number,
  lambda: number,
  mode: KroneckerDamping = 'exact',
): tf.Tensor2D => {
  checkV(eig, V, 'kroneckerPower');
  const grid = kroneckerEigenvalueGrid(eig, p, lambda, mode);
  return tf.tidy(() => {
    const D = tf.tensor2d(Float32Array.from(grid), [eig.nA, eig.nG]);
    const inBasis = tf.matMul(tf.matMul(eig.QA, V, true, false), eig.QG);
    return tf.matMul(tf.matMul(eig.QA, tf.mul(inBasis, D)), eig.QG, false, true) as tf.Tensor2D;
  });
};

/**
 * The exact-damping inverse grid 1 / (s_A s_Gᵀ + λ) as an [nA, nG] float32 tensor, computed on the
 * backend; throws NotPositiveDefinite when some s_A[i] s_G[j] + λ is not safely positive (checked
 * on the host from the four corner products: the eigenvalues are sorted, so the extreme products
 * are among them).
 */
export const kroneckerInverseGrid = (eig: KroneckerEigen, lambda: number): tf.Tensor2D => {
  if (!Number.isFinite(lambda)) throw new SolverException({ _tag: 'InvalidInput', message: `kroneckerSolve: λ must be finite, got ${lambda}` });
  const { valuesA: a, valuesG: g, nA, nG } = eig;
  const corners = [a[0]! * g[0]!, a[0]! * g[nG - 1]!, a[nA - 1]! * g[0]!, a[nA - 1]! * g[nG - 1]!].map((c) => c + lambda);
  const min = Math.min(...corners);
  const max = Math.max(...corners.map(Math.abs));
  if (!(min > 64 * nA * nG * Number.EPSILON * max)) {
    throw new SolverException({
      _tag: 'NotPositiveDefinite',
      jitterTried: 0,
      message:
        `kroneckerSolve (exact damping): the damped Kronecker system is not positive definite ` +
        `(smallest eigenvalue ${min.toExponential(3)} with λ = ${lambda}); increase damping`,
    });
  }
  return tf.tidy(() => tf.reciprocal(tf.add(tf.outerProduct(eig.sA, eig.sG), lambda)) as tf.Tensor2D);
};

/** Q_A [(Q_Aᵀ V Q_G) ∘ D] Q_Gᵀ for a grid D from `kroneckerInverseGrid` (cache D across solves at one λ). */
export const kroneckerSolveWithGrid = (eig: KroneckerEigen, V: tf.Tensor2D, D: tf.Tensor2D): tf.Tensor2D => {
  checkV(eig, V, 'kroneckerSolve');
  return tf.tidy(() => {
    const inBasis = tf.matMul(tf.matMul(eig.QA, V, true, false), eig.QG);
    return tf.matMul(tf.matMul(eig.QA, tf.mul(inBasis, D)), eig.QG, false, true) as tf.Tensor2D;
  });
};

/** (A⊗G + λI)⁻¹ vec(V) ('exact') or the π-corrected (A + π√λI)⁻¹ V (G + √λ/π I)⁻¹ ('factored'). */
export const kroneckerSolve = (eig: KroneckerEigen, V: tf.Tensor2D, lambda: number, mode: KroneckerDamping): tf.Tensor2D => {
  checkV(eig, V, 'kroneckerSolve');
  if (mode === 'exact') {
    const D = kroneckerInverseGrid(eig, lambda);
    try {
      return kroneckerSolveWithGrid(eig, V, D);
    } finally {
      D.dispose();
    }
  }
  const damped = kroneckerEigenvalueGrid(eig, 1, lambda, mode);
  let min = Infinity;
  let max = 0;
  for (let i = 0; i < damped.length; i++) {
    min = Math.min(min, damped[i]!);
    max = Math.max(max, Math.abs(damped[i]!));
  }
  if (!(min > 64 * damped.length * Number.EPSILON * max)) {
    throw new SolverException({
      _tag: 'NotPositiveDefinite',
      jitterTried: 0,
      message:
        `kroneckerSolve (${mode} damping): the damped Kronecker system is not positive definite ` +
        `(smallest eigenvalue ${min.toExponential(3)} with λ = ${lambda}); increase damping`,
    });
  }
  return kroneckerPower(eig, V, -1, lambda, mode);
};

/**
 * For the factored mode, the two dense factor matrices (A + π√λI)^p and (G + √λ/π I)^p (so a
 * caller can cache them and apply left·V·right with two matmuls per step).
 */
export const kroneckerFactoredPowers = (
  eig: KroneckerEigen,
  p: number,
  lambda: number,
): { readonly left: tf.Tensor2D; readonly right: tf.Tensor2D; readonly pi: number } => {
  const { pi, lambdaA, lambdaG } = factoredDamping(eig, lambda);
  const pa = unwrap(powerOfEigenvalues(eig.valuesA, eig.nA, p, lambdaA, 'kronecker factor A (factored damping)')).powered;
  const pg = unwrap(powerOfEigenvalues(eig.valuesG, eig.nG, p, lambdaG, 'kronecker factor G (factored damping)')).powered;
  return tf.tidy(() => {
    const left = tf.matMul(tf.mul(eig.QA, tf.tensor1d(Float32Array.from(pa))), eig.QA, false, true) as tf.Tensor2D;
    const right = tf.matMul(tf.mul(eig.QG, tf.tensor1d(Float32Array.from(pg))), eig.QG, false, true) as tf.Tensor2D;
    return { left, right, pi };
  });
};

export interface KroneckerFactoredInverse {
  readonly nA: number;
  readonly nG: number;
  readonly lambda: number;
  readonly pi: number;
  /** (A + π√λ I)⁻¹, [nA, nA] float32 tensor. */
  readonly left: tf.Tensor2D;
  /** (G + √λ/π I)⁻¹, [nG, nG] float32 tensor. */
  readonly right: tf.Tensor2D;
  /** Largest Cholesky jitter that had to be added to a damped factor (0 normally). */
  readonly jitter: number;
  readonly warnings: readonly string[];
  dispose(): void;
}

const tensorOf = (M: Float64Array, n: number): tf.Tensor2D => {
  // a plain loop: ≈ 2× faster than Float32Array.from / new Float32Array on 10⁶ entries (node 20)
  const f = new Float32Array(M.length);
  for (let i = 0; i < M.length; i++) f[i] = M[i]!;
  return tf.tensor2d(f, [n, n]);
};

/** One layer's factors for `tryKroneckerFactoredInverses`. */
export interface KroneckerFactorPair {
  readonly A: Float64Array;
  readonly nA: number;
  readonly G: Float64Array;
  readonly nG: number;
}

/**
 * The π-corrected factored-damping inverses (A + π√λ I)⁻¹ and (G + √λ/π I)⁻¹, by SPD inverses
 * (no eigendecomposition); Left if a damped factor is not positive definite or π is undefined.
 * The tensors are created outside any tidy scope's reach only if the caller keeps them
 * (`tf.keep`) — call it outside tf.tidy, or keep `left`/`right`.
 */
export const tryKroneckerFactoredInverse = (
  A: Float64Array,
  nA: number,
  G: Float64Array,
  nG: number,
  lambda: number,
): E.Either<SolverError, KroneckerFactoredInverse> => tryKroneckerFactoredInverses([{ A, nA, G, nG }], lambda)[0]!;

/**
 * `tryKroneckerFactoredInverse` for several blocks at one λ, one result per block (same values and
 * error messages as block by block): every π first, then ONE `spdInverseMany` over the 2 × blocks
 * damped factors (a native kernel spreads them over its threads), then the tensors. The caller
 * owns (and disposes) every Right, also when another block failed.
 */
export const tryKroneckerFactoredInverses = (
  items: readonly KroneckerFactorPair[],
  lambda: number,
): E.Either<SolverError, KroneckerFactoredInverse>[] => {
  const damping = items.map(({ A, nA, G, nG }): E.Either<SolverError, { pi: number; lambdaA: number; lambdaG: number }> => {
    if (A.length !== nA * nA || G.length !== nG * nG) {
      return E.left({ _tag: 'InvalidInput', message: `kronecker: factors must be ${nA}×${nA} and ${nG}×${nG}, got ${A.length} and ${G.length} entries` });
    }
    return tryFactoredDampingOf(trace(A, nA), nA, trace(G, nG), nG, lambda);
  });
  const valid = items.flatMap((_, i) => (E.isRight(damping[i]!) ? [i] : []));
  const inverses = spdInverseMany(
    valid.flatMap((i) => {
      const { A, nA, G, nG } = items[i]!;
      const { lambdaA, lambdaG } = (damping[i] as E.Right<{ lambdaA: number; lambdaG: number }>).right;
      return [
        { A, n: nA, damping: lambdaA },
        { A: G, n: nG, damping: lambdaG },
      ];
    }),
  );
  const byItem = new Map(valid.map((i, j) => [i, { ia: inverses[2 * j]!, ig: inverses[2 * j + 1]! }]));
  const made: KroneckerFactoredInverse[] = [];
  try {
    return items.map(({ nA, nG }, i) => {
      const d = damping[i]!;
      if (E.isLeft(d)) return d;
      const { pi } = d.right;
      const { ia, ig } = byItem.get(i)!;
      if (E.isLeft(ia)) return E.left({ ...ia.left, message: `kronecker factor A + π√λ I (factored damping, π = ${pi.toPrecision(4)}): ${ia.left.message}` });
      if (E.isLeft(ig)) return E.left({ ...ig.left, message: `kronecker factor G + √λ/π I (factored damping, π = ${pi.toPrecision(4)}): ${ig.left.message}` });
      const left = tensorOf(ia.right.inverse, nA);
      const right = tensorOf(ig.right.inverse, nG);
      let disposed = false;
      const inv: KroneckerFactoredInverse = {
        nA,
        nG,
        lambda,
        pi,
        left,
        right,
        jitter: Math.max(ia.right.jitter, ig.right.jitter),
        warnings: [...ia.right.warnings, ...ig.right.warnings],
        dispose() {
          if (disposed) return;
          disposed = true;
          tf.dispose([left, right]);
        },
      };
      made.push(inv);
      return E.right(inv);
    });
  } catch (e) {
    made.forEach((m) => m.dispose()); // a tensor allocation failed: release this call's tensors
    throw e;
  }
};

/** As `tryKroneckerFactoredInverse`, throwing a SolverException. */
export const kroneckerFactoredInverse = (A: Float64Array, nA: number, G: Float64Array, nG: number, lambda: number): KroneckerFactoredInverse =>
  unwrap(tryKroneckerFactoredInverse(A, nA, G, nG, lambda));

/** (A + π√λ I)⁻¹ V (G + √λ/π I)⁻¹ with the cached inverses (two matmuls). */
export const kroneckerFactoredSolve = (inv: KroneckerFactoredInverse, V: tf.Tensor2D): tf.Tensor2D => {
  if (V.rank !== 2 || V.shape[0] !== inv.nA || V.shape[1] !== inv.nG) {
    throw new SolverException({
      _tag: 'InvalidInput',
      message: `kroneckerFactoredSolve: V must have shape [${inv.nA}, ${inv.nG}], got [${V.shape.join(', ')}]`,
    });
  }
  return tf.tidy(() => tf.matMul(tf.matMul(inv.left, V), inv.right) as tf.Tensor2D);
};
