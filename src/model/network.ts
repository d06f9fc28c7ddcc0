/**
 * The structured network: forward pass, vjp (backprop of per-example output cotangents), jvp
 * (the R-operator, forward mode) and per-example gradients. Layers are explicit, so each rule is
 * written once here (DESIGN §4).
 *
 * Ownership: every returned tensor is new and owned by the caller. Inside a ForwardPass the same
 * tensor may appear in several fields (e.g. `inputs[i]` and `denseInputs[k]`); dispose a pass
 * with `disposeForward` (or `tf.dispose`, which ignores already-disposed tensors).
 *
 * Dense layers with a paramMap T (paramMap.ts) compute with the effective parameters T φ: each
 * function below reduces such a model to the unmapped one (forward/rForward on T φ and T v,
 * gradients pulled back by Tᵀ); ForwardPass and BackwardPass.denseOutputGrads keep the layer's
 * own a and ∂/∂z.
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from './tidy.js';
import type { BackwardPass, LayerDef, ModelDef, Params, ForwardPass } from './types.js';
import { activate, timesDerivative } from './activation.js';
import { assertParamsShape, layerWidths, paramInfo } from './layout.js';
import { effectiveParams, hasParamMaps, pullBackParams, withoutParamMaps } from './paramMap.js';

/** Index of each layer's W in Params (−1 for non-dense layers). */
export function weightIndexOfLayer(def: ModelDef): number[] {
  let k = 0;
  return def.layers.map((l) => (l.kind === 'dense' ? 2 * k++ : -1));
}

export function fixedMatrix(layer: Extract<LayerDef, { kind: 'fixed_linear' }>): tf.Tensor2D {
  return tf.tensor2d(layer.matrix.map((r) => [...r]), undefined, 'float32');
}

export function fixedOffset(layer: Extract<LayerDef, { kind: 'fixed_linear' }>): tf.Tensor1D | undefined {
  return layer.offset === undefined ? undefined : tf.tensor1d([...layer.offset], 'float32');
}

function checkBatchInput(def: ModelDef, x: tf.Tensor, what: string): void {
  if (x.rank !== 2 || x.shape[1] !== def.inputDim) {
    throw new Error(`${what}: input must have shape [N, ${def.inputDim}], got [${x.shape.join(',')}]`);
  }
}

export function forward(def: ModelDef, params: Params, x: tf.Tensor2D): ForwardPass {
  assertParamsShape(def, params, 'forward');
  checkBatchInput(def, x, 'forward');
  if (hasParamMaps(def)) return tidy(() => forward(withoutParamMaps(def), effectiveParams(def, params), x));
  const wIdx = weightIndexOfLayer(def);
  return tidy(() => {
    const inputs: tf.Tensor2D[] = [];
    const denseInputs: tf.Tensor2D[] = [];
    const denseOutputs: tf.Tensor2D[] = [];
    let h: tf.Tensor2D = x.clone();
    def.layers.forEach((layer, i) => {
      inputs.push(h);
      if (layer.kind === 'dense') {
        const W = params[wIdx[i]!] as tf.Tensor2D;
        const b = params[wIdx[i]! + 1]!;
        const z = tf.add(tf.matMul(h, W), b) as tf.Tensor2D;
        denseInputs.push(h);
        denseOutputs.push(z);
        h = z;
      } else if (layer.kind === 'activation') {
        h = activate(layer.fn, h) as tf.Tensor2D;
      } else {
        const M = fixedMatrix(layer);
        const c = fixedOffset(layer);
        const y = tf.matMul(h, M);
        h = (c === undefined ? y : tf.add(y, c)) as tf.Tensor2D;
      }
    });
    // An empty network (or one ending in a layer whose output is also an input) must still
    // hand out a distinct output tensor.
    const output = def.layers.length === 0 ? h.clone() : h;
    return { output, inputs, denseInputs, denseOutputs };
  });
}

/** Output of layer i (the next layer's input, or the network output). */
export function layerOutput(fp: ForwardPass, i: number): tf.Tensor2D {
  return i + 1 < fp.inputs.length ? fp.inputs[i + 1]! : fp.output;
}

/** Index of the first dense layer (below it no cotangent is needed). */
function firstDenseLayer(def: ModelDef): number {
  return def.layers.findIndex((l) => l.kind === 'dense');
}

export function backward(def: ModelDef, params: Params, fp: ForwardPass, outputCotangent: tf.Tensor2D): BackwardPass {
  assertParamsShape(def, params, 'backward');
  checkCotangent(def, fp, outputCotangent, 'backward');
  if (hasParamMaps(def)) {
    return tidy(() => {
      const bp = backward(withoutParamMaps(def), effectiveParams(def, params), fp, outputCotangent);
      return { grads: pullBackParams(def, bp.grads), denseOutputGrads: bp.denseOutputGrads };
    });
  }
  return tidy(() => {
    const r = backprop(def, params, fp, outputCotangent, true);
    return { grads: r.grads!, denseOutputGrads: r.denseOutputGrads };
  });
}

/**
 * The cotangent half of `backward` only: per dense layer the gradient of u·f with respect to its
 * pre-activation z (= `backward(...).denseOutputGrads`), skipping the weight-gradient products
 * aᵀg and the first dense layer's input cotangent — what K-FAC statistics and per-example
 * curvature need, at about half the FLOPs of `backward`. Layers with a paramMap backpropagate
 * through their effective weights T φ, as `backward` does. Returns new tensors (caller owns).
 */
