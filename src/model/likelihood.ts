/**
 * Likelihood heads (DESIGN §3). For output fₙ and target yₙ, ℓₙ = −log p(yₙ | fₙ):
 *  - categorical: softmax logits, yₙ one-hot:        ℓ = logΣexp(f) − yᵀf,  ∇ = p − y,  H = diag(p) − ppᵀ
 *  - gaussian:    unit variance, yₙ real:            ℓ = ½‖f − y‖²,          ∇ = f − y,  H = I
 *  - bernoulli:   independent sigmoid logits, y∈{0,1}: ℓ = Σₖ softplus(fₖ) − yₖfₖ, ∇ = σ(f) − y, H = diag(σ(1−σ))
 * (the Gaussian's constant ½·d·log 2π is dropped, as in the reference). For all three H does
 * not depend on y, so the GGN equals the Fisher.
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from './tidy.js';
import type { LikelihoodName } from './types.js';

function checkPair(output: tf.Tensor2D, y: tf.Tensor2D, what: string): void {
  if (output.rank !== 2 || y.rank !== 2 || output.shape[0] !== y.shape[0] || output.shape[1] !== y.shape[1]) {
    throw new Error(`${what}: output [${output.shape.join(',')}] and target [${y.shape.join(',')}] must both be [N, outDim]`);
  }
}

export function perExampleLoss(name: LikelihoodName, output: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor1D {
  checkPair(output, y, 'perExampleLoss');
  return tidy(() => {
    switch (name) {
      case 'categorical':
        return tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(output)), 1)) as tf.Tensor1D;
      case 'gaussian':
        return tf.mul(0.5, tf.sum(tf.square(tf.sub(output, y)), 1)) as tf.Tensor1D;
      case 'bernoulli':
        return tf.sum(tf.sub(tf.softplus(output), tf.mul(y, output)), 1) as tf.Tensor1D;
    }
  });
}

export function meanLoss(name: LikelihoodName, output: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar {
  return tidy(() => tf.mean(perExampleLoss(name, output, y)) as tf.Scalar);
}

/** Predicted distribution parameters: probabilities (categorical, bernoulli) or means (gaussian). */
export function predictiveMean(name: LikelihoodName, output: tf.Tensor2D): tf.Tensor2D {
  switch (name) {
    case 'categorical':
      return tf.softmax(output);
    case 'gaussian':
      return output.clone();
    case 'bernoulli':
      return tf.sigmoid(output);
  }
}

/** ∂ℓₙ/∂fₙ per example (not divided by N). */
export function outputGradient(name: LikelihoodName, output: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  checkPair(output, y, 'outputGradient');
  return tidy(() => {
    switch (name) {
      case 'categorical':
        return tf.sub(tf.softmax(output), y);
      case 'gaussian':
        return tf.sub(output, y);
      case 'bernoulli':
        return tf.sub(tf.sigmoid(output), y);
    }
  });
}

