/**
 * Structured models: the contract between `src/model` and everything that computes on models
 * (curvature, optim, train, testing). Conventions are DESIGN.md §3:
 *   - Dense layer: y = x W + b, W of shape [in, out], b of shape [out].
 *   - Parameters: one tensor per parameter, in layer order, W then b for each dense layer.
 *     The flat vector is their concatenation, each flattened row-major.
 *   - Loss: mean over the batch of −log p(y|x), summed over output units.
 */
import type * as tf from '@tensorflow/tfjs';

export type ActivationName = 'tanh' | 'relu' | 'sigmoid' | 'softplus' | 'identity';
export type LikelihoodName = 'categorical' | 'gaussian' | 'bernoulli';

/**
 * A fixed linear map T of a dense layer's local parameter vector φ = [vec(W) row-major (in·out); b (out)]
 * (P_l = in·out + out entries): the layer computes with [vec W_eff; b_eff] = T φ. 'scale' is
 * T = diag(scale) (length P_l); 'linear' is T = matrix (P_l × P_l, row-major: (Tφ)_i = Σ_j matrix[i][j] φ_j).
 * The trainable tensors keep their shapes [in, out] and [out]; only their meaning changes.
 * Invertibility is the caller's business. Used to build genuinely reparametrized models.
 */
export type ParamMap =
  | { readonly kind: 'scale'; readonly scale: readonly number[] }
  | { readonly kind: 'linear'; readonly matrix: readonly (readonly number[])[] };

export type LayerDef =
  | { readonly kind: 'dense'; readonly inDim: number; readonly outDim: number; readonly paramMap?: ParamMap }
  | { readonly kind: 'activation'; readonly fn: ActivationName }
  /** A fixed, non-trainable linear map x ↦ x M (+ c): used by reparametrization tests. */
  | { readonly kind: 'fixed_linear'; readonly matrix: readonly (readonly number[])[]; readonly offset?: readonly number[] };

export interface ModelDef {
  readonly inputDim: number;
  readonly layers: readonly LayerDef[];
  readonly likelihood: LikelihoodName;
}

/** Per-parameter tensors, in the flat order above. Also used for vectors in parameter space. */
export type Params = readonly tf.Tensor[];

export interface ParamInfo {
  readonly name: string; // e.g. "dense0/W", "dense0/b"
  readonly shape: readonly number[];
  readonly denseIndex: number; // index among dense layers
  readonly layerIndex: number; // index in ModelDef.layers
  readonly role: 'weight' | 'bias';
  readonly offset: number; // offset in the flat vector
  readonly size: number;
}

/** A batch: inputs [N, inputDim] and targets [N, outDim] (one-hot for categorical,
 * real vectors for gaussian, 0/1 vectors for bernoulli). */
export interface Batch {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor2D;
}

/** What one forward pass keeps for backward/jvp/statistics. All tensors owned by the caller. */
export interface ForwardPass {
  /** Network output f(x) (logits / means), [N, outDim]. */
  readonly output: tf.Tensor2D;
  /** Input of every layer in ModelDef.layers order ([N, d]); inputs[i] is layer i's input. */
  readonly inputs: readonly tf.Tensor2D[];
  /** For each dense layer (by dense index): its input a [N, in] and its output z = aW + b [N, out]
   * (with a paramMap: z = a W_eff + b_eff, the effective parameters T φ). */
  readonly denseInputs: readonly tf.Tensor2D[];
  readonly denseOutputs: readonly tf.Tensor2D[];
}

/** Result of backpropagating per-example output cotangents through the network. */
export interface BackwardPass {
  /** Gradient of Σₙ uₙ·fₙ … divided by N when the cotangent came from the mean loss: sum over the batch of per-example contributions, one tensor per parameter. */
  readonly grads: Params;
  /** For each dense layer: the per-example cotangent of its output z, [N, out] (K-FAC's g).
   * `grads` are in the trainable (φ) coordinates: Tᵀ applied to the effective-parameter gradient. */
  readonly denseOutputGrads: readonly tf.Tensor2D[];
}
