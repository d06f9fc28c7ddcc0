/**
 * Fixtures for paramMap tests (model and curvature): small mapped models, their unmapped twins,
 * the full block-diagonal T (host float64, written from the ParamMap definition, independently of
 * src/model/paramMap.ts), and dense probing of Params → Params linear maps.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerDef, LikelihoodName, ModelDef, ParamMap, Params } from '../../src/model/types.js';
import { fromFloat64, numParams, toFloat64 } from '../../src/model/layout.js';
import { makeRng } from '../../src/model/random.js';

export interface MappedModel {
  readonly name: string;
  /** The model with paramMaps. */
  readonly def: ModelDef;
  /** The same architecture without maps (effective coordinates). */
  readonly base: ModelDef;
  readonly P: number;
  /** Full P×P block-diagonal T (identity blocks for unmapped layers), row-major float64. */
  readonly T: Float64Array;
}

type Spec = { inDim: number; outDim: number; map: 'linear' | 'scale' | 'none' } | LayerDef;

/** A well-conditioned random linear map I + 0.35·Z/√P (float32-exact entries). */
function linearMap(size: number, rng: ReturnType<typeof makeRng>): ParamMap {
  const s = 0.35 / Math.sqrt(size);
  return { kind: 'linear', matrix: Array.from({ length: size }, (_, i) => Array.from({ length: size }, (_, j) => Math.fround((i === j ? 1 : 0) + s * rng.normal()))) };
}

/** Random signs and magnitudes in [0.3, 3] (float32-exact). */
function scaleMap(size: number, rng: ReturnType<typeof makeRng>): ParamMap {
  return { kind: 'scale', scale: Array.from({ length: size }, () => Math.fround((rng.next() < 0.5 ? -1 : 1) * (0.3 + 2.7 * rng.next()))) };
}

function build(name: string, inputDim: number, likelihood: LikelihoodName, specs: Spec[], seed: number): MappedModel {
  const rng = makeRng(seed);
  const layers: LayerDef[] = [];
  const baseLayers: LayerDef[] = [];
  const blocks: (ParamMap | undefined)[] = [];
  const sizes: number[] = [];
  for (const sp of specs) {
    if ('map' in sp) {
      const size = sp.inDim * sp.outDim + sp.outDim;
      const map = sp.map === 'linear' ? linearMap(size, rng) : sp.map === 'scale' ? scaleMap(size, rng) : undefined;
      layers.push(map ? { kind: 'dense', inDim: sp.inDim, outDim: sp.outDim, paramMap: map } : { kind: 'dense', inDim: sp.inDim, outDim: sp.outDim });
      baseLayers.push({ kind: 'dense', inDim: sp.inDim, outDim: sp.outDim });
      blocks.push(map);
      sizes.push(size);
    } else {
      layers.push(sp);
      baseLayers.push(sp);
    }
  }
  const def: ModelDef = { inputDim, likelihood, layers };
  const base: ModelDef = { inputDim, likelihood, layers: baseLayers };
  const P = numParams(base);
  const T = new Float64Array(P * P);
  let off = 0;
  blocks.forEach((map, l) => {
    const n = sizes[l]!;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const v = map === undefined ? (i === j ? 1 : 0) : map.kind === 'scale' ? (i === j ? map.scale[i]! : 0) : map.matrix[i]![j]!;
        T[(off + i) * P + off + j] = v;
      }
    off += n;
  });
  return { name, def, base, P, T };
}

export function mappedModels(): MappedModel[] {
  return [
    build(
      'categorical: dense[linear]-tanh-dense[none]-softplus-dense[scale]',
      3,
      'categorical',
      [{ inDim: 3, outDim: 4, map: 'linear' }, { kind: 'activation', fn: 'tanh' }, { inDim: 4, outDim: 3, map: 'none' }, { kind: 'activation', fn: 'softplus' }, { inDim: 3, outDim: 3, map: 'scale' }],
      101,
    ),
    build(
      'gaussian: fixed_linear-dense[scale]-sigmoid-dense[linear]',
      2,
      'gaussian',
      [{ kind: 'fixed_linear', matrix: [[1, 0.5, -0.3], [0.2, -1, 0.7]], offset: [0.1, 0, -0.2] }, { inDim: 3, outDim: 2, map: 'scale' }, { kind: 'activation', fn: 'sigmoid' }, { inDim: 2, outDim: 2, map: 'linear' }],
      202,
    ),
    build('bernoulli: dense[linear]-tanh-dense[linear]', 2, 'bernoulli', [{ inDim: 2, outDim: 3, map: 'linear' }, { kind: 'activation', fn: 'tanh' }, { inDim: 3, outDim: 2, map: 'linear' }], 303),
  ];
}

/** y = T x (or Tᵀ x), float64. */
export function applyT(m: MappedModel, x: ArrayLike<number>, transpose = false): Float64Array {
  const P = m.P;
  const y = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    let s = 0;
    for (let j = 0; j < P; j++) s += (transpose ? m.T[j * P + i]! : m.T[i * P + j]!) * x[j]!;
    y[i] = s;
  }
  return y;
}

/** Tᵀ C T (C P×P row-major), float64. */
export function conjugate(m: MappedModel, C: ArrayLike<number>): Float64Array {
  const P = m.P;
  const CT = new Float64Array(P * P);
  for (let i = 0; i < P; i++) for (let k = 0; k < P; k++) {
    const c = C[i * P + k]!;
    if (c !== 0) for (let j = 0; j < P; j++) CT[i * P + j] = CT[i * P + j]! + c * m.T[k * P + j]!;
  }
  const out = new Float64Array(P * P);
  for (let k = 0; k < P; k++) for (let i = 0; i < P; i++) {
    const t = m.T[k * P + i]!;
    if (t !== 0) for (let j = 0; j < P; j++) out[i * P + j] = out[i * P + j]! + t * CT[k * P + j]!;
  }
  return out;
}

/** The dense P×P matrix of a linear map on Params (column j = f(e_j)), row-major float64. */
export function probeDense(def: ModelDef, f: (v: Params) => Params): Float64Array {
  const P = numParams(def);
  const out = new Float64Array(P * P);
  for (let j = 0; j < P; j++) {
    const e = new Float64Array(P);
    e[j] = 1;
    const v = fromFloat64(def, e);
    const r = f(v);
    const col = toFloat64(r);
    for (let i = 0; i < P; i++) out[i * P + j] = col[i]!;
    tf.dispose([...v, ...r]);
  }
  return out;
}

/** Random float32-exact parameters φ of the mapped model. */
export function randomPhi(m: MappedModel, seed: number, scale = 0.7): Float64Array {
  const rng = makeRng(seed);
  return Float64Array.from({ length: m.P }, () => Math.fround(scale * rng.normal()));
}
