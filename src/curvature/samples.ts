/**
 * Curvature matrices that are (weighted) sums of outer products of per-example gradients,
 *   C = w Σ_r s_r s_rᵀ,
 * kept factored: for a dense layer a per-example gradient is s = [vec(a gᵀ), g] (W [in,out]
 * row-major, then b), so storing the layer inputs a [N, in] and the pre-activation gradients
 * g [M, N, out] (M "columns" per example: loss-Hessian square-root columns for the exact Fisher,
 * k sampled labels, or the data label) determines C without ever forming a P×P matrix or the
 * N×P per-example gradient matrix. Products, exact diagonals, K-FAC factors, the R×R Gram
 * matrix (low rank) and per-layer dense blocks all come from (a, g).
 *
 * `VectorSet` is the same for explicit vectors (outer(gradient) = g gᵀ).
 *
 * A dense layer with a paramMap T (src/model/paramMap.ts) has per-example gradients Tᵀ s in its
 * trainable coordinates: `maps` carries T, and every function here (products, diagonals, Gram,
 * blocks) returns the curvature in those coordinates. Only K-FAC/EKFAC read a and g directly
 * (their factors are the layer's statistics, whatever the parametrization).
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from './vec.js';
import type { ModelDef, ParamMap, Params } from '../model/types.js';
import { mapLayer, mapRows } from '../model/index.js';
import * as V from './vec.js';

export interface SampleSet {
  readonly kind: 'samples';
  /** Per dense layer: inputs a [N, in] (shared by the M columns). */
  readonly a: readonly tf.Tensor2D[];
  /** Per dense layer: pre-activation gradients g [M, N, out]. */
  readonly g: readonly tf.Tensor3D[];
  /** C = weight Σ_{m,n} s s ᵀ. */
  readonly weight: number;
  /** Subtract the mean over examples first (TONGA's centered covariance; requires M = 1). */
  readonly centered: boolean;
  /** Shapes of the parameters (flat order). */
  readonly shapes: readonly { readonly shape: readonly number[] }[];
  /** Per dense layer: its paramMap T (undefined or absent: identity). */
  readonly maps?: readonly (ParamMap | undefined)[];
}

export interface VectorSet {
  readonly kind: 'vectors';
  readonly vectors: readonly Params[];
  readonly weight: number;
  readonly shapes: readonly { readonly shape: readonly number[] }[];
}

export type OuterProducts = SampleSet | VectorSet;

export const paramShapes = (def: ModelDef): { shape: number[] }[] => {
  const out: { shape: number[] }[] = [];
  for (const l of def.layers) if (l.kind === 'dense') out.push({ shape: [l.inDim, l.outDim] }, { shape: [l.outDim] });
  return out;
};

export const disposeOuter = (s: OuterProducts): void => {
  if (s.kind === 'samples') tf.dispose([...s.a, ...s.g]);
  else for (const v of s.vectors) V.dispose(v);
};

export const cloneOuter = (s: OuterProducts): OuterProducts =>
  s.kind === 'samples'
    ? { ...s, a: s.a.map((t) => tf.clone(t)), g: s.g.map((t) => tf.clone(t)) }
    : { ...s, vectors: s.vectors.map(V.clone) };

const numExamples = (s: SampleSet): number => s.a[0]!.shape[0];

const mapOf = (s: SampleSet, l: number): ParamMap | undefined => s.maps?.[l];

/** Layer l's per-example gradients as rows [M·N, P_l] in trainable coordinates (rows · T when mapped). */
const layerRows = (s: SampleSet, l: number, centered: boolean): tf.Tensor2D =>
  tidy(() => {
    const a = s.a[l]!;
    const g = s.g[l]!;
    const [m, n, out] = g.shape;
    const inn = a.shape[1];
    const gf = tf.reshape(g, [m * n, out]);
    const af = tf.reshape(tf.tile(tf.expandDims(a, 0), [m, 1, 1]), [m * n, inn]);
    const w = tf.reshape(tf.mul(tf.expandDims(af, 2), tf.expandDims(gf, 1)), [m * n, inn * out]);
    let rows = tf.concat([w, gf], 1) as tf.Tensor2D;
    if (centered) rows = tf.sub(rows, tf.mean(rows, 0, true));
    const map = mapOf(s, l);
    return map === undefined ? rows : mapRows(map, rows, true);
  });

