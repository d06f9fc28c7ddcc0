/**
 * EKFAC (George et al. 2018): K-FAC's Kronecker eigenbasis Q_A ⊗ Q_G with the diagonal scaling
 * re-estimated in that basis, S_ij = w Σ_r ((Q_Aᵀ a_r)_i (Q_Gᵀ g_r)_j)² (the exact second moment
 * of the per-example gradients in the basis), instead of K-FAC's s_A[i]·s_G[j].
 * Per layer C_l ≈ (Q_A⊗Q_G) diag(vec S) (Q_A⊗Q_G)ᵀ; with 'separate' bias the bias block is
 * Q_G diag(S_b) Q_Gᵀ, S_b,j = w Σ_r (Q_Gᵀ g_r)_j². Powers and solves act on S.
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from '../vec.js';
import * as E from 'fp-ts/lib/Either.js';
import type { Params } from '../../model/types.js';
import { symmetricEigen } from '../../solvers/index.js';
import { CurvatureError } from '../types.js';
import { checkLambda, chooseSolver, numParamsOf, probe, report, type Op, type Shapes } from '../operator.js';
import type { SampleSet } from '../samples.js';
import { homogeneous, joinWb, splitWb, type BiasMode, type KfacFactors } from './kfac.js';
import { cgSolve } from './free.js';

export interface EkfacLayer {
  /** Eigenvectors as columns, row-major host float64. */
  readonly QA: Float64Array;
  readonly QG: Float64Array;
  readonly nA: number;
  readonly nG: number;
  /** Scaling of the W (or joint [W; b]) block, nA×nG row-major. */
  readonly S: Float64Array;
  /** Scaling of the separate bias block, nG (empty when homogeneous). */
  readonly Sb: Float64Array;
}

export interface Ekfac {
  readonly bias: BiasMode;
  readonly layers: readonly EkfacLayer[];
}

const eigenvectors = (M: Float64Array, n: number, what: string): Float64Array => {
  const e = symmetricEigen(M, n);
  if (E.isLeft(e)) throw new CurvatureError(`${what}: ${e.left.message}`);
  return e.right.vectors;
};

/** Eigenbases of K-FAC factors. */
export const ekfacBasis = (f: KfacFactors, what: string): { QA: Float64Array; QG: Float64Array; nA: number; nG: number }[] =>
  f.layers.map((l) => ({ QA: eigenvectors(l.A, l.nA, `${what} factor A`), QG: eigenvectors(l.G, l.nG, `${what} factor G`), nA: l.nA, nG: l.nG }));

const host = (t: tf.Tensor): Float64Array => {
  const d = Float64Array.from(t.dataSync());
  t.dispose();
  return d;
};

/** Re-estimates the scaling of a sample set in the given bases. */
export function ekfacScaling(s: SampleSet, bias: BiasMode, bases: readonly { QA: Float64Array; QG: Float64Array; nA: number; nG: number }[]): Ekfac {
  if (s.centered) throw new CurvatureError('ekfac of a centered gradient covariance is not supported; use diag, block_diag, lowrank or full');
  const layers = bases.map((b, l) => {
    const a = s.a[l]!;
    const g = s.g[l]!;
    const [m, n, out] = g.shape;
    const { S, Sb } = tidy(() => {
      const QA = tf.tensor2d(Float32Array.from(b.QA), [b.nA, b.nA]);
      const QG = tf.tensor2d(Float32Array.from(b.QG), [b.nG, b.nG]);
      const x = bias === 'homogeneous' ? homogeneous(a) : a;
      const aq2 = tf.square(tf.matMul(x, QA)); // [N, nA]
      const gq2 = tf.sum(tf.reshape(tf.square(tf.matMul(tf.reshape(g, [m * n, out]) as tf.Tensor2D, QG)), [m, n, out]), 0) as tf.Tensor2D; // Σ_m, [N, nG]
      return { S: tf.mul(tf.matMul(aq2, gq2, true, false), s.weight), Sb: tf.mul(tf.sum(gq2, 0), s.weight) };
    });
    return { ...b, S: host(S), Sb: bias === 'separate' ? host(Sb) : (Sb.dispose(), new Float64Array(0)) };
  });
  return { bias, layers };
}

/** S expressed in new bases (the diagonal, in the new basis, of the old EKFAC matrix): S' = (P_A∘P_A) S (P_G∘P_G)ᵀ, P = Q_newᵀ Q_old. */
export function rebase(e: Ekfac, bases: readonly { QA: Float64Array; QG: Float64Array; nA: number; nG: number }[]): Ekfac {
  const sqProj = (Qn: Float64Array, Qo: Float64Array, n: number): Float64Array => {
    const P = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let d = 0;
        for (let k = 0; k < n; k++) d += Qn[k * n + i]! * Qo[k * n + j]!;
        P[i * n + j] = d * d;
      }
    return P;
  };
  const layers = e.layers.map((old, l) => {
    const b = bases[l]!;
    const PA = sqProj(b.QA, old.QA, b.nA);
    const PG = sqProj(b.QG, old.QG, b.nG);
    const T = new Float64Array(b.nA * b.nG); // PA S
    for (let i = 0; i < b.nA; i++)
      for (let k = 0; k < b.nA; k++) {
        const c = PA[i * b.nA + k]!;
        if (c === 0) continue;
        for (let j = 0; j < b.nG; j++) T[i * b.nG + j] = T[i * b.nG + j]! + c * old.S[k * b.nG + j]!;
      }
    const S = new Float64Array(b.nA * b.nG); // T PGᵀ
    for (let i = 0; i < b.nA; i++)
      for (let j = 0; j < b.nG; j++) {
        let d = 0;
        for (let k = 0; k < b.nG; k++) d += T[i * b.nG + k]! * PG[j * b.nG + k]!;
        S[i * b.nG + j] = d;
      }
    const Sb = new Float64Array(old.Sb.length);
    for (let j = 0; j < Sb.length; j++) for (let k = 0; k < b.nG; k++) Sb[j] = Sb[j]! + PG[j * b.nG + k]! * old.Sb[k]!;
    return { ...b, S, Sb };
  });
  return { bias: e.bias, layers };
}

