/**
 * Optional native kernels for the tfjs wasm backend.
 *
 * Loads the `geodesic-native` addon (src/backend/native, built by node-gyp at `npm ci`) and
 * registers kernels in place of the wasm ones: BatchMatMul, _FusedMatMul (packed SIMD SGEMM,
 * every transpose, batched, fused bias + activation), Tanh, Sigmoid, Softplus, Relu, Sum over
 * leading or trailing axes, and a `GeodesicActivationGrad` kernel used by the Tanh / Sigmoid
 * gradients. They read and write the wasm backend's own heap (no copies). Anything they do not
 * handle (other dtypes, multi-axis batch broadcasting, prelu, non-row biases) goes to the kernel
 * that was registered before (the transposed-matmul fix or stock wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import type { WasmBackendInternals } from './wasmInternals.js';
import { ACTIVATION_VJP_KERNEL } from '../model/activation.js';

const BACKEND = 'wasm';

/** The addon's functions (see src/backend/native/src/addon.cc). */
export interface NativeAddon {
  gemm(
    A: Float32Array, B: Float32Array, C: Float32Array, bias: Float32Array | null,
    batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean,
    strideA: number, strideB: number, act: number, alpha: number, symmetric?: boolean,
  ): void;
  unary(op: number, x: Float32Array, y: Float32Array): void;
  unaryGrad(op: number, t: Float32Array, dy: Float32Array, dx: Float32Array): void;
  colSum(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  rowSum(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  cholesky(a: Float64Array, n: number, damping: number, out: Float64Array): boolean;
  spdInverse(a: Float64Array, n: number, damping: number, out: Float64Array): boolean;
  /**
   * outs[i] = (As[i] + dampings[i]·I)⁻¹ for every i (lower triangles read, both written); false
   * where not positive definite. The matrices run in parallel over the pool (largest first), each
   * one serially.
   */
  spdInverseMany(As: Float64Array[], ns: number[], dampings: number[], outs: Float64Array[]): boolean[];
  symEig(a: Float64Array, n: number, values: Float64Array, vectors: Float64Array): boolean;
  /** In-register FMA probe on every pool thread: the machine's float32 peak for this ISA, now. */
  fmaPeak(iters: number): { gflops: number; threads: number; seconds: number };
  info(): { isa: string; threads: number; mr: number; nr: number };
  setIsa(name: string): boolean;
}

/** Activation codes shared with the C++ side (kernels.h `enum Act`). */
export const ACT = { linear: 0, relu: 1, relu6: 2, sigmoid: 3, tanh: 4, softplus: 5, leakyrelu: 6, elu: 7, sqrt: 9 } as const;
export type ActivationName = keyof typeof ACT;

export type LoadResult = { ok: true; addon: NativeAddon } | { ok: false; reason: string };

let cached: LoadResult | null = null;

/** Load the addon once. Honours GEODESIC_NATIVE=0 (forced off). Never throws. */
export function loadNative(): LoadResult {
  if (process.env['GEODESIC_NATIVE'] === '0') return { ok: false, reason: 'disabled by GEODESIC_NATIVE=0' };
  if (cached !== null) return cached;
  try {
    const require = createRequire(import.meta.url);
    cached = { ok: true, addon: require('geodesic-native') as NativeAddon };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    cached = { ok: false, reason: msg };
  }
  return cached;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type KernelFn = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

interface Heap {
  backend: WasmBackendInternals;
  view(t: tf.TensorInfo, size?: number): Float32Array;
}

function heap(backend: unknown): Heap {
  const b = backend as WasmBackendInternals;
  return {
    backend: b,
    // Views are taken after all outputs are allocated: allocation may grow (and detach) the heap.
    view(t, size) {
      const { memoryOffset } = b.dataIdMap.get(t.dataId);
      return new Float32Array(b.wasm.HEAPU8.buffer, memoryOffset, size ?? tf.util.sizeFromShape(t.shape));
    },
  };
}

const arraysEqual = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((v, i) => v === y[i]);

function makeBatchMatMul(addon: NativeAddon, fallback: KernelFn): KernelFn {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
    const ra = a.shape.length, rb = b.shape.length;
    const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
    const batchA = tf.util.sizeFromShape(outerA), batchB = tf.util.sizeFromShape(outerB);
    if (!(arraysEqual(outerA, outerB) || batchA === 1 || batchB === 1)) return fallback(args);
    const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    if (k !== kb) return fallback(args); // the fallback raises tfjs's own shape error
    const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    const batch = Math.max(batchA, batchB);
    if (batch * m * n === 0 || batch * m * k === 0 || batch * k * n === 0) return fallback(args);
    const h = heap(args.backend);
    const out = h.backend.makeOutput([...batchShape, m, n], 'float32');
    // XᵀX or XXᵀ of one tensor (K-FAC's factor statistics): symmetric, about half the work.
    const symmetric = a.dataId === b.dataId && transposeA !== transposeB;
    addon.gemm(h.view(a), h.view(b), h.view(out), null, batch, m, n, k, transposeA, transposeB,
      batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n, ACT.linear, 0, symmetric);
    return out;
  };
}

function makeFusedMatMul(addon: NativeAddon, fallback: KernelFn): KernelFn {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as {
      a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo | null; preluActivationWeights?: tf.TensorInfo | null;
    };
    const attrs = (args.attrs ?? {}) as { transposeA: boolean; transposeB: boolean; activation: string; leakyreluAlpha?: number };
    const act = (ACT as Record<string, number>)[attrs.activation ?? 'linear'];
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || act === undefined || preluActivationWeights != null) return fallback(args);
    if (a.shape.length !== 3 || b.shape.length !== 3) return fallback(args);
    const batchA = a.shape[0]!, batchB = b.shape[0]!;
    if (!(batchA === batchB || batchA === 1 || batchB === 1)) return fallback(args);
    const m = attrs.transposeA ? a.shape[2]! : a.shape[1]!;
    const k = attrs.transposeA ? a.shape[1]! : a.shape[2]!;
    const kb = attrs.transposeB ? b.shape[2]! : b.shape[1]!;
    const n = attrs.transposeB ? b.shape[1]! : b.shape[2]!;
    if (k !== kb) return fallback(args);
    if (bias != null && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== n || !bias.shape.slice(0, -1).every((d) => d === 1)))
      return fallback(args);
    const batch = Math.max(batchA, batchB);
    if (batch * m * n * k === 0) return fallback(args);
    const h = heap(args.backend);
    const out = h.backend.makeOutput([batch, m, n], 'float32');
    addon.gemm(h.view(a), h.view(b), h.view(out), bias != null ? h.view(bias) : null, batch, m, n, k,
      attrs.transposeA, attrs.transposeB, batchA === 1 ? 0 : m * k, batchB === 1 ? 0 : k * n, act, attrs.leakyreluAlpha ?? 0.2);
    return out;
  };
}

