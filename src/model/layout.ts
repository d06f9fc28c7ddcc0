/**
 * Shapes and the flat parameter order (DESIGN §3): per dense layer W [in, out] then b [out],
 * each flattened row-major. Also structural validation of a ModelDef, initialisation, and
 * conversions between Params, flat tensors and host float64 copies.
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from './tidy.js';
import type { LayerDef, ModelDef, ParamInfo, Params } from './types.js';
import { makeRng } from './random.js';
import { paramMapProblems } from './paramMap.js';

export interface DenseLayerInfo {
  readonly inDim: number;
  readonly outDim: number;
  readonly layerIndex: number;
  readonly denseIndex: number;
}

/** Width of the data after each layer; `widths[0]` is the input dimension. Throws on a mismatch. */
export function layerWidths(def: ModelDef): number[] {
  const problems = modelDefProblems(def);
  if (problems.length > 0) throw new Error(`invalid ModelDef: ${problems.join('; ')}`);
  return widthsUnchecked(def);
}

function widthsUnchecked(def: ModelDef): number[] {
  const widths = [def.inputDim];
  let d = def.inputDim;
  for (const layer of def.layers) {
    if (layer.kind === 'dense') d = layer.outDim;
    else if (layer.kind === 'fixed_linear') d = layer.matrix[0]?.length ?? 0;
    widths.push(d);
  }
  return widths;
}

/** Every structural problem of a ModelDef (empty when it is well formed). */
export function modelDefProblems(def: ModelDef): string[] {
  const out: string[] = [];
  const posInt = (n: number) => Number.isInteger(n) && n > 0;
  if (!posInt(def.inputDim)) out.push(`inputDim must be a positive integer, got ${def.inputDim}`);
  if (!['categorical', 'gaussian', 'bernoulli'].includes(def.likelihood)) out.push(`unknown likelihood '${String(def.likelihood)}'`);
  let d = def.inputDim;
  def.layers.forEach((layer: LayerDef, i) => {
    if (layer.kind === 'dense') {
      if (layer.inDim !== d) out.push(`layer ${i} (dense) expects inDim ${layer.inDim} but receives width ${d}`);
      if (!posInt(layer.outDim)) out.push(`layer ${i} (dense) outDim must be a positive integer, got ${layer.outDim}`);
      else if (layer.paramMap !== undefined && posInt(layer.inDim)) out.push(...paramMapProblems(layer.paramMap, layer.inDim, layer.outDim, `layer ${i} (dense)`));
      d = layer.outDim;
    } else if (layer.kind === 'activation') {
      if (!['tanh', 'relu', 'sigmoid', 'softplus', 'identity'].includes(layer.fn)) out.push(`layer ${i}: unknown activation '${String(layer.fn)}'`);
    } else if (layer.kind === 'fixed_linear') {
      const rows = layer.matrix.length;
      const cols = layer.matrix[0]?.length ?? 0;
      if (rows !== d) out.push(`layer ${i} (fixed_linear) matrix has ${rows} rows but receives width ${d}`);
      if (cols === 0 || layer.matrix.some((r) => r.length !== cols)) out.push(`layer ${i} (fixed_linear) matrix rows must have equal, positive length`);
      if (layer.offset !== undefined && layer.offset.length !== cols) out.push(`layer ${i} (fixed_linear) offset has length ${layer.offset.length}, expected ${cols}`);
      d = cols;
    } else {
      out.push(`layer ${i}: unknown kind '${(layer as { kind: string }).kind}'`);
    }
  });
  return out;
}

export function outputDim(def: ModelDef): number {
  const w = layerWidths(def);
  return w[w.length - 1]!;
}

export function denseLayers(def: ModelDef): DenseLayerInfo[] {
  layerWidths(def);
  const out: DenseLayerInfo[] = [];
  def.layers.forEach((layer, layerIndex) => {
    if (layer.kind === 'dense') out.push({ inDim: layer.inDim, outDim: layer.outDim, layerIndex, denseIndex: out.length });
  });
  return out;
}