/** c[m, n] = s_{mn} · v (centered: minus the mean over n). */
const rowDots = (s: SampleSet, v: Params): tf.Tensor2D =>
  tidy(() => {
    const parts = s.a.map((a, l) => {
      const map = mapOf(s, l);
      const [W, b] = map === undefined ? [v[2 * l] as tf.Tensor2D, v[2 * l + 1]!] : (mapLayer(map, v[2 * l]!, v[2 * l + 1]!, false) as [tf.Tensor2D, tf.Tensor]);
      const aW = tf.matMul(a, W); // [N, out]
      return tf.sum(tf.mul(s.g[l]!, tf.add(aW, b)), 2); // [M, N]
    });
    const c = parts.length === 1 ? parts[0]! : tf.addN(parts);
    return (s.centered ? tf.sub(c, tf.mean(c, 1, true)) : c) as tf.Tensor2D;
  });

/** Σ_{m,n} c[m,n] s_{mn} (the transposed product), as Params. */
const adjoint = (s: SampleSet, c: tf.Tensor2D, scale: number): Params =>
  tidy(() => {
    const out: tf.Tensor[] = [];
    const c3 = tf.expandDims(c, 2);
    s.a.forEach((a, l) => {
      const cg = tf.sum(tf.mul(c3, s.g[l]!), 0) as tf.Tensor2D; // [N, out]
      const map = mapOf(s, l);
      const W = tf.mul(tf.matMul(a, cg, true, false), scale);
      const b = tf.mul(tf.sum(cg, 0), scale);
      out.push(...(map === undefined ? [W, b] : mapLayer(map, W, b, true)));
    });
    return out;
  });

export const outerMv = (s: OuterProducts, v: Params): Params => {
  if (s.kind === 'vectors') {
    return tidy(() => {
      const terms = s.vectors.map((u) => V.scale(u, s.weight * V.dot(u, v)));
      return terms.length === 1 ? terms[0]! : terms.reduce((acc, t) => acc.map((x, i) => tf.add(x, t[i]!)));
    });
  }
  return tidy(() => adjoint(s, rowDots(s, v), s.weight));
};

/** The exact diagonal. For one explicit vector with weight 1 it is exactly `tf.square(g)` (Adam). */
export const outerDiag = (s: OuterProducts): Params => {
  if (s.kind === 'vectors') {
    return tidy(() => {
      const sq = s.vectors.map((u) => u.map((t) => tf.square(t)));
      const sum = sq.length === 1 ? sq[0]! : sq.reduce((acc, t) => acc.map((x, i) => tf.add(x, t[i]!)));
      return s.weight === 1 ? sum : sum.map((t) => tf.mul(t, s.weight));
    });
  }
  return tidy(() => {
    const out: tf.Tensor[] = [];
    s.a.forEach((a, l) => {
      if (mapOf(s, l) !== undefined) {
        // Mapped layer: Σ_r (Tᵀ s_r)² from explicit rows (centered first when asked).
        const d = tf.mul(tf.sum(tf.square(layerRows(s, l, s.centered)), 0), s.weight);
        const wSize = a.shape[1] * s.g[l]!.shape[2];
        out.push(tf.reshape(tf.slice(d, [0], [wSize]), s.shapes[2 * l]!.shape as number[]), tf.slice(d, [wSize]));
        return;
      }
      const g2 = tf.sum(tf.square(s.g[l]!), 0) as tf.Tensor2D; // Σ_m g², [N, out]
      out.push(tf.mul(tf.matMul(tf.square(a), g2, true, false), s.weight), tf.mul(tf.sum(g2, 0), s.weight));
    });
    if (!s.centered) return out;
    // Σ (s − s̄)² = Σ s² − N s̄², s̄ = (1/N) Σ s (mapped layers are already centered above).
    const n = numExamples(s);
    const mean = adjoint({ ...s, centered: false }, tf.ones([1, n]) as tf.Tensor2D, 1 / n);
    return out.map((t, i) => (mapOf(s, Math.floor(i / 2)) !== undefined ? t : tf.sub(t, tf.mul(tf.square(mean[i]!), s.weight * n))));
  });
};

