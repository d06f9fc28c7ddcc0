import { describe, it, expect, afterEach } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, activeBackend } from '../../src/backend/select.js';
import { nativeKernelsInstalled } from '../../src/backend/native.js';
import { matmulFixInstalled } from '../../src/backend/matmulFix.js';

const saved = process.env['GEODESIC_NATIVE'];
afterEach(() => {
  if (saved === undefined) delete process.env['GEODESIC_NATIVE'];
  else process.env['GEODESIC_NATIVE'] = saved;
});

async function transposedProduct(): Promise<Float32Array> {
  const before = tf.memory().numTensors;
  const t = tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]), tf.tensor2d([1, -1, 2, 0.5, 3, 1], [3, 2]), true, false));
  const v = (await t.data()) as Float32Array;
  t.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return v;
}

describe('selectBackend', () => {
  it('GEODESIC_NATIVE=0 forces the addon off: auto falls back to wasm and says why', async () => {
    process.env['GEODESIC_NATIVE'] = '0';
    const choice = await selectBackend('auto');
    // On a machine where tfjs-node loads, auto legitimately prefers it.
    expect(['wasm', 'tensorflow']).toContain(choice.name);
    if (choice.name === 'wasm') {
      expect(choice.reason).toMatch(/GEODESIC_NATIVE=0/);
      expect(choice.reason).toMatch(/tfjs-node/);
      expect(tf.getBackend()).toBe('wasm');
      expect(activeBackend()).toBe('wasm');
      expect(nativeKernelsInstalled()).toBe(false);
      expect(matmulFixInstalled()).toBe(true);
      // Aᵀ B with A = [[1,2],[3,4],[5,6]], B = [[1,-1],[2,0.5],[3,1]] (by hand: row 2 of Aᵀ is [2,4,6], so [2+8+18, −2+2+6]).
      expect(Array.from(await transposedProduct())).toEqual([22, 5.5, 28, 6]);
    }
    await expect(selectBackend('native')).rejects.toThrow(/GEODESIC_NATIVE=0/);
  });

  it('wasm and cpu are always available and compute the same product', async () => {
    expect(await selectBackend('cpu')).toEqual({ name: 'cpu', reason: 'requested' });
    const onCpu = await transposedProduct();
    const w = await selectBackend('wasm');
    expect(w.name).toBe('wasm');
    expect(activeBackend()).toBe('wasm');
    expect(Array.from(await transposedProduct())).toEqual(Array.from(onCpu));
  });

  it('auto reports the backend it activated', async () => {
    const choice = await selectBackend('auto');
    expect(choice.reason.startsWith('auto:')).toBe(true);
    expect(activeBackend()).toBe(choice.name);
  });

  it('an explicit tensorflow request either activates tfjs-node or rejects with the cause', async () => {
    const r = await selectBackend('tensorflow').then(
      (c) => c.name,
      (e: Error) => e.message,
    );
    if (r !== 'tensorflow') expect(r).toMatch(/backend 'tensorflow' requested but tfjs-node/);
    else expect(tf.getBackend()).toBe('tensorflow');
  });
});

describe('selectBackend registers the float64 dense kernels of src/solvers', () => {
  it('native registers the native Cholesky / SPD inverse / eigen; wasm and cpu restore the JS ones', async () => {
    const { denseKernels, JS_KERNELS } = await import('../../src/solvers/kernels.js');
    const { nativeLinalgAvailable } = await import('../../src/backend/linalg.js');
    await selectBackend('wasm');
    expect(denseKernels()).toBe(JS_KERNELS);
    if (nativeLinalgAvailable()) {
      await selectBackend('native');
      const k = denseKernels();
      expect(k.name).toMatch(/^native/);
      expect(k.cholesky && k.spdInverse && k.symmetricEigen).toBeTruthy();
      // it answers: (diag(4, 9))⁻¹
      expect(Array.from(k.spdInverse!(Float64Array.from([4, 0, 0, 9]), 2, 0)!)).toEqual([0.25, 0, 0, 1 / 9]);
    }
    await selectBackend('cpu');
    expect(denseKernels()).toBe(JS_KERNELS);
  });
});