function makeUnary(addon: NativeAddon, op: number, fallback: KernelFn): KernelFn {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) return fallback(args);
    const h = heap(args.backend);
    const out = h.backend.makeOutput(x.shape, 'float32');
    addon.unary(op, h.view(x), h.view(out));
    return out;
  };
}

/**
 * Below this many elements the stock wasm kernel is as fast (no pool, no call overhead). Only Sqrt
 * is taken natively among the cheap elementwise ops: wasm's is scalar (4.6 → 1.0 ms per Adam step
 * of the autoencoder at batch 256, tf.profile); native Add / Sub / Multiply / RealDiv / Square were
 * tried and measured no faster (memory-bound, fresh outputs), so they stay on wasm.
 */
const NATIVE_ELEMENTWISE_MIN = 1 << 14;

/** A unary kernel taken natively only for large float32 tensors. */
function makeLargeUnary(addon: NativeAddon, op: number, fallback: KernelFn): KernelFn {
  const native = makeUnary(addon, op, fallback);
  return (args) => (tf.util.sizeFromShape((args.inputs as { x: tf.TensorInfo }).x.shape) < NATIVE_ELEMENTWISE_MIN ? fallback(args) : native(args));
}

function makeSum(addon: NativeAddon, fallback: KernelFn): KernelFn {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = (args.attrs ?? {}) as { axis: number | number[]; keepDims: boolean };
    const r = x.shape.length;
    if (x.dtype !== 'float32' || r === 0 || tf.util.sizeFromShape(x.shape) === 0) return fallback(args);
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
    if (axes.length === 0) return fallback(args);
    const leading = axes.every((v, i) => v === i);
    const trailing = axes.every((v, i) => v === r - axes.length + i);
    if (!leading && !trailing) return fallback(args);
    const kept = x.shape.filter((_, i) => !axes.includes(i));
    const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : kept;
    const keptSize = tf.util.sizeFromShape(kept);
    const reducedSize = tf.util.sizeFromShape(x.shape) / keptSize;
    const h = heap(args.backend);
    const out = h.backend.makeOutput(outShape, 'float32');
    // A full reduction (leading and trailing) is one row: rowSum vectorizes along it (colSum with
    // one column is a serial loop, ≈ 10× slower on a 784k-float gradient).
    if (leading && !trailing) addon.colSum(h.view(x), reducedSize, keptSize, h.view(out));
    else addon.rowSum(h.view(x), keptSize, reducedSize, h.view(out));
    return out;
  };
}

/** Custom kernel: derivative of an activation times dy (t = output for tanh/sigmoid, input else). */
export const ACTIVATION_GRAD = ACTIVATION_VJP_KERNEL;

