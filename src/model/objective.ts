/**
 * The mean loss L(θ) = (1/N) Σₙ ℓₙ of a batch and its derivatives: gradient, exact Hessian-vector
 * product (Pearlmutter's R-operator applied to backprop, with explicit second derivatives of the
 * activations and of the likelihood) and Gauss-Newton-vector product (1/N) Σ Jₙᵀ Hₙ Jₙ v.
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from './tidy.js';
import type { Batch, BackwardPass, ForwardPass, ModelDef, Params } from './types.js';
import { derivative, secondDerivative } from './activation.js';
import { assertParamsShape } from './layout.js';
import { fixedMatrix, forward, backward, jvp, layerOutput, rForward, weightIndexOfLayer } from './network.js';
import { meanLoss, outputGradient, outputHessianVp } from './likelihood.js';
import { effectiveParams, hasParamMaps, pullBackParams, withoutParamMaps } from './paramMap.js';

export interface LossAndGradient {
  readonly loss: tf.Scalar;
  /** ∇L, the gradient of the mean loss. */
  readonly gradient: Params;
  readonly forward: ForwardPass;
  /** Backprop of the per-example output gradients ∂ℓₙ/∂fₙ (NOT divided by N): `grads` = Σₙ ∇ℓₙ = N ∇L,
   * `denseOutputGrads[l]` = ∂ℓₙ/∂z_l per example (K-FAC's g; with sampled targets, its Fisher g). */
  readonly backward: BackwardPass;
}

function checkBatch(def: ModelDef, batch: Batch): void {
  if (batch.x.rank !== 2 || batch.y.rank !== 2 || batch.x.shape[0] !== batch.y.shape[0]) {
    throw new Error(`batch: x [${batch.x.shape.join(',')}] and y [${batch.y.shape.join(',')}] must be [N, ·] with the same N`);
  }
  if (batch.x.shape[0] === 0) throw new Error('batch: empty batch (N = 0)');
  void def;
}

export function lossAndGradient(def: ModelDef, params: Params, batch: Batch): LossAndGradient {
  checkBatch(def, batch);
  const fp = forward(def, params, batch.x);
  const n = batch.x.shape[0];
  const { loss, bp } = tidy(() => {
    const u = outputGradient(def.likelihood, fp.output, batch.y);
    return { loss: meanLoss(def.likelihood, fp.output, batch.y), bp: backward(def, params, fp, u) };
  });
  const gradient: Params = tidy(() => bp.grads.map((g) => tf.div(g, n)));
  return { loss, gradient, forward: fp, backward: bp };
}

/** ∇²L v, exact (including the network's second-order terms). With paramMaps T: Tᵀ H₀ (T v), T being linear. */
export function hessianVectorProduct(def: ModelDef, params: Params, batch: Batch, v: Params): Params {
  assertParamsShape(def, params, 'hessianVectorProduct');
  assertParamsShape(def, v, 'hessianVectorProduct (vector)');
  checkBatch(def, batch);
  if (hasParamMaps(def)) {
    return tidy(() => pullBackParams(def, hessianVectorProduct(withoutParamMaps(def), effectiveParams(def, params), batch, effectiveParams(def, v))));
  }
  const wIdx = weightIndexOfLayer(def);
  const first = def.layers.findIndex((l) => l.kind === 'dense');
  const n = batch.x.shape[0];
  return tidy(() => {
    const fp = forward(def, params, batch.x);
    const r = rForward(def, params, fp, v);
    const rOut = r.output ?? tf.zerosLike(fp.output);
    // g = ∂L/∂h and its directional derivative Rg, carried backwards together.
    let g: tf.Tensor2D = tf.div(outputGradient(def.likelihood, fp.output, batch.y), n);
    let rg: tf.Tensor2D = tf.div(outputHessianVp(def.likelihood, fp.output, rOut), n);
    const hv: tf.Tensor[] = new Array(v.length);
    for (let i = def.layers.length - 1; i >= 0 && i >= first; i--) {
      const layer = def.layers[i]!;
      const h = fp.inputs[i]!;
      const rh = r.inputs[i]!; // null below the first dense layer
      if (layer.kind === 'dense') {
        const k = wIdx[i]!;
        const W = params[k] as tf.Tensor2D;
        const hW = tf.matMul(h, rg, true, false);
        hv[k] = rh === null ? hW : tf.add(hW, tf.matMul(rh, g, true, false));
        hv[k + 1] = tf.sum(rg, 0);
        if (i > first) {
          const rgPrev = tf.add(tf.matMul(rg, W, false, true), tf.matMul(g, v[k] as tf.Tensor2D, false, true)) as tf.Tensor2D;
          g = tf.matMul(g, W, false, true);
          rg = rgPrev;
        }
      } else if (layer.kind === 'activation') {
        const y = layerOutput(fp, i);
        const d1 = derivative(layer.fn, h, y);
        let rgPrev = tf.mul(rg, d1) as tf.Tensor2D;
        if (rh !== null) rgPrev = tf.add(rgPrev, tf.mul(tf.mul(g, secondDerivative(layer.fn, h, y)), rh)) as tf.Tensor2D;
        g = tf.mul(g, d1) as tf.Tensor2D;
        rg = rgPrev;
      } else {
        const M = fixedMatrix(layer);
        g = tf.matMul(g, M, false, true);
        rg = tf.matMul(rg, M, false, true);
      }
    }
    return hv;
  });
}

/** (1/N) Σₙ Jₙᵀ Hₙ Jₙ v, with Hₙ the likelihood's Hessian in the outputs (jvp and backward handle paramMaps). */
export function ggnVectorProduct(def: ModelDef, params: Params, fp: ForwardPass, v: Params): Params {
  const n = fp.output.shape[0];
  return tidy(() => {
    const jv = jvp(def, params, fp, v);
    const hjv = tf.div(outputHessianVp(def.likelihood, fp.output, jv), n) as tf.Tensor2D;
    const bp = backward(def, params, fp, hjv);
    tf.dispose([...bp.denseOutputGrads]);
    return bp.grads;
  });
}