/** Host float64 Gram matrix K = w M Mᵀ (R×R, R = M·N or the number of vectors), where C = Mᵀ M w. */
export const outerGram = (s: OuterProducts): { K: Float64Array; r: number } => {
  if (s.kind === 'vectors') {
    const r = s.vectors.length;
    const K = new Float64Array(r * r);
    for (let i = 0; i < r; i++) for (let j = 0; j <= i; j++) K[i * r + j] = K[j * r + i] = s.weight * V.dot(s.vectors[i]!, s.vectors[j]!);
    return { K, r };
  }
  const Kt = tidy(() => {
    const terms = s.a.map((a, l) => {
      if (mapOf(s, l) !== undefined) {
        const rows = layerRows(s, l, false); // centered below, on the sum
        return tf.matMul(rows, rows, false, true);
      }
      const g = s.g[l]!;
      const [m, n, out] = g.shape;
      const gf = tf.reshape(g, [m * n, out]) as tf.Tensor2D;
      const af = m === 1 ? a : (tf.reshape(tf.tile(tf.expandDims(a, 0), [m, 1, 1]), [m * n, a.shape[1]]) as tf.Tensor2D);
      return tf.mul(tf.add(tf.matMul(af, af, false, true), 1), tf.matMul(gf, gf, false, true));
    });
    let K = (terms.length === 1 ? terms[0]! : tf.addN(terms)) as tf.Tensor2D;
    if (s.centered) {
      K = tf.sub(K, tf.mean(K, 0, true));
      K = tf.sub(K, tf.mean(K, 1, true));
    }
    return tf.mul(K, s.weight) as tf.Tensor2D;
  });
  const r = Kt.shape[0];
  const K = Float64Array.from(Kt.dataSync());
  Kt.dispose();
  return { K, r };
};

/** Σ_r u_r s_r·√w (the vectors behind the Gram matrix combined with coefficients u, length R). */
export const outerCombine = (s: OuterProducts, u: Float64Array): Params => {
  const sw = Math.sqrt(s.weight);
  if (s.kind === 'vectors') {
    return tidy(() => {
      let acc = V.zerosLike(s.vectors[0]!);
      s.vectors.forEach((vec, i) => {
        const next = V.axpy(u[i]! * sw, vec, acc);
        V.dispose(acc);
        acc = next;
      });
      return acc;
    });
  }
  const m = s.g[0]!.shape[0];
  const n = numExamples(s);
  return tidy(() => {
    let c = tf.tensor2d(Float32Array.from(u), [m, n]);
    if (s.centered) c = tf.sub(c, tf.mean(c, 1, true));
    return adjoint({ ...s, centered: false }, c, sw);
  });
};

/** Dense per-layer blocks (W then b of each dense layer, P_l × P_l, float64 row-major). */
export const outerBlocks = (s: OuterProducts): Float64Array[] => {
  const blocks: Float64Array[] = [];
  const nLayers = s.shapes.length / 2;
  for (let l = 0; l < nLayers; l++) {
    const rows = tidy(() => {
      if (s.kind === 'vectors') {
        return tf.stack(s.vectors.map((v) => tf.concat([tf.reshape(v[2 * l]!, [-1]), tf.reshape(v[2 * l + 1]!, [-1])]))) as tf.Tensor2D;
      }
      return layerRows(s, l, s.centered);
    });
    const B = tidy(() => tf.mul(tf.matMul(rows, rows, true, false), s.weight));
    rows.dispose();
    blocks.push(Float64Array.from(B.dataSync()));
    B.dispose();
  }
  return blocks;
};