export function preActivationGradients(def: ModelDef, params: Params, fp: ForwardPass, outputCotangent: tf.Tensor2D): tf.Tensor2D[] {
  assertParamsShape(def, params, 'preActivationGradients');
  checkCotangent(def, fp, outputCotangent, 'preActivationGradients');
  if (hasParamMaps(def)) return tidy(() => backprop(withoutParamMaps(def), effectiveParams(def, params), fp, outputCotangent, false).denseOutputGrads);
  return tidy(() => backprop(def, params, fp, outputCotangent, false).denseOutputGrads);
}

function checkCotangent(def: ModelDef, fp: ForwardPass, u: tf.Tensor2D, what: string): void {
  const widths = layerWidths(def);
  const outDim = widths[widths.length - 1]!;
  const n = fp.output.shape[0];
  if (u.rank !== 2 || u.shape[0] !== n || u.shape[1] !== outDim) {
    throw new Error(`${what}: cotangent must have shape [${n}, ${outDim}], got [${u.shape.join(',')}]`);
  }
}

/** The backprop recursion of a model without paramMaps (call inside a tidy). */
function backprop(def: ModelDef, params: Params, fp: ForwardPass, outputCotangent: tf.Tensor2D, weightGrads: boolean): { grads?: tf.Tensor[]; denseOutputGrads: tf.Tensor2D[] } {
  const wIdx = weightIndexOfLayer(def);
  const first = firstDenseLayer(def);
  const nDense = wIdx.filter((k) => k >= 0).length;
  const grads: tf.Tensor[] | undefined = weightGrads ? new Array(2 * nDense) : undefined;
  const denseOutputGrads: tf.Tensor2D[] = new Array(nDense);
  let g: tf.Tensor2D = outputCotangent.clone();
  for (let i = def.layers.length - 1; i >= 0 && i >= first; i--) {
    const layer = def.layers[i]!;
    const h = fp.inputs[i]!;
    if (layer.kind === 'dense') {
      const k = wIdx[i]!;
      const W = params[k] as tf.Tensor2D;
      denseOutputGrads[k / 2] = g;
      if (grads) {
        grads[k] = tf.matMul(h, g, true, false);
        grads[k + 1] = tf.sum(g, 0);
      }
      if (i > first) g = tf.matMul(g, W, false, true);
    } else if (layer.kind === 'activation') {
      g = timesDerivative(layer.fn, h, layerOutput(fp, i), g) as tf.Tensor2D;
    } else {
      g = tf.matMul(g, fixedMatrix(layer), false, true);
    }
  }
  return grads ? { grads, denseOutputGrads } : { denseOutputGrads };
}

/**
 * R-operator: directional derivatives R(h) = (∂h/∂θ) v of every layer input and of the output.
 * Entries are `null` where the derivative is identically zero (before the first dense layer).
 * Call inside a tidy (intermediates are not freed here).
 */
export function rForward(def: ModelDef, params: Params, fp: ForwardPass, v: Params): { inputs: (tf.Tensor2D | null)[]; output: tf.Tensor2D | null } {
  if (hasParamMaps(def)) return rForward(withoutParamMaps(def), effectiveParams(def, params), fp, effectiveParams(def, v));
  const wIdx = weightIndexOfLayer(def);
  const rInputs: (tf.Tensor2D | null)[] = [];
  let r: tf.Tensor2D | null = null;
  def.layers.forEach((layer, i) => {
    rInputs.push(r);
    const h = fp.inputs[i]!;
    if (layer.kind === 'dense') {
      const k = wIdx[i]!;
      const W = params[k] as tf.Tensor2D;
      const local = tf.add(tf.matMul(h, v[k] as tf.Tensor2D), v[k + 1]!) as tf.Tensor2D;
      r = r === null ? local : (tf.add(tf.matMul(r, W), local) as tf.Tensor2D);
    } else if (layer.kind === 'activation') {
      if (r !== null) r = timesDerivative(layer.fn, h, layerOutput(fp, i), r) as tf.Tensor2D;
    } else if (r !== null) {
      r = tf.matMul(r, fixedMatrix(layer)) as tf.Tensor2D;
    }
  });
  return { inputs: rInputs, output: r };
}

export function jvp(def: ModelDef, params: Params, fp: ForwardPass, v: Params): tf.Tensor2D {
  assertParamsShape(def, params, 'jvp');
  assertParamsShape(def, v, 'jvp (tangent)');
  return tidy(() => {
    const { output } = rForward(def, params, fp, v);
    return output === null ? tf.zerosLike(fp.output) : output;
  });
}

/** ∇ of Σₙ uₙ·fₙ split by example: W → [N, in, out] (batched outer products aₙ gₙᵀ), b → [N, out].
 * With paramMaps, Tᵀ is applied to each example's effective gradient ([N, P_l] · T, no loop). */
export function perExampleGrads(def: ModelDef, fp: ForwardPass, bp: BackwardPass): Params {
  const info = paramInfo(def);
  return tidy(() => {
    const eff = info.map((pi) => {
      const g = bp.denseOutputGrads[pi.denseIndex]!;
      if (pi.role === 'bias') return g.clone();
      const a = fp.denseInputs[pi.denseIndex]!;
      return tf.matMul(tf.expandDims(a, 2) as tf.Tensor3D, tf.expandDims(g, 1) as tf.Tensor3D);
    });
    return hasParamMaps(def) ? pullBackParams(def, eff) : eff;
  });
}

export function disposeForward(fp: ForwardPass): void {
  tf.dispose([fp.output, ...fp.inputs, ...fp.denseInputs, ...fp.denseOutputs]);
}

export function disposeBackward(bp: BackwardPass): void {
  tf.dispose([...bp.grads, ...bp.denseOutputGrads]);
}