export function paramInfo(def: ModelDef): ParamInfo[] {
  const out: ParamInfo[] = [];
  let offset = 0;
  for (const d of denseLayers(def)) {
    const wSize = d.inDim * d.outDim;
    out.push({ name: `dense${d.denseIndex}/W`, shape: [d.inDim, d.outDim], denseIndex: d.denseIndex, layerIndex: d.layerIndex, role: 'weight', offset, size: wSize });
    offset += wSize;
    out.push({ name: `dense${d.denseIndex}/b`, shape: [d.outDim], denseIndex: d.denseIndex, layerIndex: d.layerIndex, role: 'bias', offset, size: d.outDim });
    offset += d.outDim;
  }
  return out;
}

export function numParams(def: ModelDef): number {
  return paramInfo(def).reduce((s, p) => s + p.size, 0);
}

/** Glorot-uniform weights (limit √(6/(in+out))), zero biases; deterministic from the seed (host RNG). */
export function initParams(def: ModelDef, seed: number): Params {
  const rng = makeRng(seed);
  return paramInfo(def).map((p) => {
    if (p.role === 'bias') return tf.zeros(p.shape as number[]);
    const [fanIn, fanOut] = p.shape as [number, number];
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const a = new Float32Array(p.size);
    for (let i = 0; i < p.size; i++) a[i] = (2 * rng.next() - 1) * limit;
    return tf.tensor(a, p.shape as number[], 'float32');
  });
}

function checkShapes(def: ModelDef, p: Params, what: string): ParamInfo[] {
  const info = paramInfo(def);
  if (p.length !== info.length) throw new Error(`${what}: expected ${info.length} parameter tensors, got ${p.length}`);
  info.forEach((pi, i) => {
    const s = p[i]!.shape;
    if (s.length !== pi.shape.length || s.some((d, k) => d !== pi.shape[k])) {
      throw new Error(`${what}: ${pi.name} has shape [${s.join(',')}], expected [${pi.shape.join(',')}]`);
    }
  });
  return info;
}

/** Throws a clear error when `p` does not have the shapes of `def`'s parameters. */
export function assertParamsShape(def: ModelDef, p: Params, what = 'params'): void {
  checkShapes(def, p, what);
}

export function flattenParams(p: Params): tf.Tensor1D {
  return tidy(() => tf.concat(p.map((t) => t.reshape([-1])), 0) as tf.Tensor1D);
}

export function unflattenParams(def: ModelDef, flat: tf.Tensor1D): Params {
  const info = paramInfo(def);
  const total = info.reduce((s, p) => s + p.size, 0);
  if (flat.size !== total) throw new Error(`unflattenParams: flat vector has ${flat.size} entries, model has ${total} parameters`);
  return tidy(() => info.map((pi) => flat.slice(pi.offset, pi.size).reshape(pi.shape as number[])));
}

/** Host float64 copy in flat order (synchronous read). */
export function toFloat64(p: Params): Float64Array {
  const total = p.reduce((s, t) => s + t.size, 0);
  const out = new Float64Array(total);
  let off = 0;
  for (const t of p) {
    out.set(t.dataSync() as Float32Array, off);
    off += t.size;
  }
  return out;
}

export function fromFloat64(def: ModelDef, a: Float64Array): Params {
  const info = paramInfo(def);
  const total = info.reduce((s, p) => s + p.size, 0);
  if (a.length !== total) throw new Error(`fromFloat64: array has ${a.length} entries, model has ${total} parameters`);
  return info.map((pi) => tf.tensor(Float32Array.from(a.subarray(pi.offset, pi.offset + pi.size)), pi.shape as number[], 'float32'));
}

/** Parameter-space helpers used across the engine. */
export function zerosLikeParams(p: Params): Params {
  return p.map((t) => tf.zerosLike(t));
}

export function disposeParams(p: Params): void {
  tf.dispose(p as tf.Tensor[]);
}
