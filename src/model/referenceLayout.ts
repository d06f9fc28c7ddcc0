/**
 * The one place that maps the PyTorch reference files (/work/shared/reference, see their README)
 * onto geodesic's layout. The reference stores every dense weight as [out][in] (z = W a + b),
 * flattened row-major; geodesic stores W as [in, out] (z = a W + b). So geodesic's flat index of
 * W[i][o] is `offset + i*out + o` and the reference's is `offset + o*in + i`; biases coincide.
 */
import type { ActivationName, LayerDef, ModelDef, LikelihoodName } from './types.js';
import { paramInfo } from './layout.js';

/** The parts of `problem_small.json` this module reads. */
export interface ReferenceProblemJson {
  readonly sizes: readonly number[];
  readonly activations: readonly string[];
  readonly params: Readonly<Record<string, readonly (readonly number[])[] | readonly number[]>>;
  readonly x: readonly (readonly number[])[];
  readonly y: readonly number[];
  readonly t: readonly (readonly number[])[];
}

/** perm[k] = reference flat index of geodesic flat index k, for a model of dense layers. */
export function referencePermutation(def: ModelDef): Int32Array {
  const info = paramInfo(def);
  const total = info.reduce((s, p) => s + p.size, 0);
  const perm = new Int32Array(total);
  for (const p of info) {
    if (p.role === 'bias') {
      for (let j = 0; j < p.size; j++) perm[p.offset + j] = p.offset + j;
    } else {
      const [inDim, outDim] = p.shape as [number, number];
      for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) perm[p.offset + i * outDim + o] = p.offset + o * inDim + i;
    }
  }
  return perm;
}

/** A parameter-space vector in the reference's order → geodesic's flat order. */
export function vectorFromReference(def: ModelDef, ref: ArrayLike<number>): Float64Array {
  const perm = referencePermutation(def);
  if (ref.length !== perm.length) throw new Error(`vectorFromReference: length ${ref.length}, model has ${perm.length} parameters`);
  return Float64Array.from(perm, (r) => ref[r]!);
}

/** A P×P matrix (nested rows, reference order) → row-major Float64Array in geodesic's order. */
export function matrixFromReference(def: ModelDef, ref: readonly (ArrayLike<number>)[]): Float64Array {
  const perm = referencePermutation(def);
  const p = perm.length;
  if (ref.length !== p) throw new Error(`matrixFromReference: ${ref.length} rows, model has ${p} parameters`);
  const out = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    const row = ref[perm[i]!]!;
    for (let j = 0; j < p; j++) out[i * p + j] = row[perm[j]!]!;
  }
  return out;
}

/** Per-example vectors [N][P] (reference order) → N geodesic-order vectors. */
export function rowsFromReference(def: ModelDef, ref: readonly (ArrayLike<number>)[]): Float64Array[] {
  return ref.map((r) => vectorFromReference(def, r));
}

/**
 * The reference problem as a geodesic model: dense layers sizes[l] → sizes[l+1], each followed
 * by its activation ('identity' layers are omitted), flat parameters in geodesic order, inputs,
 * one-hot class targets (classification) and regression targets.
 */
export function referenceProblem(json: ReferenceProblemJson, likelihood: LikelihoodName = 'categorical'): {
  def: ModelDef;
  params: Float64Array;
  x: number[][];
  yOneHot: number[][];
  t: number[][];
} {
  const layers: LayerDef[] = [];
  const nLayers = json.sizes.length - 1;
  for (let l = 0; l < nLayers; l++) {
    layers.push({ kind: 'dense', inDim: json.sizes[l]!, outDim: json.sizes[l + 1]! });
    const act = json.activations[l] as ActivationName | undefined;
    if (act !== undefined && act !== 'identity') layers.push({ kind: 'activation', fn: act });
  }
  const def: ModelDef = { inputDim: json.sizes[0]!, layers, likelihood };
  const refFlat: number[] = [];
  for (let l = 1; l <= nLayers; l++) {
    const W = json.params[`W${l}`] as readonly (readonly number[])[] | undefined;
    const b = json.params[`b${l}`] as readonly number[] | undefined;
    if (W === undefined || b === undefined) throw new Error(`referenceProblem: missing W${l} or b${l}`);
    for (const row of W) refFlat.push(...row);
    refFlat.push(...b);
  }
  const classes = json.sizes[json.sizes.length - 1]!;
  return {
    def,
    params: vectorFromReference(def, refFlat),
    x: json.x.map((r) => [...r]),
    yOneHot: json.y.map((c) => Array.from({ length: classes }, (_, k) => (k === c ? 1 : 0))),
    t: json.t.map((r) => [...r]),
  };
}
