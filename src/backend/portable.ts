/**
 * Backend selection without Node (the playground's): `auto | wasm | webgl | webgpu | cpu`.
 *
 * - `wasm`: the tfjs wasm backend + the transposed-matmul fix + the zero-copy Identity — exactly
 *   what `geodesic train --backend wasm` runs, so the numbers are the CLI's. Its `.wasm` files are
 *   fetched from `wasmPaths` (a URL prefix in a browser, a directory under Node).
 * - `webgl`, `webgpu`: tfjs's GPU backends, where the browser has them (`webgpu` needs
 *   @tensorflow/tfjs-backend-webgpu imported by the page; its registration is not done here).
 * - `cpu`: tfjs's plain JavaScript backend (the numerical oracle).
 * - `auto`: wasm (always available, and on the small problems a page trains it is faster than a
 *   GPU round trip); the reason says so.
 * The Node selector (select.ts) adds `native` and `tensorflow` on top of these.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { installMatmulFix } from './matmulFix.js';
import { installZeroCopyIdentity } from './wasmIdentity.js';
import { setDenseKernels } from '../solvers/kernels.js';

export interface BackendChoice {
  /** What runs: 'tensorflow' | 'native' | 'wasm' | 'webgl' | 'webgpu' | 'cpu'. */
  readonly name: string;
  /** One line: why this backend (and why not the better ones, for `auto`). */
  readonly reason: string;
}

import { PORTABLE_BACKEND_NAMES, type PortableBackendName } from './names.js';

export { PORTABLE_BACKEND_NAMES, type PortableBackendName } from './names.js';

let wasmPathsSet: string | undefined;

/** Make `wasm` the active backend, its binaries from `wasmPaths` (set once). Throws with a clear message. */
export async function activateWasmFrom(wasmPaths: string): Promise<void> {
  if (wasmPathsSet === undefined) {
    setWasmPaths(wasmPaths);
    wasmPathsSet = wasmPaths;
  }
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('geodesic: the tfjs wasm backend failed to initialise');
  await tf.ready();
}

/** The plain wasm backend as `--backend wasm` runs it: the transposed-matmul fix and zero-copy Identity, JS dense kernels. */
export async function usePlainWasm(wasmPaths: string): Promise<void> {
  await activateWasmFrom(wasmPaths);
  installMatmulFix();
  installZeroCopyIdentity();
  setDenseKernels(null);
}

/** tfjs's cpu backend, without its one-time banner suggesting tfjs-node (it would land in the middle of output). */
export async function useCpu(): Promise<void> {
  setDenseKernels(null);
  await tf.setBackend('cpu');
  await tf.ready();
  const cpu = tf.backend() as { firstUse?: boolean };
  if (cpu.firstUse === true) cpu.firstUse = false;
}

async function useGpu(name: 'webgl' | 'webgpu'): Promise<void> {
  if (tf.findBackendFactory(name) === null) throw new Error(`geodesic: backend '${name}' is not loaded in this page`);
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    if (ok) await tf.ready();
  } catch (e) {
    throw new Error(`geodesic: backend '${name}' failed to initialise (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
  }
  if (!ok) throw new Error(`geodesic: backend '${name}' is not available here (no ${name === 'webgpu' ? 'navigator.gpu adapter' : 'WebGL context'})`);
  setDenseKernels(null);
}

/**
 * Activate a backend by name. An explicit name that cannot be honoured rejects with the cause;
 * `auto` is wasm.
 */
export async function selectPortableBackend(name: PortableBackendName, options: { readonly wasmPaths: string }): Promise<BackendChoice> {
  switch (name) {
    case 'cpu':
      await useCpu();
      return { name: 'cpu', reason: 'requested' };
    case 'wasm':
      await usePlainWasm(options.wasmPaths);
      return { name: 'wasm', reason: 'requested (tfjs wasm with the transposed-matmul fix)' };
    case 'webgl':
    case 'webgpu':
      await useGpu(name);
      return { name, reason: 'requested' };
    case 'auto':
      await usePlainWasm(options.wasmPaths);
      return { name: 'wasm', reason: 'auto: tfjs wasm with the transposed-matmul fix (the same numbers as `geodesic train --backend wasm`)' };
    default: {
      const bad: never = name;
      throw new Error(`geodesic: unknown backend '${String(bad)}' (expected one of ${PORTABLE_BACKEND_NAMES.join(', ')})`);
    }
  }
}
