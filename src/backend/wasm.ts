/**
 * Loading the tfjs wasm backend under Node: its `.wasm` binaries are read from the
 * package's own `dist/` folder (a file path, not a URL), then `tf.ready()` compiles them.
 * (In a browser the same happens from a URL: portable.ts, `activateWasmFrom`.)
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);

import { activateWasmFrom } from './portable.js';

export type { WasmBackendInternals } from './wasmInternals.js';

/** Directory (with trailing separator) holding tfjs-backend-wasm's `.wasm` files. */
export function wasmDistDir(): string {
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  return path.dirname(main) + path.sep;
}

/** Make `wasm` the active backend (idempotent). Throws with a clear message on failure. */
export async function activateWasm(): Promise<void> {
  await activateWasmFrom(wasmDistDir());
}