function makeActivationGrad(addon: NativeAddon): KernelFn {
  return (args) => {
    const { t, dy } = args.inputs as { t: tf.TensorInfo; dy: tf.TensorInfo };
    const { fn } = (args.attrs ?? {}) as { fn: 'tanh' | 'sigmoid' | 'relu' | 'softplus' };
    const op = ACT[fn];
    if (op === undefined) throw new Error(`geodesic: ${ACTIVATION_GRAD} has no native kernel for '${String(fn)}'`);
    const h = heap(args.backend);
    const out = h.backend.makeOutput(t.shape, 'float32');
    addon.unaryGrad(op, h.view(t), h.view(dy), h.view(out));
    return out;
  };
}

/**
 * Derivative of an activation times `dy`, on the native kernel when installed, else by tfjs ops.
 * For tanh and sigmoid `t` is the activation's OUTPUT; for relu and softplus its INPUT.
 */
export function activationGrad(kind: 'tanh' | 'sigmoid' | 'relu' | 'softplus', t: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  if (installedState !== null && tf.getBackend() === BACKEND && t.dtype === 'float32' && dy.dtype === 'float32' && arraysEqual(t.shape, dy.shape))
    return tf.engine().runKernel(ACTIVATION_GRAD, { t, dy }, { fn: kind }) as tf.Tensor;
  return tf.tidy(() => {
    switch (kind) {
      case 'tanh': return tf.mul(dy, tf.sub(1, tf.square(t)));
      case 'sigmoid': return tf.mul(dy, tf.mul(t, tf.sub(1, t)));
      case 'relu': return tf.mul(dy, tf.step(t));
      case 'softplus': return tf.mul(dy, tf.sigmoid(t));
    }
  });
}

interface InstalledState {
  readonly kernels: tf.KernelConfig[];
  readonly grads: tf.GradConfig[];
  readonly addon: NativeAddon;
}
let installedState: InstalledState | null = null;

/**
 * Register the native kernels for the wasm backend (idempotent). Install the transposed-matmul
 * fix first: the kernels registered at this moment become the fallbacks.
 */
export function installNativeKernels(addon: NativeAddon): void {
  if (installedState !== null) return;
  const replaced: tf.KernelConfig[] = [];
  const swap = (name: string, make: (fallback: KernelFn) => KernelFn) => {
    const prev = tf.getKernel(name, BACKEND);
    if (prev === undefined) throw new Error(`geodesic: wasm kernel '${name}' is not registered`);
    replaced.push(prev);
    tf.unregisterKernel(name, BACKEND);
    const cfg: tf.KernelConfig = { kernelName: name, backendName: BACKEND, kernelFunc: make(prev.kernelFunc as unknown as KernelFn) as unknown as tf.KernelFunc };
    if (prev.setupFunc !== undefined) cfg.setupFunc = prev.setupFunc;
    tf.registerKernel(cfg);
  };
  swap('BatchMatMul', (f) => makeBatchMatMul(addon, f));
  swap('_FusedMatMul', (f) => makeFusedMatMul(addon, f));
  swap('Tanh', (f) => makeUnary(addon, ACT.tanh, f));
  swap('Sigmoid', (f) => makeUnary(addon, ACT.sigmoid, f));
  swap('Softplus', (f) => makeUnary(addon, ACT.softplus, f));
  swap('Relu', (f) => makeUnary(addon, ACT.relu, f));
  swap('Sum', (f) => makeSum(addon, f));
  swap('Sqrt', (f) => makeLargeUnary(addon, ACT.sqrt, f));
  tf.registerKernel({ kernelName: ACTIVATION_GRAD, backendName: BACKEND, kernelFunc: makeActivationGrad(addon) as unknown as tf.KernelFunc });
  // Tanh / Sigmoid backward as one fused native pass instead of three wasm ops. The gradient
  // registry is global, so the new gradients dispatch per backend (activationGrad above).
  const grads: tf.GradConfig[] = [];
  for (const [name, kind] of [['Tanh', 'tanh'], ['Sigmoid', 'sigmoid']] as const) {
    const prev = tf.getGradient(name);
    if (prev === undefined) continue;
    grads.push(prev);
    tf.registerGradient({
      kernelName: name,
      outputsToSave: [true],
      gradFunc: (dy, saved) => ({ x: () => activationGrad(kind, saved[0] as tf.Tensor, dy as tf.Tensor) }),
    });
  }
  installedState = { kernels: replaced, grads, addon };
}

/** Put back the kernels and gradients that were registered before installNativeKernels. */
export function uninstallNativeKernels(): void {
  if (installedState === null) return;
  for (const cfg of installedState.kernels) {
    tf.unregisterKernel(cfg.kernelName, BACKEND);
    tf.registerKernel(cfg);
  }
  tf.unregisterKernel(ACTIVATION_GRAD, BACKEND);
  for (const g of installedState.grads) tf.registerGradient(g);
  installedState = null;
}

export function nativeKernelsInstalled(): boolean {
  return installedState !== null;
}
