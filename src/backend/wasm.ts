/**
 * Loading the tfjs wasm backend under Node: its `.wasm` binaries are read from the
 * package's own `dist/` folder (a file path, not a URL), then `tf.ready()` compiles them.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);

let pathsSet = false;

/** Directory (with trailing separator) holding tfjs-backend-wasm's `.wasm` files. */
export function wasmDistDir(): string {
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  return path.dirname(main) + path.sep;
}

/** Make `wasm` the active backend (idempotent). Throws with a clear message on failure. */
export async function activateWasm(): Promise<void> {
  if (!pathsSet) {
    setWasmPaths(wasmDistDir());
    pathsSet = true;
  }
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('geodesic: the tfjs wasm backend failed to initialise');
  await tf.ready();
}

/** The wasm backend object with the internals the kernel overrides use. */
export interface WasmBackendInternals {
  dataIdMap: {
    get(dataId: object): { id: number; memoryOffset: number; shape: number[]; dtype: string; refCount: number };
  };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}
