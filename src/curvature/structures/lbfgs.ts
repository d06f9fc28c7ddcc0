/**
 * lbfgs(memory): the BFGS matrix B built from the last secant pairs (s = Δθ, y = Δg) starting at
 * B₀ = σI, σ = yᵀy / sᵀy of the newest pair (the scaling the two-loop recursion uses for B₀⁻¹).
 * Pairs with sᵀy ≤ 0 are skipped (as by the two-loop). Products use the unrolled form
 *   B v = σv − Σⱼ (bⱼᵀv / sⱼᵀbⱼ) bⱼ + (yⱼᵀv / yⱼᵀsⱼ) yⱼ,  bⱼ = Bⱼ sⱼ;
 * the λ = 0 solve is the two-loop recursion (src/solvers), which is exactly B⁻¹; with λ > 0 `auto`
 * uses CG on (B + λI) (exact), and an explicit `lbfgs_two_loop` uses damped pairs y + λs.
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from '../vec.js';
import type { Params } from '../../model/types.js';
import { lbfgsTwoLoopReport, tensorListOps } from '../../solvers/index.js';
import { CurvatureError } from '../types.js';
import { checkLambda, chooseSolver, noPower, numParamsOf, probe, report, type Op, type Shapes } from '../operator.js';
import * as V from '../vec.js';
import { cgSolve } from './free.js';

export interface SecantPair {
  readonly s: Params;
  readonly y: Params;
}

/** Takes ownership of clones of the pairs. */
export function lbfgsOp(pairsIn: readonly SecantPair[], shapes: Shapes, description: string): Op {
  const pairs = pairsIn.map((p) => ({ s: V.clone(p.s), y: V.clone(p.y) }));
  const used = pairs.map((p) => ({ ...p, sy: V.dot(p.s, p.y) })).filter((p) => p.sy > 0 && Number.isFinite(p.sy));
  const last = used[used.length - 1];
  const sigma = last ? V.dot(last.y, last.y) / last.sy : 1;
  // b_j = B_j s_j and sᵀb, by the recursion over earlier pairs.
  const terms: { b: Params; sb: number; y: Params; sy: number }[] = [];
  const apply = (v: Params): Params =>
    tidy(() => {
      let out = V.scale(v, sigma);
      for (const t of terms) {
        const c1 = V.dot(t.b, v) / t.sb;
        const c2 = V.dot(t.y, v) / t.sy;
        out = out.map((x, i) => tf.add(tf.sub(x, tf.mul(t.b[i]!, c1)), tf.mul(t.y[i]!, c2)));
      }
      return out;
    });
  for (const p of used) {
    const b = apply(p.s);
    terms.push({ b, sb: V.dot(p.s, b), y: p.y, sy: p.sy });
  }
  const n = numParamsOf(shapes);
  const m = used.length;
  return {
    structure: 'lbfgs',
    shapes,
    description,
    numParams: n,
    mv: apply,
    solve: (v, lambda, options) => {
      checkLambda(lambda);
      if (options?.damping === 'factored') throw new CurvatureError(`factored damping needs Kronecker factors; ${description} has none`);
      const solver = chooseSolver(description, lambda === 0 ? ['lbfgs_two_loop', 'cg'] : ['cg', 'lbfgs_two_loop'], options);
      if (solver === 'cg') return cgSolve(apply, description, v, lambda, options);
      const damped = lambda === 0 ? pairs : pairs.map((p) => ({ s: p.s, y: V.axpy(lambda, p.s, p.y) }));
      try {
        const r = lbfgsTwoLoopReport(tensorListOps, damped, v, { gamma: 1 / (sigma + lambda) });
        const warnings = [...r.warnings];
        if (lambda > 0) warnings.push(`lbfgs_two_loop with λ = ${lambda} uses damped pairs y + λs: an approximation of (B + λI)⁻¹; use cg for the exact solve`);
        return { x: r.direction as Params, report: report('lbfgs_two_loop', { warnings }) };
      } finally {
        if (lambda !== 0) damped.forEach((p) => V.dispose(p.y));
      }
    },
    toDense: () => probe(description, shapes, apply),
    memory: () => 3 * m * n,
    flops: () => ({ mv: 6 * m * n, solve: 4 * m * n, refresh: 2 * m * m * n }),
    power: () => noPower(description, 'the L-BFGS matrix is only available through products and its inverse'),
    dispose: () => {
      pairs.forEach((p) => (V.dispose(p.s), V.dispose(p.y)));
      terms.forEach((t) => V.dispose(t.b));
    },
  };
}
