/**
 * Conjugate gradients for A x = b with A symmetric positive definite, given only v ↦ A v.
 * Preconditioned (M⁻¹ r by `preconditioner`), stops when ‖r‖/‖b‖ ≤ tol or after maxIters, and
 * reports both. On breakdown (pᵀAp ≤ 0 or non-finite: A not positive definite along p) it stops
 * with the last iterate and `breakdown` set — never NaN.
 */
import type { VectorOps } from './vectorOps.js';

export interface CgOptions<V> {
  readonly maxIters: number;
  readonly tol: number;
  /** r ↦ M⁻¹ r for an SPD preconditioner M (fresh vector). */
  readonly preconditioner?: (r: V) => V;
  /** Initial guess (default 0); not consumed. */
  readonly x0?: V;
}

export interface CgResult<V> {
  readonly x: V;
  readonly iterations: number;
  /** ‖b − A x‖ / ‖b‖ of the returned x (recursively updated residual). */
  readonly relativeResidual: number;
  readonly converged: boolean;
  /** True when CG stopped because pᵀAp ≤ 0 (or became non-finite). */
  readonly breakdown: boolean;
  /** Why CG stopped, in words. */
  readonly reason: string;
}

export const cg = <V>(ops: VectorOps<V>, apply: (v: V) => V, b: V, options: CgOptions<V>): CgResult<V> => {
  const { maxIters, tol, preconditioner } = options;
  if (!(Number.isInteger(maxIters) && maxIters >= 0)) throw new RangeError(`cg: maxIters must be a non-negative integer, got ${maxIters}`);
  if (!(tol >= 0)) throw new RangeError(`cg: tol must be non-negative, got ${tol}`);
  const free = (v: V) => ops.dispose?.(v);
  const bNorm = Math.sqrt(ops.dot(b, b));
  if (!Number.isFinite(bNorm)) throw new RangeError('cg: right-hand side is not finite');
  let x: V;
  let r: V;
  if (options.x0 !== undefined) {
    x = ops.clone ? ops.clone(options.x0) : ops.scale(1, options.x0);
    const Ax = apply(x);
    r = ops.sub(b, Ax);
    free(Ax);
  } else {
    x = ops.scale(0, b);
    r = ops.clone ? ops.clone(b) : ops.scale(1, b);
  }
  const finish = (iterations: number, rr: number, breakdown: boolean, reason: string): CgResult<V> => {
    free(r);
    const rel = bNorm > 0 ? Math.sqrt(Math.max(rr, 0)) / bNorm : Math.sqrt(Math.max(rr, 0));
    return { x, iterations, relativeResidual: rel, converged: !breakdown && rel <= tol, breakdown, reason };
  };
  let rr = ops.dot(r, r);
  if (bNorm === 0 && rr === 0) return finish(0, 0, false, 'right-hand side is zero');
  const target = tol * tol * (bNorm > 0 ? bNorm * bNorm : 1);
  if (rr <= target) return finish(0, rr, false, 'initial guess already within tolerance');
  let z = preconditioner ? preconditioner(r) : r;
  let rz = preconditioner ? ops.dot(r, z) : rr;
  if (!(rz > 0) || !Number.isFinite(rz)) {
    if (z !== r) free(z);
    return finish(0, rr, true, `preconditioner is not positive definite (rᵀM⁻¹r = ${rz})`);
  }
  let p = ops.clone ? ops.clone(z) : ops.scale(1, z);
  if (z !== r) free(z);
  for (let k = 0; k < maxIters; k++) {
    const Ap = apply(p);
    const pAp = ops.dot(p, Ap);
    if (!(pAp > 0) || !Number.isFinite(pAp)) {
      free(Ap);
      free(p);
      return finish(k, rr, true, `breakdown at iteration ${k + 1}: pᵀAp = ${pAp} (operator not positive definite)`);
    }
    const alpha = rz / pAp;
    const xNew = ops.axpy(alpha, p, x);
    const rNew = ops.axpy(-alpha, Ap, r);
    free(Ap);
    free(x);
    free(r);
    x = xNew;
    r = rNew;
    rr = ops.dot(r, r);
    if (!Number.isFinite(rr)) {
      free(p);
      return finish(k + 1, rr, true, `breakdown at iteration ${k + 1}: residual became non-finite`);
    }
    if (rr <= target) {
      free(p);
      return finish(k + 1, rr, false, `converged in ${k + 1} iterations`);
    }
    z = preconditioner ? preconditioner(r) : r;
    const rzNew = preconditioner ? ops.dot(r, z) : rr;
    if (!(rzNew > 0) || !Number.isFinite(rzNew)) {
      if (z !== r) free(z);
      free(p);
      return finish(k + 1, rr, true, `preconditioner is not positive definite (rᵀM⁻¹r = ${rzNew})`);
    }
    const beta = rzNew / rz;
    rz = rzNew;
    const pNew = ops.axpy(beta, p, z);
    free(p);
    if (z !== r) free(z);
    p = pNew;
  }
  free(p);
  return finish(maxIters, rr, false, `stopped after maxIters = ${maxIters}`);
};