export function ekfacOp(e: Ekfac, shapes: Shapes, description: string): Op {
  const n = numParamsOf(shapes);
  let ts: { QA: tf.Tensor2D; QG: tf.Tensor2D; S: tf.Tensor2D; Sb: tf.Tensor1D }[] | undefined;
  const tensors = () => {
    if (!ts) {
      ts = e.layers.map((l) => ({
        QA: tf.keep(tf.tensor2d(Float32Array.from(l.QA), [l.nA, l.nA])),
        QG: tf.keep(tf.tensor2d(Float32Array.from(l.QG), [l.nG, l.nG])),
        S: tf.keep(tf.tensor2d(Float32Array.from(l.S), [l.nA, l.nG])),
        Sb: tf.keep(tf.tensor1d(Float32Array.from(l.Sb))),
      }));
    }
    return ts;
  };
  /** Applies f(S) in the eigenbasis to every layer block. */
  const applyScaled = (v: Params, f: (S: tf.Tensor) => tf.Tensor): Params =>
    tidy(() => {
      const out: tf.Tensor[] = [];
      tensors().forEach(({ QA, QG, S, Sb }, l) => {
        const inBasis = (X: tf.Tensor2D, Sx: tf.Tensor, Qa: tf.Tensor2D | null) => {
          const Y = Qa ? tf.matMul(tf.matMul(Qa, X, true, false), QG) : tf.matMul(X, QG);
          const Z = tf.mul(Y, f(Sx)) as tf.Tensor2D;
          return Qa ? tf.matMul(tf.matMul(Qa, Z), QG, false, true) : tf.matMul(Z, QG, false, true);
        };
        const W = v[2 * l]! as tf.Tensor2D;
        const b = v[2 * l + 1]!;
        if (e.bias === 'homogeneous') out.push(...splitWb(inBasis(joinWb(W, b), S, QA) as tf.Tensor2D));
        else out.push(inBasis(W, S, QA), tf.reshape(inBasis(tf.reshape(b, [1, -1]) as tf.Tensor2D, Sb, null), [-1]));
      });
      return out;
    });
  const mv = (v: Params) => applyScaled(v, (S) => S);
  const minS = Math.min(...e.layers.map((l) => Math.min(...l.S, ...(l.Sb.length ? l.Sb : [Infinity]))));
  const memory = e.layers.reduce((s, l) => s + l.nA * l.nA + l.nG * l.nG + l.nA * l.nG + l.Sb.length, 0);
  const mvFlops = e.layers.reduce((s, l) => s + 4 * l.nA * l.nG * (l.nA + l.nG), 0);
  return {
    structure: 'ekfac',
    shapes,
    description,
    numParams: n,
    mv,
    solve: (v, lambda, options) => {
      checkLambda(lambda);
      if (options?.damping === 'factored') throw new CurvatureError(`${description}: factored damping is K-FAC's; EKFAC damps its re-estimated eigenvalues exactly`);
      const solver = chooseSolver(description, ['kronecker', 'cg'], options);
      if (solver === 'cg') return cgSolve(mv, description, v, lambda, options);
      if (!(minS + lambda > 0)) throw new CurvatureError(`${description} + λI is singular (smallest eigenvalue ${minS} with λ = ${lambda}); add damping`);
      return { x: applyScaled(v, (S) => tf.div(1, tf.add(S, lambda))), report: report('kronecker') };
    },
    toDense: () => probe(description, shapes, mv),
    memory: () => memory,
    flops: () => ({ mv: mvFlops, solve: mvFlops, refresh: e.layers.reduce((s, l) => s + 9 * (l.nA ** 3 + l.nG ** 3), 0) }),
    power: (p) => {
      if (p < 0 && !(minS > 0)) throw new CurvatureError(`${description} has a zero eigenvalue; the power ${p} is undefined`);
      const pw = (x: number) => (p === 1 ? x : Math.max(x, 0) ** p);
      return ekfacOp(
        { bias: e.bias, layers: e.layers.map((l) => ({ ...l, S: l.S.map(pw), Sb: l.Sb.map(pw) })) },
        shapes,
        p === 0.5 ? `sqrt(${description})` : `(${description})^${p}`,
      );
    },
    dispose: () => {
      if (ts) ts.forEach((t) => tf.dispose([t.QA, t.QG, t.S, t.Sb]));
      ts = undefined;
    },
  };
}
