/**
 * (diag(d) + U Uᵀ + λI)⁻¹ v for U of shape P×k (row-major), via the Woodbury identity:
 *   D' = diag(d) + λI,  x = D'⁻¹v − D'⁻¹U (I_k + Uᵀ D'⁻¹ U)⁻¹ Uᵀ D'⁻¹ v.
 * Host float64 only: the work is O(P k²) and the memory O(P k) — one pass over U — so a tensor
 * variant would save nothing worth float32's accuracy for the k×k capacitance solve.
 */
import * as E from 'fp-ts/lib/Either.js';
import { cholesky, choleskySolve } from './dense.js';
import { firstNonFinite, invalidInput, type SolverError } from './errors.js';

export const woodburySolve = (
  U: Float64Array,
  k: number,
  d: Float64Array,
  v: Float64Array,
  lambda: number,
): E.Either<SolverError, Float64Array> => {
  const P = d.length;
  if (!Number.isInteger(k) || k < 0) return E.left(invalidInput(`woodburySolve: rank k must be a non-negative integer, got ${k}`));
  if (U.length !== P * k) return E.left(invalidInput(`woodburySolve: U must hold P×k = ${P}×${k} = ${P * k} entries, got ${U.length}`));
  if (v.length !== P) return E.left(invalidInput(`woodburySolve: v has ${v.length} entries, expected P = ${P}`));
  if (!Number.isFinite(lambda)) return E.left(invalidInput(`woodburySolve: lambda must be finite, got ${lambda}`));
  for (const [name, arr] of [['U', U], ['d', d], ['v', v]] as const) {
    const bad = firstNonFinite(arr);
    if (bad >= 0) return E.left({ _tag: 'NonFinite', message: `woodburySolve: ${name}[${bad}] is ${arr[bad]}` });
  }
  const dinv = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    const di = d[i]! + lambda;
    if (!(di > 0)) {
      return E.left({
        _tag: 'NotPositiveDefinite',
        jitterTried: 0,
        message: `woodburySolve: diagonal + λ must be positive, entry ${i} is ${di} (d = ${d[i]}, λ = ${lambda})`,
      });
    }
    dinv[i] = 1 / di;
  }
  const y = new Float64Array(P);
  for (let i = 0; i < P; i++) y[i] = dinv[i]! * v[i]!;
  if (k === 0) return E.right(y);
  // C = I + Uᵀ D'⁻¹ U (k×k), w = Uᵀ y
  const C = new Float64Array(k * k);
  const w = new Float64Array(k);
  for (let i = 0; i < P; i++) {
    const row = i * k;
    const di = dinv[i]!;
    const yi = y[i]!;
    for (let a = 0; a < k; a++) {
      const ua = U[row + a]!;
      w[a] = w[a]! + ua * yi;
      const c = ua * di;
      for (let b = 0; b <= a; b++) C[a * k + b] = C[a * k + b]! + c * U[row + b]!;
    }
  }
  for (let a = 0; a < k; a++) {
    C[a * k + a] = C[a * k + a]! + 1;
    for (let b = 0; b < a; b++) C[b * k + a] = C[a * k + b]!;
  }
  return E.map(({ L }: { L: Float64Array }) => {
    const z = choleskySolve(L, k, w);
    const x = new Float64Array(P);
    for (let i = 0; i < P; i++) {
      let s = 0;
      const row = i * k;
      for (let a = 0; a < k; a++) s += U[row + a]! * z[a]!;
      x[i] = y[i]! - dinv[i]! * s;
    }
    return x;
  })(cholesky(C, k, { maxJitterTries: 0 }));
};
