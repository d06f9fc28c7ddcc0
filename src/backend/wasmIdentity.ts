/**
 * Zero-copy `Identity` (tf.clone) for the wasm backend. The stock wasm kernel copies the tensor's
 * bytes into a new buffer; tensors are immutable, so — as tfjs's own cpu backend does — the clone
 * can share the data buffer and bump its reference count (the engine frees the buffer when the
 * last tensor on it is disposed, exactly as for Reshape). Compiled steps clone gradients and
 * optimizer state, ≈ 1 ms per copy of the autoencoder's 2.8 M parameters; installed with the
 * other wasm fixes by `selectBackend`.
 */
import * as tf from '@tensorflow/tfjs';

const BACKEND = 'wasm';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

let stock: tf.KernelConfig | null = null;

/** Register the zero-copy Identity on the wasm backend (idempotent); false if wasm has none. */
export function installZeroCopyIdentity(): boolean {
  if (stock !== null) return true;
  const prev = tf.getKernel('Identity', BACKEND);
  if (prev === undefined) return false;
  stock = prev;
  const fallback = prev.kernelFunc;
  tf.unregisterKernel('Identity', BACKEND);
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: BACKEND,
    kernelFunc: (args) => {
      const x = (args.inputs as { x: tf.TensorInfo }).x;
      if (x.dtype === 'string') return fallback(args);
      (args.backend as unknown as RefCountingBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  return true;
}

/** Put the stock (copying) wasm Identity back (tests and benchmarks compare both). */
export function uninstallZeroCopyIdentity(): void {
  if (stock === null) return;
  tf.unregisterKernel('Identity', BACKEND);
  tf.registerKernel(stock);
  stock = null;
}

export function zeroCopyIdentityInstalled(): boolean {
  return stock !== null;
}
