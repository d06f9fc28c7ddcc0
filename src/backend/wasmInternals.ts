import type * as tf from '@tensorflow/tfjs';

/** The wasm backend object with the internals the kernel overrides use. */
export interface WasmBackendInternals {
  dataIdMap: {
    get(dataId: object): { id: number; memoryOffset: number; shape: number[]; dtype: string; refCount: number };
  };
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}
