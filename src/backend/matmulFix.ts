/**
 * Transposed-matmul fix for the tfjs wasm backend (pure TypeScript).
 *
 * Stock tfjs-backend-wasm 4.22 uses XNNPACK for `BatchMatMul` / `_FusedMatMul` only when neither
 * operand is transposed; every transposed product (all of backprop) falls into a scalar loop,
 * ~13× slower, and `_FusedMatMul` with a transpose and a bias adds the bias more than once.
 * This module replaces both kernels (tf.getKernel → tf.unregisterKernel → tf.registerKernel) by
 * versions that transpose the operands explicitly with the backend's own `Transpose` kernel and
 * then call the original kernel with `transposeA = transposeB = false`. Bias shapes the stock
 * kernel rejects (anything but rank 1) and all activations are handled by composing the
 * backend's own `Add` and activation kernels.
 */
import * as tf from '@tensorflow/tfjs';
import type { WasmBackendInternals } from './wasmInternals.js';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type KernelFn = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

const BACKEND = 'wasm';

interface Installed {
  readonly batchMatMul: tf.KernelConfig;
  readonly fusedMatMul: tf.KernelConfig;
}

let installed: Installed | null = null;

function kernel(name: string): KernelFn {
  const k = tf.getKernel(name, BACKEND);
  if (k === undefined) throw new Error(`geodesic: wasm kernel '${name}' is not registered`);
  return k.kernelFunc as unknown as KernelFn;
}

