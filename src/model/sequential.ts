/**
 * Adapter between tfjs-layers `tf.Sequential` models and geodesic's structured models.
 *
 *  - A trainable `Dense` layer with a built-in activation ('linear', 'tanh', 'relu', 'sigmoid',
 *    'softplus') becomes a dense layer followed by that activation ('linear' adds none).
 *  - A non-trainable `Dense` layer becomes a `fixed_linear` layer (kernel → matrix, bias → offset)
 *    and `toSequential` writes `fixed_linear` back the same way.
 *  - An `Activation` layer with one of those activations becomes an activation layer.
 * Anything else (other layer types, softmax activations — the categorical likelihood applies the
 * softmax —, Dense layers without bias, inputs that are not [N, d]) is rejected with an Error
 * naming the layer. Weights are copied, never shared.
 * Dense layers with a paramMap have no tf.Sequential form: `toSequential` and `copyToSequential`
 * reject them (convert first: `withoutParamMaps(def)` with `effectiveParams(def, params)`).
 */
import * as tf from '@tensorflow/tfjs';
import type { ActivationName, LayerDef, LikelihoodName, ModelDef, Params } from './types.js';
import { assertParamsShape, paramInfo } from './layout.js';
import { fixedMatrix } from './network.js';

function rejectParamMaps(def: ModelDef, what: string): void {
  const i = def.layers.findIndex((l) => l.kind === 'dense' && l.paramMap !== undefined);
  if (i >= 0) {
    throw new Error(
      `${what}: layer ${i} (dense) has a paramMap, which a tf.Sequential Dense layer cannot express; ` +
        'convert to the same function first with withoutParamMaps(def) and effectiveParams(def, params)',
    );
  }
}

const fromKeras: Readonly<Record<string, ActivationName | null>> = {
  linear: null,
  tanh: 'tanh',
  relu: 'relu',
  sigmoid: 'sigmoid',
  softplus: 'softplus',
};

const toKeras: Readonly<Record<ActivationName, string>> = {
  identity: 'linear',
  tanh: 'tanh',
  relu: 'relu',
  sigmoid: 'sigmoid',
  softplus: 'softplus',
};

function activationOf(layer: tf.layers.Layer, i: number): ActivationName | null {
  const name = String(layer.getConfig()['activation'] ?? 'linear');
  if (!(name in fromKeras)) {
    const hint = name === 'softmax' ? ' (use a linear output layer: the categorical likelihood applies the softmax)' : '';
    throw new Error(`fromSequential: layer ${i} ('${layer.name}') has unsupported activation '${name}'${hint}; supported: ${Object.keys(fromKeras).join(', ')}`);
  }
  return fromKeras[name]!;
}

function nested(t: tf.Tensor): number[][] {
  return t.arraySync() as number[][];
}

export function fromSequential(m: tf.Sequential, likelihood: LikelihoodName): { def: ModelDef; params: Params } {
  const inShape = m.inputs[0]?.shape;
  if (inShape === undefined || inShape.length !== 2 || typeof inShape[1] !== 'number') {
    throw new Error(`fromSequential: the model's input must have shape [N, d], got [${inShape?.join(', ') ?? ''}]`);
  }
  const layers: LayerDef[] = [];
  const params: tf.Tensor[] = [];
  let width = inShape[1];
  try {
    m.layers.forEach((layer, i) => {
      const cls = layer.getClassName();
      if (cls === 'Dense') {
        const cfg = layer.getConfig();
        if (cfg['useBias'] === false) throw new Error(`fromSequential: layer ${i} ('${layer.name}') is a Dense layer without bias; geodesic dense layers always have a bias`);
        const act = activationOf(layer, i);
        const [kernel, bias] = layer.getWeights(); // the layer's own variables: copy, never dispose
        if (kernel === undefined || bias === undefined) throw new Error(`fromSequential: layer ${i} ('${layer.name}') is not built`);
        const [inDim, outDim] = kernel.shape as [number, number];
        if (inDim !== width) throw new Error(`fromSequential: layer ${i} ('${layer.name}') expects ${inDim} inputs, receives ${width}`);
        if (layer.trainable) {
          layers.push({ kind: 'dense', inDim, outDim });
          params.push(tf.clone(kernel), tf.clone(bias));
        } else {
          layers.push({ kind: 'fixed_linear', matrix: nested(kernel), offset: Array.from(bias.dataSync()) });
        }
        if (act !== null) layers.push({ kind: 'activation', fn: act });
        width = outDim;
      } else if (cls === 'Activation') {
        const act = activationOf(layer, i);
        if (act !== null) layers.push({ kind: 'activation', fn: act });
      } else {
        throw new Error(`fromSequential: layer ${i} ('${layer.name}') is a ${cls}; only Dense and Activation layers are supported`);
      }
    });
  } catch (e) {
    tf.dispose(params);
    throw e;
  }
  return { def: { inputDim: inShape[1], layers, likelihood }, params };
}

