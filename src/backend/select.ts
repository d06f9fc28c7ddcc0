/**
 * Backend selection: `auto | native | wasm | cpu | tensorflow`.
 *
 * - `tensorflow`: @tensorflow/tfjs-node (optional dependency; needs its native libtensorflow).
 * - `native`: the tfjs wasm backend + the transposed-matmul fix + geodesic's C++ kernels.
 * - `wasm`: the tfjs wasm backend + the transposed-matmul fix (pure TypeScript, always on).
 * - `cpu`: tfjs's plain JavaScript backend (the numerical oracle; slow).
 * - `auto`: tensorflow, else native, else wasm; the returned reason says which and why.
 * GEODESIC_NATIVE=0 forces the C++ kernels off.
 */
import * as tf from '@tensorflow/tfjs';
import { wasmDistDir } from './wasm.js';
import { useCpu, usePlainWasm, type BackendChoice } from './portable.js';
import { installNativeKernels, loadNative, nativeKernelsInstalled, uninstallNativeKernels } from './native.js';
import { nativeDenseKernels } from './linalg.js';
import { setDenseKernels } from '../solvers/kernels.js';

export type BackendName = 'auto' | 'native' | 'wasm' | 'cpu' | 'tensorflow';
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'native', 'wasm', 'cpu', 'tensorflow'];

export type { BackendChoice } from './portable.js';

async function tryTensorflow(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    // A variable specifier keeps TypeScript from requiring the optional package's types.
    const specifier = '@tensorflow/tfjs-node';
    await import(specifier);
    const ok = await tf.setBackend('tensorflow');
    if (!ok) return { ok: false, reason: 'tfjs-node loaded but its backend failed to initialise' };
    await tf.ready();
    return { ok: true };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    return { ok: false, reason: `tfjs-node unavailable (${msg.length > 160 ? msg.slice(0, 160) + '…' : msg})` };
  }
}

async function useWasm(withNative: boolean): Promise<{ ok: true; isa: string; threads: number } | { ok: false; reason: string }> {
  uninstallNativeKernels();
  await usePlainWasm(wasmDistDir());
  if (!withNative) {
    return { ok: false, reason: 'native kernels not requested' };
  }
  const loaded = loadNative();
  if (!loaded.ok) {
    return { ok: false, reason: loaded.reason };
  }
  installNativeKernels(loaded.addon);
  // float64 Cholesky / SPD inverse / eigendecomposition for src/solvers (factor inversions)
  setDenseKernels(nativeDenseKernels() ?? null);
  const info = loaded.addon.info();
  return { ok: true, isa: info.isa, threads: info.threads };
}

/**
 * Activate a backend. `auto` never rejects (plain wasm always works); an explicit name that
 * cannot be honoured rejects with the cause.
 */
export async function selectBackend(name: BackendName): Promise<BackendChoice> {
  switch (name) {
    case 'cpu': {
      uninstallNativeKernels();
      await useCpu();
      return { name: 'cpu', reason: 'requested' };
    }
    case 'tensorflow': {
      const t = await tryTensorflow();
      if (!t.ok) throw new Error(`geodesic: backend 'tensorflow' requested but ${t.reason}`);
      setDenseKernels(null);
      return { name: 'tensorflow', reason: 'requested' };
    }
    case 'wasm': {
      await useWasm(false);
      return { name: 'wasm', reason: 'requested (tfjs wasm with the transposed-matmul fix)' };
    }
    case 'native': {
      const n = await useWasm(true);
      if (!n.ok) throw new Error(`geodesic: backend 'native' requested but ${n.reason}`);
      return { name: 'native', reason: `requested (wasm + C++ kernels, ${n.isa}, ${n.threads} threads)` };
    }
    case 'auto': {
      const t = await tryTensorflow();
      if (t.ok) {
        setDenseKernels(null);
        return { name: 'tensorflow', reason: 'auto: tfjs-node loaded' };
      }
      const n = await useWasm(true);
      if (n.ok) return { name: 'native', reason: `auto: ${t.reason}; using wasm + C++ kernels (${n.isa}, ${n.threads} threads)` };
      return { name: 'wasm', reason: `auto: ${t.reason}; native kernels unavailable (${n.reason}); using wasm with the transposed-matmul fix` };
    }
    default: {
      const bad: never = name;
      throw new Error(`geodesic: unknown backend '${String(bad)}' (expected one of ${BACKEND_NAMES.join(', ')})`);
    }
  }
}

/** Which geodesic backend is active right now ('native' when the C++ kernels are installed). */
export function activeBackend(): string {
  const b = tf.getBackend();
  return b === 'wasm' && nativeKernelsInstalled() ? 'native' : b;
}
