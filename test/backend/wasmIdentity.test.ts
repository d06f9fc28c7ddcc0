import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { activateWasm } from '../../src/backend/wasm.js';
import { installZeroCopyIdentity, uninstallZeroCopyIdentity, zeroCopyIdentityInstalled } from '../../src/backend/wasmIdentity.js';

describe('zero-copy Identity (tf.clone) on wasm', () => {
  beforeAll(async () => {
    await activateWasm();
    expect(installZeroCopyIdentity()).toBe(true);
  });
  afterAll(() => uninstallZeroCopyIdentity());

  it('a clone shares the buffer (no new data buffer), survives disposing the original, and frees it with the last user', () => {
    expect(zeroCopyIdentityInstalled()).toBe(true);
    const before = tf.memory();
    const x = tf.tensor2d([1, -2, 3.5, 4, 5, 6], [2, 3]);
    const buffers = tf.memory().numDataBuffers;
    const c = tf.clone(x);
    expect(tf.memory().numDataBuffers).toBe(buffers); // shared: no second buffer
    expect(tf.memory().numTensors).toBe(before.numTensors + 2);
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, -2, 3.5, 4, 5, 6]);
    const y = tf.add(c, 1); // the clone is an ordinary input
    expect(Array.from(y.dataSync())).toEqual([2, -1, 4.5, 5, 6, 7]);
    tf.dispose([c, y]);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers);
  });

  it('chains of clones and reshapes inside tidy leak nothing, and ops on a clone never touch the original', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1, 2, 3, 4]);
    const out = tf.tidy(() => {
      const a = tf.clone(tf.clone(x));
      const b = tf.reshape(tf.clone(a), [2, 2]);
      return tf.mul(b, 2);
    });
    expect(Array.from(out.dataSync())).toEqual([2, 4, 6, 8]);
    expect(Array.from(x.dataSync())).toEqual([1, 2, 3, 4]);
    tf.dispose([x, out]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the stock kernel comes back on uninstall (it copies: the clone owns a new buffer)', () => {
    uninstallZeroCopyIdentity();
    const x = tf.tensor1d([1, 2, 3]);
    const buffers = tf.memory().numDataBuffers;
    const c = tf.clone(x);
    expect(tf.memory().numDataBuffers).toBe(buffers + 1);
    tf.dispose([x, c]);
    expect(installZeroCopyIdentity()).toBe(true);
  });
});