/** Builds a new tf.Sequential computing the same function, with the weights copied in. */
export function toSequential(def: ModelDef, params: Params): tf.Sequential {
  const info = paramInfo(def);
  assertParamsShape(def, params, 'toSequential');
  rejectParamMaps(def, 'toSequential');
  const m = tf.sequential();
  const pending: { layer: tf.layers.Layer; weights: () => tf.Tensor[] }[] = [];
  let first = true;
  const inputShape = (): { inputShape?: number[] } => {
    if (!first) return {};
    first = false;
    return { inputShape: [def.inputDim] };
  };
  let k = 0;
  for (let i = 0; i < def.layers.length; i++) {
    const layer = def.layers[i]!;
    const next = def.layers[i + 1];
    const fused = next?.kind === 'activation' ? next.fn : undefined;
    if (fused !== undefined && layer.kind !== 'activation') i++;
    const activation = toKeras[fused ?? 'identity'] as 'linear';
    if (layer.kind === 'dense') {
      const idx = k++;
      const l = tf.layers.dense({ units: layer.outDim, activation, useBias: true, ...inputShape() });
      pending.push({ layer: l, weights: () => [params[2 * idx]!, params[2 * idx + 1]!] });
      m.add(l);
    } else if (layer.kind === 'fixed_linear') {
      const cols = layer.matrix[0]!.length;
      const l = tf.layers.dense({ units: cols, activation, useBias: true, trainable: false, ...inputShape() });
      pending.push({ layer: l, weights: () => [fixedMatrix(layer), tf.tensor1d(layer.offset ? [...layer.offset] : new Array<number>(cols).fill(0))] });
      m.add(l);
    } else {
      m.add(tf.layers.activation({ activation: toKeras[layer.fn] as 'linear', ...inputShape() }));
    }
  }
  if (def.layers.length === 0) throw new Error('toSequential: a model without layers has no tf.Sequential form');
  for (const p of pending) {
    const ws = p.weights();
    p.layer.setWeights(ws);
    if (p.layer.trainable === false) tf.dispose(ws);
  }
  return m;
}

/** Writes `params` into an existing tf.Sequential whose trainable Dense layers match `def`'s dense layers. */
export function copyToSequential(def: ModelDef, params: Params, m: tf.Sequential): void {
  assertParamsShape(def, params, 'copyToSequential');
  rejectParamMaps(def, 'copyToSequential');
  const dense = m.layers.filter((l) => l.getClassName() === 'Dense' && l.trainable);
  const info = paramInfo(def);
  const nDense = info.length / 2;
  if (dense.length !== nDense) throw new Error(`copyToSequential: the model has ${dense.length} trainable Dense layers, the ModelDef ${nDense}`);
  dense.forEach((l, k) => {
    const shape = l.getWeights()[0]?.shape ?? [];
    const want = info[2 * k]!.shape;
    if (shape[0] !== want[0] || shape[1] !== want[1]) {
      throw new Error(`copyToSequential: Dense layer '${l.name}' has kernel [${shape.join(',')}], ModelDef dense${k} has W [${want.join(',')}]`);
    }
  });
  dense.forEach((l, k) => l.setWeights([params[2 * k]!, params[2 * k + 1]!]));
}
