/**
 * Small structured test problems, described by plain data (so fast-check can generate, shrink and
 * print them) and turned into a ModelDef, parameters and a batch deterministically.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActivationName, Batch, LayerDef, LikelihoodName, ModelDef, Params } from '../model/types.js';
import { rand, type Rand } from './linalg.js';

/** A model shape: hidden widths (depth = hidden.length + 1 dense layers) and their activations. */
export interface ModelShape {
  readonly inputDim: number;
  readonly hidden: readonly number[];
  readonly activations: readonly ActivationName[];
  readonly outputDim: number;
  readonly likelihood: LikelihoodName;
}

/** A complete problem: shape, batch size and the seeds of data and initial parameters. */
export interface ModelCase {
  readonly shape: ModelShape;
  readonly n: number;
  readonly dataSeed: number;
  readonly paramSeed: number;
}

export function modelDef(shape: ModelShape): ModelDef {
  const layers: LayerDef[] = [];
  let d = shape.inputDim;
  shape.hidden.forEach((w, i) => {
    layers.push({ kind: 'dense', inDim: d, outDim: w }, { kind: 'activation', fn: shape.activations[i] ?? 'tanh' });
    d = w;
  });
  layers.push({ kind: 'dense', inDim: d, outDim: shape.outputDim });
  return { inputDim: shape.inputDim, layers, likelihood: shape.likelihood };
}

/** Initial parameters on the host in flat order (W [in,out] row-major, then b, per dense layer):
 * W ~ N(0, 1/in), b ~ N(0, 0.1²) — nonzero biases so that affine maps of inputs matter. */
export function initialParams(def: ModelDef, seed: number): Float64Array[] {
  const r = rand(seed ^ 0x5bd1e995);
  const out: Float64Array[] = [];
  for (const l of def.layers) {
    if (l.kind !== 'dense') continue;
    out.push(Float64Array.from({ length: l.inDim * l.outDim }, () => r.normal() / Math.sqrt(l.inDim)));
    out.push(Float64Array.from({ length: l.outDim }, () => 0.1 * r.normal()));
  }
  return out;
}

export interface HostBatch {
  readonly x: number[][];
  readonly y: number[][];
}

function targets(likelihood: LikelihoodName, out: number, r: Rand): number[] {
  switch (likelihood) {
    case 'categorical': {
      const k = Math.min(out - 1, Math.floor(r.uniform() * out));
      return Array.from({ length: out }, (_, j) => (j === k ? 1 : 0));
    }
    case 'gaussian':
      return Array.from({ length: out }, () => r.normal());
    case 'bernoulli':
      return Array.from({ length: out }, () => (r.uniform() < 0.5 ? 1 : 0));
  }
}

/** Inputs x ~ N(0, 1), targets drawn independently of x (so the model is never perfectly calibrated). */
export function hostBatch(shape: ModelShape, n: number, seed: number): HostBatch {
  const r = rand(seed ^ 0x27d4eb2d);
  const x = Array.from({ length: n }, () => Array.from({ length: shape.inputDim }, () => r.normal()));
  const y = Array.from({ length: n }, () => targets(shape.likelihood, shape.outputDim, r));
  return { x, y };
}

export const toBatch = (b: HostBatch): Batch => ({ x: tf.tensor2d(b.x, undefined, 'float32'), y: tf.tensor2d(b.y, undefined, 'float32') });

export function toParams(def: ModelDef, host: readonly Float64Array[]): Params {
  const shapes: number[][] = [];
  for (const l of def.layers) if (l.kind === 'dense') shapes.push([l.inDim, l.outDim], [l.outDim]);
  if (shapes.length !== host.length) throw new Error(`toParams: ${host.length} arrays for ${shapes.length} parameters`);
  return host.map((a, i) => tf.tensor(Float32Array.from(a), shapes[i]!, 'float32'));
}

export const fromParams = (p: Params): Float64Array[] => p.map((t) => Float64Array.from(t.dataSync()));

export const disposeBatch = (b: Batch): void => tf.dispose([b.x, b.y]);

export function describeShape(s: ModelShape): string {
  const widths = [s.inputDim, ...s.hidden, s.outputDim];
  const acts = s.hidden.length > 0 ? ` [${s.activations.slice(0, s.hidden.length).join(', ')}]` : '';
  return `${widths.join('-')}${acts} ${s.likelihood}`;
}
