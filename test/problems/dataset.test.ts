import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { batchFrom, batchSampler, makeDataset, shuffledBatches, subsample } from '../../src/problems/dataset.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ds = makeDataset(
  Float32Array.from({ length: 10 * 3 }, (_, i) => i),
  Float32Array.from({ length: 10 * 2 }, (_, i) => -i),
  10,
  3,
  2,
);

describe('datasets and batches', () => {
  it('batchFrom gathers the requested rows into new tensors', () => {
    const before = tf.memory().numTensors;
    const b = batchFrom(ds, [7, 2]);
    expect(b.x.shape).toEqual([2, 3]);
    expect(Array.from(b.x.dataSync())).toEqual([21, 22, 23, 6, 7, 8]);
    expect(Array.from(b.y.dataSync())).toEqual([-14, -15, -4, -5]);
    tf.dispose([b.x, b.y]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => batchFrom(ds, [10])).toThrow(/index 10 out of range/);
  });

  it('shuffledBatches: each epoch is a seeded permutation, reproducible, different across epochs and seeds', () => {
    const e0 = shuffledBatches(10, 4, 1, 0);
    expect(e0.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(e0.flatMap((b) => [...b]).sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(shuffledBatches(10, 4, 1, 0)).toEqual(e0);
    expect(shuffledBatches(10, 4, 1, 1)).not.toEqual(e0);
    expect(shuffledBatches(10, 4, 2, 0)).not.toEqual(e0);
    expect(shuffledBatches(10, 4, 1, 0, true).map((b) => b.length)).toEqual([4, 4]);
  });

  it('batchSampler: equal-size batches, pure in the step, no repeats within an epoch', () => {
    const s = batchSampler(10, 3, 9);
    expect(s.batchesPerEpoch).toBe(3);
    const epoch0 = [0, 1, 2].flatMap((k) => [...s.indices(k)]);
    expect(new Set(epoch0).size).toBe(9);
    const again = batchSampler(10, 3, 9);
    expect([...again.indices(5)]).toEqual([...s.indices(5)]);
    expect([...s.indices(1)]).toEqual(epoch0.slice(3, 6)); // going back to epoch 0 after epoch 1
    expect(batchSampler(4, 100, 1).indices(0).length).toBe(4);
    expect(() => s.indices(-1)).toThrow(/non-negative integer/);
  });

  it('subsample is seeded and returns distinct rows', () => {
    const a = subsample(ds, 4, 3);
    expect(a.n).toBe(4);
    expect(subsample(ds, 4, 3).x).toEqual(a.x);
    const firsts = new Set(Array.from({ length: 4 }, (_, r) => a.x[r * 3]));
    expect(firsts.size).toBe(4);
    expect(subsample(ds, undefined, 3)).toBe(ds);
  });
});
