/**
 * lowrank(C, rank) + diagonal: C ≈ U Uᵀ + diag(d), U = the top `rank` eigenpairs (U's columns are
 * √μᵢ vᵢ) and d the part of C's exact diagonal they leave (clamped at 0), so the diagonal of the
 * approximation equals C's. Eigenpairs come from the R×R Gram matrix of the per-example gradients
 * when C is a sum of R outer products (exact), or else from a randomized range finder on products
 * (Halko, Martinsson & Tropp 2011). Solved by Woodbury (src/solvers). Host float64, P×rank.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Params } from '../../model/types.js';
import { symmetricEigen, woodburySolve } from '../../solvers/index.js';
import { CurvatureError } from '../types.js';
import { checkLambda, chooseSolver, noPower, numParamsOf, probe, report, type Op, type Shapes } from '../operator.js';
import { outerCombine, outerGram, type OuterProducts } from '../samples.js';
import * as V from '../vec.js';
import { makeRng } from '../../model/index.js';

export interface LowRank {
  /** P×k row-major. */
  readonly U: Float64Array;
  readonly k: number;
  /** Diagonal part (length P, ≥ 0). */
  readonly d: Float64Array;
  readonly warnings: readonly string[];
}

/** Largest R for which the Gram route is used. */
export const MAX_GRAM = 4096;

const topEigen = (K: Float64Array, r: number, k: number, what: string): { values: number[]; vectors: Float64Array[] } => {
  const e = symmetricEigen(K, r);
  if (E.isLeft(e)) throw new CurvatureError(`${what}: ${e.left.message}`);
  const { values, vectors } = e.right;
  const out: { values: number[]; vectors: Float64Array[] } = { values: [], vectors: [] };
  for (let j = r - 1; j >= 0 && out.values.length < k; j--) {
    const u = new Float64Array(r);
    for (let i = 0; i < r; i++) u[i] = vectors[i * r + j]!;
    out.values.push(values[j]!);
    out.vectors.push(u);
  }
  return out;
};

const residualDiag = (diag: Float64Array, U: Float64Array, k: number): Float64Array => {
  const P = diag.length;
  const d = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    let s = diag[i]!;
    for (let a = 0; a < k; a++) s -= U[i * k + a]! ** 2;
    d[i] = Math.max(s, 0);
  }
  return d;
};

/** Exact top-k eigenpairs of w Σ s sᵀ through the Gram matrix (no P×P intermediate). */
export function lowRankFromOuter(s: OuterProducts, rank: number, diag: Float64Array, what: string): LowRank {
  const { K, r } = outerGram(s);
  const k = Math.min(rank, r);
  const { values, vectors } = topEigen(K, r, k, what);
  const P = diag.length;
  const U = new Float64Array(P * k);
  const warnings: string[] = [];
  values.forEach((mu, a) => {
    if (!(mu > 0)) return; // zero directions contribute nothing
    const col = outerCombine(s, vectors[a]!); // Bᵀu = √μ v
    const h = V.toHost(col);
    V.dispose(col);
    for (let i = 0; i < P; i++) U[i * k + a] = h[i]!;
  });
  if (k < rank) warnings.push(`${what}: rank ${rank} exceeds the ${r} outer products; using ${k}`);
  return { U, k, d: residualDiag(diag, U, k), warnings };
}