/** Hₙ uₙ per example, Hₙ = ∂²ℓₙ/∂fₙ². */
export function outputHessianVp(name: LikelihoodName, output: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor2D {
  checkPair(output, u, 'outputHessianVp');
  return tidy(() => {
    switch (name) {
      case 'categorical': {
        const p = tf.softmax(output);
        const pu = tf.mul(p, u);
        return tf.sub(pu, tf.mul(p, tf.sum(pu, 1, true)));
      }
      case 'gaussian':
        return u.clone();
      case 'bernoulli': {
        const s = tf.sigmoid(output);
        return tf.mul(tf.mul(s, tf.sub(1, s)), u);
      }
    }
  });
}

/** Structured square-root factor of Hₙ: diagonal ones are kept as their diagonal [N, out]. */
export type HessianSqrtFactor =
  | { readonly kind: 'diag'; readonly d: tf.Tensor2D } // Sₙ = diag(dₙ)
  | { readonly kind: 'dense'; readonly s: tf.Tensor3D }; // Sₙ = s[n], [out, C]

/** Square-root factor without materialising diagonal matrices (bernoulli, gaussian). */
export function outputHessianSqrtFactor(name: LikelihoodName, output: tf.Tensor2D): HessianSqrtFactor {
  switch (name) {
    case 'categorical':
      return { kind: 'dense', s: categoricalSqrt(output) };
    case 'gaussian':
      return { kind: 'diag', d: tf.onesLike(output) };
    case 'bernoulli':
      return {
        kind: 'diag',
        d: tidy(() => {
          const s = tf.sigmoid(output);
          return tf.sqrt(tf.mul(s, tf.sub(1, s))) as tf.Tensor2D;
        }),
      };
  }
}

function categoricalSqrt(output: tf.Tensor2D): tf.Tensor3D {
  // Sₙ = diag(√p) − p √pᵀ: S Sᵀ = diag(p) − 2ppᵀ + p(Σp)pᵀ = diag(p) − ppᵀ.
  return tidy(() => {
    const p = tf.softmax(output);
    const q = tf.sqrt(p);
    const c = output.shape[1];
    const diag = tf.mul(tf.expandDims(q, 2), tf.expandDims(tf.eye(c), 0));
    return tf.sub(diag, tf.mul(tf.expandDims(p, 2), tf.expandDims(q, 1))) as tf.Tensor3D;
  });
}

/** [N, out, C] with Sₙ Sₙᵀ = Hₙ (C = out for all three heads). */
export function outputHessianSqrt(name: LikelihoodName, output: tf.Tensor2D): tf.Tensor3D {
  if (name === 'categorical') return categoricalSqrt(output);
  return tidy(() => {
    const f = outputHessianSqrtFactor(name, output);
    if (f.kind === 'dense') return f.s;
    const c = output.shape[1];
    return tf.mul(tf.expandDims(f.d, 2), tf.expandDims(tf.eye(c), 0)) as tf.Tensor3D;
  });
}

/** Seeds for tfjs random ops must be integers below 2^31 or so; fold any number into that range. */
function tfSeed(seed: number): number {
  return Math.abs(Math.floor(seed)) % 2147483647;
}

/** y ~ p(·|f) as targets: one-hot rows (categorical), real vectors (gaussian), 0/1 (bernoulli). */
export function sampleTargets(name: LikelihoodName, output: tf.Tensor2D, seed: number): tf.Tensor2D {
  return tidy(() => {
    const [n, c] = output.shape;
    switch (name) {
      case 'categorical': {
        // Inverse CDF: index = #{k : cumsum(p)_k ≤ u}, clipped for round-off.
        const cdf = tf.cumsum(tf.softmax(output), 1);
        const u = tf.randomUniform([n, 1], 0, 1, 'float32', tfSeed(seed));
        // Counted as step(u − cdf) (a tie cdf = u, of probability zero, is not counted): the wasm
        // backend's broadcasting comparison and Tile are slow generic loops (2–4 ms at 1000 × 30),
        // its broadcasting subtraction is not.
        const below = tf.step(tf.sub(u, cdf));
        const idx = tf.minimum(tf.sum(tf.cast(below, 'int32'), 1), tf.scalar(c - 1, 'int32'));
        return tf.cast(tf.oneHot(tf.cast(idx, 'int32') as tf.Tensor1D, c), 'float32') as tf.Tensor2D;
      }
      case 'gaussian':
        return tf.add(output, tf.randomNormal([n, c], 0, 1, 'float32', tfSeed(seed)));
      case 'bernoulli': {
        const u = tf.randomUniform([n, c], 0, 1, 'float32', tfSeed(seed));
        return tf.cast(tf.less(u, tf.sigmoid(output)), 'float32') as tf.Tensor2D;
      }
    }
  });
}

/** KL(p(·|f_P) ‖ p(·|f_Q)) per example. */
export function predictiveKL(name: LikelihoodName, outputP: tf.Tensor2D, outputQ: tf.Tensor2D): tf.Tensor1D {
  checkPair(outputP, outputQ, 'predictiveKL');
  return tidy(() => {
    switch (name) {
      case 'categorical': {
        const lp = tf.logSoftmax(outputP);
        const lq = tf.logSoftmax(outputQ);
        return tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, lq)), 1) as tf.Tensor1D;
      }
      case 'gaussian':
        return tf.mul(0.5, tf.sum(tf.square(tf.sub(outputP, outputQ)), 1)) as tf.Tensor1D;
      case 'bernoulli': {
        // log σ(f) = −softplus(−f), log(1−σ(f)) = −softplus(f)
        const p = tf.sigmoid(outputP);
        const logP1 = tf.neg(tf.softplus(tf.neg(outputP)));
        const logP0 = tf.neg(tf.softplus(outputP));
        const logQ1 = tf.neg(tf.softplus(tf.neg(outputQ)));
        const logQ0 = tf.neg(tf.softplus(outputQ));
        const kl = tf.add(tf.mul(p, tf.sub(logP1, logQ1)), tf.mul(tf.sub(1, p), tf.sub(logP0, logQ0)));
        return tf.sum(kl, 1) as tf.Tensor1D;
      }
    }
  });
}
