/**
 * L-BFGS two-loop recursion (Nocedal 1980): H g with H the BFGS inverse-Hessian approximation
 * built from the secant pairs (s, y), oldest first, starting from H₀ = γI
 * (γ = sᵀy / yᵀy of the newest usable pair unless given). Pairs with sᵀy ≤ 0 (or non-finite)
 * would make H indefinite; they are skipped and reported.
 */
import type { VectorOps } from './vectorOps.js';

export interface LbfgsPair<V> {
  readonly s: V;
  readonly y: V;
}

export interface LbfgsResult<V> {
  /** ≈ H⁻¹ g (the inverse-Hessian approximation applied to g). */
  readonly direction: V;
  /** Indices (in `pairs`) of the pairs skipped because sᵀy ≤ 0. */
  readonly skipped: readonly number[];
  readonly gamma: number;
  readonly warnings: readonly string[];
}

export const lbfgsTwoLoopReport = <V>(
  ops: VectorOps<V>,
  pairs: readonly LbfgsPair<V>[],
  g: V,
  options: { readonly gamma?: number } = {},
): LbfgsResult<V> => {
  const used: { s: V; y: V; rho: number }[] = [];
  const skipped: number[] = [];
  pairs.forEach((pr, i) => {
    const sy = ops.dot(pr.s, pr.y);
    if (sy > 0 && Number.isFinite(sy)) used.push({ s: pr.s, y: pr.y, rho: 1 / sy });
    else skipped.push(i);
  });
  const warnings: string[] = [];
  if (skipped.length > 0) {
    warnings.push(`lbfgsTwoLoop: skipped ${skipped.length} pair(s) with sᵀy ≤ 0 (indices ${skipped.join(', ')}); curvature condition violated`);
  }
  let gamma = options.gamma;
  if (gamma === undefined) {
    const last = used[used.length - 1];
    if (last) {
      const yy = ops.dot(last.y, last.y);
      gamma = 1 / (last.rho * yy);
    } else gamma = 1;
  }
  if (!(gamma > 0) || !Number.isFinite(gamma)) throw new RangeError(`lbfgsTwoLoop: gamma must be positive and finite, got ${gamma}`);
  const free = (v: V) => ops.dispose?.(v);
  let q = ops.clone ? ops.clone(g) : ops.scale(1, g);
  const alphas = new Array<number>(used.length);
  for (let i = used.length - 1; i >= 0; i--) {
    const u = used[i]!;
    const a = u.rho * ops.dot(u.s, q);
    alphas[i] = a;
    const qn = ops.axpy(-a, u.y, q);
    free(q);
    q = qn;
  }
  let r = ops.scale(gamma, q);
  free(q);
  for (let i = 0; i < used.length; i++) {
    const u = used[i]!;
    const beta = u.rho * ops.dot(u.y, r);
    const rn = ops.axpy(alphas[i]! - beta, u.s, r);
    free(r);
    r = rn;
  }
  return { direction: r, skipped, gamma, warnings };
};

/** H g by the two-loop recursion (see `lbfgsTwoLoopReport` for the skipped pairs). */
export const lbfgsTwoLoop = <V>(ops: VectorOps<V>, pairs: readonly LbfgsPair<V>[], g: V, options: { readonly gamma?: number } = {}): V =>
  lbfgsTwoLoopReport(ops, pairs, g, options).direction;