/** Randomized range finder on products (for curvatures known only by mv). Negative eigenvalues are dropped. */
export function lowRankFromProducts(
  shapes: Shapes,
  mv: (v: Params) => Params,
  rank: number,
  diag: Float64Array | undefined,
  seed: number,
  what: string,
): LowRank {
  const P = numParamsOf(shapes);
  const l = Math.min(P, rank + 10);
  const rng = makeRng(seed);
  const apply = (x: Float64Array): Float64Array => {
    const v = V.fromHost(shapes, x);
    const y = mv(v);
    V.dispose(v);
    const h = V.toHost(y);
    V.dispose(y);
    return h;
  };
  // Y = C Ω, then orthonormalize (modified Gram-Schmidt, twice for stability).
  const Q: Float64Array[] = [];
  for (let j = 0; j < l; j++) {
    const omega = new Float64Array(P);
    for (let i = 0; i < P; i++) omega[i] = rng.normal();
    let y = apply(omega);
    for (let pass = 0; pass < 2; pass++) {
      for (const q of Q) {
        let d = 0;
        for (let i = 0; i < P; i++) d += q[i]! * y[i]!;
        for (let i = 0; i < P; i++) y[i] = y[i]! - d * q[i]!;
      }
    }
    let nrm = 0;
    for (let i = 0; i < P; i++) nrm += y[i]! ** 2;
    nrm = Math.sqrt(nrm);
    if (nrm > 1e-12) {
      y = y.map((x) => x / nrm);
      Q.push(y);
    }
  }
  const m = Q.length;
  const CQ = Q.map(apply);
  const T = new Float64Array(m * m);
  for (let a = 0; a < m; a++)
    for (let b = 0; b < m; b++) {
      let d = 0;
      for (let i = 0; i < P; i++) d += Q[a]![i]! * CQ[b]![i]!;
      T[a * m + b] = d;
    }
  for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) T[a * m + b] = T[b * m + a] = 0.5 * (T[a * m + b]! + T[b * m + a]!);
  const k = Math.min(rank, m);
  const { values, vectors } = topEigen(T, m, k, what);
  const U = new Float64Array(P * k);
  const warnings: string[] = [];
  values.forEach((mu, a) => {
    if (!(mu > 0)) {
      warnings.push(`${what}: dropped eigenvalue ${mu.toExponential(3)} ≤ 0 from the low-rank part`);
      return;
    }
    const sm = Math.sqrt(mu);
    const u = vectors[a]!;
    for (let i = 0; i < P; i++) {
      let x = 0;
      for (let b = 0; b < m; b++) x += Q[b]![i]! * u[b]!;
      U[i * k + a] = sm * x;
    }
  });
  const d = diag ? residualDiag(diag, U, k) : new Float64Array(P);
  return { U, k, d, warnings };
}

export function lowRankOp(lr: LowRank, shapes: Shapes, description: string): Op {
  const P = numParamsOf(shapes);
  const { U, k, d } = lr;
  const mvHost = (x: Float64Array): Float64Array => {
    const c = new Float64Array(k);
    for (let i = 0; i < P; i++) for (let a = 0; a < k; a++) c[a] = c[a]! + U[i * k + a]! * x[i]!;
    const y = new Float64Array(P);
    for (let i = 0; i < P; i++) {
      let s = d[i]! * x[i]!;
      for (let a = 0; a < k; a++) s += U[i * k + a]! * c[a]!;
      y[i] = s;
    }
    return y;
  };
  const mv = (v: Params): Params => V.fromHost(shapes, mvHost(V.toHost(v)));
  return {
    structure: 'lowrank',
    shapes,
    description,
    numParams: P,
    mv,
    solve: (v, lambda, options) => {
      checkLambda(lambda);
      if (options?.damping === 'factored') throw new CurvatureError(`factored damping needs Kronecker factors; ${description} has none`);
      chooseSolver(description, ['woodbury'], options);
      const r = woodburySolve(U, k, d, V.toHost(v), lambda);
      if (E.isLeft(r)) throw new CurvatureError(`${description} + λI (λ = ${lambda}): ${r.left.message}`);
      return { x: V.fromHost(shapes, r.right), report: report('woodbury', { warnings: [...lr.warnings] }) };
    },
    toDense: () => probe(description, shapes, mv),
    memory: () => P * (k + 1),
    flops: () => ({ mv: 4 * P * k, solve: 2 * P * k * k + k ** 3 / 3, refresh: 0 }),
    power: () => noPower(description, 'a low-rank-plus-diagonal operator is not closed under powers; use its solve'),
    dispose: () => undefined,
  };
}
