/**
 * Momentum: turns the preconditioned gradient d into the direction p (update Δ = −s·p).
 *   none            p = d
 *   heavy_ball(μ)   v ← μv + d, p = v           (tf.train.momentum: v ← μv + g, θ ← θ − ηv; same op order)
 *   nesterov(μ)     v ← μv + d, p = d + μv      (tf.train.momentum with useNesterov)
 *   quadratic_model Δ = α(−d) + μδ with δ the previous update and (α, μ) minimizing the damped
 *                   quadratic model M(Δ) = ½Δᵀ(F + λI)Δ + gᵀΔ: a 2×2 solve (Martens & Grosse 2015 §7).
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../model/types.js';
import { combine, disposeParams, dots } from './vec.js';

/** v ← μv + d with tfjs's op order add(mul(μ, v), d). Consumes nothing. */
export function accumulate(v: Params, d: Params, mu: number): Params {
  return v.map((vi, i) => tf.tidy(() => tf.add(tf.mul(vi, mu), d[i]!)));
}

/** Nesterov's look-ahead direction d + μv (tfjs: add(gradient, mul(newAccumulation, m))). */
export function nesterovDirection(d: Params, v: Params, mu: number): Params {
  return d.map((di, i) => tf.tidy(() => tf.add(di, tf.mul(v[i]!, mu))));
}

export interface QuadraticMomentum {
  /** p = −Δ₀ where Δ₀ = α(−d) + μδ (fresh). */
  readonly p: Params;
  readonly alpha: number;
  readonly mu: number;
  readonly pFp: number;
  readonly pp: number;
  readonly gp: number;
  readonly warning: string | undefined;
}

/**
 * Solve for (α, μ). `F` is the exact curvature product on the batch; `g` the raw batch gradient;
 * `previous` the last applied update (undefined at the first step: then μ = 0).
 */
export function quadraticMomentum(
  d: Params,
  previous: Params | undefined,
  g: Params,
  lambda: number,
  F: (v: Params) => Params,
): QuadraticMomentum {
  const Fd = F(d);
  if (previous === undefined) {
    const [dFd, dd, gd] = dots([[d, Fd], [d, d], [g, d]]) as [number, number, number];
    disposeParams(Fd);
    return oneDimensional(d, lambda, dFd, dd, gd, undefined);
  }
  const Fdelta = F(previous);
  const [dFd, dFδ, δFδ, dd, dδ, δδ, gd, gδ] = dots([
    [d, Fd],
    [d, Fdelta],
    [previous, Fdelta],
    [d, d],
    [d, previous],
    [previous, previous],
    [g, d],
    [g, previous],
  ]) as [number, number, number, number, number, number, number, number];
  disposeParams(Fd);
  disposeParams(Fdelta);
  // Coordinates in the basis {Δ = −d, δ}: M(αΔ + μδ) = ½[α μ] A [α μ]ᵀ + bᵀ[α μ].
  const a11 = dFd + lambda * dd;
  const a12 = -(dFδ + lambda * dδ);
  const a22 = δFδ + lambda * δδ;
  const b1 = -gd;
  const b2 = gδ;
  const det = a11 * a22 - a12 * a12;
  if (!(det > 1e-12 * Math.abs(a11 * a22)) || !(a11 > 0)) {
    return oneDimensional(d, lambda, dFd, dd, gd, 'quadratic_model momentum: singular 2×2 system; used μ = 0');
  }
  const alpha = -(a22 * b1 - a12 * b2) / det;
  const mu = -(a11 * b2 - a12 * b1) / det;
  // p = −Δ₀ = α d − μ δ
  const p = combine(alpha, d, -mu, previous);
  const pFp = alpha * alpha * dFd - 2 * alpha * mu * dFδ + mu * mu * δFδ;
  const pp = alpha * alpha * dd - 2 * alpha * mu * dδ + mu * mu * δδ;
  const gp = alpha * gd - mu * gδ;
  return { p, alpha, mu, pFp, pp, gp, warning: undefined };
}

/** μ = 0: α = gᵀd / (dᵀ(F + λI)d), the 1-D minimizer along −d. */
function oneDimensional(d: Params, lambda: number, dFd: number, dd: number, gd: number, warning: string | undefined): QuadraticMomentum {
  const denom = dFd + lambda * dd;
  const alpha = denom > 0 ? gd / denom : 0;
  const note = denom > 0 ? warning : 'quadratic_model momentum: dᵀ(F + λI)d ≤ 0; step skipped';
  const p = d.map((t) => tf.mul(t, alpha));
  return { p, alpha, mu: 0, pFp: alpha * alpha * dFd, pp: alpha * alpha * dd, gp: alpha * gd, warning: note };
}
