/**
 * Elementwise activations with explicit first and second derivatives (tfjs's second-order
 * autodiff fails for sigmoid, so `hessian` uses these). Each derivative takes the
 * pre-activation z and the activation's value y = σ(z) (reused where cheaper).
 */
import * as tf from '@tensorflow/tfjs';
import type { ActivationName } from './types.js';

export function activate(fn: ActivationName, z: tf.Tensor): tf.Tensor {
  switch (fn) {
    case 'tanh':
      return tf.tanh(z);
    case 'relu':
      return tf.relu(z);
    case 'sigmoid':
      return tf.sigmoid(z);
    case 'softplus':
      return tf.softplus(z);
    case 'identity':
      return z.clone();
  }
}

/** σ'(z). */
export function derivative(fn: ActivationName, z: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    switch (fn) {
      case 'tanh':
        return tf.sub(1, tf.square(y));
      case 'relu':
        return tf.cast(tf.greater(z, 0), 'float32');
      case 'sigmoid':
        return tf.mul(y, tf.sub(1, y));
      case 'softplus':
        return tf.sigmoid(z);
      case 'identity':
        return tf.onesLike(z);
    }
  });
}

/**
 * The optional fused kernel g ⊙ σ'(z) that a backend may register (src/backend/native.ts does):
 * inputs { t, dy } with t = y = σ(z) for tanh and sigmoid, t = z for relu and softplus; attrs
 * { fn }. One pass instead of the two or three elementwise ops of `derivative` and a multiply.
 */
export const ACTIVATION_VJP_KERNEL = 'GeodesicActivationGrad';
const FUSED_VJP: Partial<Record<ActivationName, 'output' | 'input'>> = { tanh: 'output', sigmoid: 'output', relu: 'input', softplus: 'input' };

/** g ⊙ σ'(z) (a vjp, and a jvp: the Jacobian is diagonal), through the fused kernel where the active backend registers it. */
export function timesDerivative(fn: ActivationName, z: tf.Tensor, y: tf.Tensor, g: tf.Tensor): tf.Tensor {
  const uses = FUSED_VJP[fn];
  if (uses !== undefined && g.dtype === 'float32' && z.dtype === 'float32' && sameShape(z.shape, g.shape) && tf.getKernel(ACTIVATION_VJP_KERNEL, tf.getBackend()) !== undefined)
    return tf.engine().runKernel(ACTIVATION_VJP_KERNEL, { t: uses === 'output' ? y : z, dy: g }, { fn }) as tf.Tensor;
  return tf.tidy(() => tf.mul(g, derivative(fn, z, y)));
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** σ''(z). */
export function secondDerivative(fn: ActivationName, z: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    switch (fn) {
      case 'tanh':
        return tf.mul(-2, tf.mul(y, tf.sub(1, tf.square(y))));
      case 'relu':
        return tf.zerosLike(z);
      case 'sigmoid':
        return tf.mul(tf.mul(y, tf.sub(1, y)), tf.sub(1, tf.mul(2, y)));
      case 'softplus': {
        const s = tf.sigmoid(z);
        return tf.mul(s, tf.sub(1, s));
      }
      case 'identity':
        return tf.zerosLike(z);
    }
  });
}

/** True when σ'' ≡ 0, so the Hessian's activation term vanishes. */
export function isPiecewiseLinear(fn: ActivationName): boolean {
  return fn === 'relu' || fn === 'identity';
}