function single(out: tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo {
  return Array.isArray(out) ? (out[0] as tf.TensorInfo) : out;
}

/** Swap the last two axes with the backend's Transpose kernel (a new buffer the caller frees). */
export function transposeLast2(x: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return single(kernel('Transpose')({ inputs: { x }, backend, attrs: { perm } }));
}

function free(backend: unknown, ...infos: tf.TensorInfo[]): void {
  for (const t of infos) (backend as WasmBackendInternals).disposeData(t.dataId);
}

function makeBatchMatMul(original: KernelFn): KernelFn {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return original(args);
    const backend = args.backend;
    const at = transposeA ? transposeLast2(a, backend) : a;
    const bt = transposeB ? transposeLast2(b, backend) : b;
    try {
      return original({ inputs: { a: at, b: bt }, backend, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    } finally {
      if (transposeA) free(backend, at);
      if (transposeB) free(backend, bt);
    }
  };
}

/** Apply a fused activation with the backend's own kernels. Consumes (frees) `x`. */
export function applyActivation(
  x: tf.TensorInfo,
  activation: string,
  backend: unknown,
  preluWeights: tf.TensorInfo | null | undefined,
  leakyreluAlpha: number | undefined,
): tf.TensorInfo {
  let out: tf.TensorInfo;
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      out = single(kernel('Relu')({ inputs: { x }, backend }));
      break;
    case 'relu6':
      out = single(kernel('Relu6')({ inputs: { x }, backend }));
      break;
    case 'sigmoid':
      out = single(kernel('Sigmoid')({ inputs: { x }, backend }));
      break;
    case 'elu':
      out = single(kernel('Elu')({ inputs: { x }, backend }));
      break;
    case 'leakyrelu':
      out = single(kernel('LeakyRelu')({ inputs: { x }, backend, attrs: { alpha: leakyreluAlpha ?? 0.2 } }));
      break;
    case 'prelu':
      if (preluWeights == null) throw new Error('geodesic: prelu activation needs preluActivationWeights');
      out = single(kernel('Prelu')({ inputs: { x, alpha: preluWeights }, backend }));
      break;
    default:
      throw new Error(`geodesic: unsupported fused activation '${activation}'`);
  }
  free(backend, x);
  return out;
}

function makeFusedMatMul(originalFused: KernelFn, batchMatMul: KernelFn): KernelFn {
  return (args) => {
    const backend = args.backend;
    const { a, b, bias, preluActivationWeights } = args.inputs as {
      a: tf.TensorInfo;
      b: tf.TensorInfo;
      bias?: tf.TensorInfo | null;
      preluActivationWeights?: tf.TensorInfo | null;
    };
    const attrs = (args.attrs ?? {}) as {
      transposeA: boolean;
      transposeB: boolean;
      activation: string;
      leakyreluAlpha?: number;
    };
    const n = attrs.transposeB ? b.shape[b.shape.length - 2]! : b.shape[b.shape.length - 1]!;
    const batch = Math.max(tf.util.sizeFromShape(a.shape.slice(0, -2)), tf.util.sizeFromShape(b.shape.slice(0, -2)));
    // The stock kernel indexes the bias wrongly when batch > 1 (measured: 4.22 writes
    // bias[1] into columns 0 of later rows), so it only receives a bias for a single product.
    const biasIsRow =
      bias == null || (batch === 1 && tf.util.sizeFromShape(bias.shape) === n && bias.shape.slice(0, -1).every((d) => d === 1));
    if (biasIsRow) {
      // A row bias goes to the stock kernel as a fresh rank-1 buffer (the kernel reads the
      // stored shape, so a reshape view is not enough).
      const at = attrs.transposeA ? transposeLast2(a, backend) : a;
      const bt = attrs.transposeB ? transposeLast2(b, backend) : b;
      const bias1 =
        bias != null && bias.shape.length !== 1
          ? single(kernel('Identity')({ inputs: { x: { dataId: bias.dataId, shape: [n], dtype: bias.dtype } }, backend }))
          : bias;
      try {
        const inputs: tf.NamedTensorInfoMap = { a: at, b: bt };
        if (bias1 != null) inputs['bias'] = bias1;
        if (preluActivationWeights != null) inputs['preluActivationWeights'] = preluActivationWeights;
        return originalFused({ inputs, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
      } finally {
        if (attrs.transposeA) free(backend, at);
        if (attrs.transposeB) free(backend, bt);
        if (bias1 != null && bias1 !== bias) free(backend, bias1);
      }
    }
    // General broadcastable bias: product, then the backend's broadcasting Add, then activation.
    const prod = single(batchMatMul({ inputs: { a, b }, backend, attrs: { transposeA: attrs.transposeA, transposeB: attrs.transposeB } }));
    const sum = single(kernel('Add')({ inputs: { a: prod, b: bias as tf.TensorInfo }, backend }));
    free(backend, prod);
    return applyActivation(sum, attrs.activation ?? 'linear', backend, preluActivationWeights, attrs.leakyreluAlpha);
  };
}

function replace(name: string, kernelFunc: KernelFn, setupFunc: tf.KernelConfig['setupFunc']): void {
  tf.unregisterKernel(name, BACKEND);
  const config: tf.KernelConfig = { kernelName: name, backendName: BACKEND, kernelFunc: kernelFunc as unknown as tf.KernelFunc };
  if (setupFunc !== undefined) config.setupFunc = setupFunc;
  tf.registerKernel(config);
}

/**
 * Install the fix (idempotent). Needs `@tensorflow/tfjs-backend-wasm` imported so that the wasm
 * kernels are registered. Returns false when there is no wasm BatchMatMul to fix.
 */
export function installMatmulFix(): boolean {
  if (installed !== null) return true;
  const bmm = tf.getKernel('BatchMatMul', BACKEND);
  const fused = tf.getKernel('_FusedMatMul', BACKEND);
  if (bmm === undefined || fused === undefined) return false;
  installed = { batchMatMul: bmm, fusedMatMul: fused };
  const fixedBmm = makeBatchMatMul(bmm.kernelFunc as unknown as KernelFn);
  replace('BatchMatMul', fixedBmm, bmm.setupFunc);
  replace('_FusedMatMul', makeFusedMatMul(fused.kernelFunc as unknown as KernelFn, fixedBmm), fused.setupFunc);
  return true;
}

/** Restore the stock wasm kernels (used by tests and benchmarks to compare). */
export function uninstallMatmulFix(): void {
  if (installed === null) return;
  for (const cfg of [installed.batchMatMul, installed.fusedMatMul]) {
    tf.unregisterKernel(cfg.kernelName, BACKEND);
    tf.registerKernel(cfg);
  }
  installed = null;
}

export function matmulFixInstalled(): boolean {
  return installed !== null;
}
