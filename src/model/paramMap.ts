/**
 * Parameter maps of dense layers (types.ts `ParamMap`): a dense layer with a map T computes with
 * the effective parameters [vec W_eff; b_eff] = T φ, φ = [vec(W) row-major; b] its trainable
 * parameters. Everything in `src/model` reduces a mapped model to the same model without maps:
 *   f(φ) = f₀(Tφ),  ∇_φ = Tᵀ ∇₀,  J_φ v = J₀ (T v),  H_φ = Tᵀ H₀ T  (T linear: no extra term).
 * This module holds T's validation and its application to Params (T φ, Tᵀ g), also to tensors
 * with leading batch axes (per-example gradients [N, in, out] / [N, out]) and to row matrices.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerDef, ModelDef, ParamMap, Params } from './types.js';

/** Problems of a layer's paramMap for a dense layer in → out (empty when well formed). */
export function paramMapProblems(map: ParamMap, inDim: number, outDim: number, where: string): string[] {
  const size = inDim * outDim + outDim;
  const bad = (xs: readonly unknown[]) => xs.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  const m = map as { kind?: unknown; scale?: unknown; matrix?: unknown };
  if (m.kind === 'scale') {
    if (!Array.isArray(m.scale)) return [`${where} paramMap 'scale' needs a scale array`];
    if (m.scale.length !== size) return [`${where} paramMap scale has length ${m.scale.length}, expected ${size} (in·out + out)`];
    const i = bad(m.scale);
    return i >= 0 ? [`${where} paramMap scale[${i}] is not a finite number (${String(m.scale[i])})`] : [];
  }
  if (m.kind === 'linear') {
    if (!Array.isArray(m.matrix)) return [`${where} paramMap 'linear' needs a matrix`];
    if (m.matrix.length !== size) return [`${where} paramMap matrix has ${m.matrix.length} rows, expected ${size} (in·out + out)`];
    for (let r = 0; r < size; r++) {
      const row: unknown = m.matrix[r];
      if (!Array.isArray(row) || row.length !== size) return [`${where} paramMap matrix row ${r} has length ${Array.isArray(row) ? row.length : 'none'}, expected ${size}`];
      const i = bad(row);
      if (i >= 0) return [`${where} paramMap matrix[${r}][${i}] is not a finite number (${String(row[i])})`];
    }
    return [];
  }
  return [`${where} unknown paramMap kind '${String(m.kind)}' (known: scale, linear)`];
}

/** Per dense layer (dense index order): its map, or undefined for an unmapped layer. */
export function denseParamMaps(def: ModelDef): (ParamMap | undefined)[] {
  return def.layers.flatMap((l) => (l.kind === 'dense' ? [l.paramMap] : []));
}

export function hasParamMaps(def: ModelDef): boolean {
  return def.layers.some((l) => l.kind === 'dense' && l.paramMap !== undefined);
}

/** The same architecture with every paramMap removed: the model in effective coordinates. */
export function withoutParamMaps(def: ModelDef): ModelDef {
  return {
    ...def,
    layers: def.layers.map((l): LayerDef => (l.kind === 'dense' && l.paramMap !== undefined ? { kind: 'dense', inDim: l.inDim, outDim: l.outDim } : l)),
  };
}

/** Host float32 copies of T (row-major), cached per map object (tensors are made per call: no long-lived tensors). */
const hostCache = new WeakMap<ParamMap, Float32Array>();
function hostValues(map: ParamMap): Float32Array {
  let a = hostCache.get(map);
  if (a === undefined) {
    a = map.kind === 'scale' ? Float32Array.from(map.scale) : Float32Array.from(map.matrix.flat());
    hostCache.set(map, a);
  }
  return a;
}

/**
 * Applies T (transpose = false) or Tᵀ (transpose = true) to every row of `rows` [R, P_l]:
 * row r ↦ (T r)ᵀ = r Tᵀ, or (Tᵀ r)ᵀ = r T.
 */
export function mapRows(map: ParamMap, rows: tf.Tensor2D, transpose: boolean): tf.Tensor2D {
  const size = rows.shape[1];
  return tf.tidy(() => {
    if (map.kind === 'scale') return tf.mul(rows, tf.tensor1d(hostValues(map), 'float32'));
    const T = tf.tensor2d(hostValues(map), [size, size], 'float32');
    return tf.matMul(rows, T, false, !transpose);
  });
}

/**
 * T or Tᵀ on a layer's (W, b), each with the same leading axes (none for parameters, [N] for
 * per-example gradients): W [..., in, out], b [..., out]. Returns new tensors of the same shapes.
 */
export function mapLayer(map: ParamMap, W: tf.Tensor, b: tf.Tensor, transpose: boolean): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const out = b.shape[b.rank - 1]!;
    const wSize = W.shape[W.rank - 2]! * W.shape[W.rank - 1]!;
    const r = b.size / out;
    const rows = tf.concat([tf.reshape(W, [r, wSize]), tf.reshape(b, [r, out])], 1) as tf.Tensor2D;
    const mapped = mapRows(map, rows, transpose);
    return [tf.reshape(tf.slice(mapped, [0, 0], [r, wSize]), W.shape), tf.reshape(tf.slice(mapped, [0, wSize], [r, out]), b.shape)];
  }) as [tf.Tensor, tf.Tensor];
}

function mapAll(def: ModelDef, p: Params, transpose: boolean): Params {
  const maps = denseParamMaps(def);
  const out: tf.Tensor[] = [];
  maps.forEach((map, k) => {
    const W = p[2 * k]!;
    const b = p[2 * k + 1]!;
    if (map === undefined) out.push(tf.clone(W), tf.clone(b));
    else out.push(...mapLayer(map, W, b, transpose));
  });
  return out;
}

/** T φ per dense layer: the effective parameters (or T v for a tangent). New tensors (clones for unmapped layers). */
export function effectiveParams(def: ModelDef, p: Params): Params {
  return mapAll(def, p, false);
}

/** Tᵀ g per dense layer: an effective-coordinate gradient (or cotangent) pulled back to φ.
 * Tensors may carry leading batch axes (per-example gradients). New tensors. */
export function pullBackParams(def: ModelDef, g: Params): Params {
  return mapAll(def, g, true);
}
