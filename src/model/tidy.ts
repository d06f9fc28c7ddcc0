import * as tf from '@tensorflow/tfjs';

/** `tf.tidy` for results typed as readonly arrays / interfaces (tfjs's TensorContainer type rejects
 * `readonly` arrays). Tensors reachable in the result through arrays and plain objects are kept. */
export function tidy<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}
