/** Building, slicing and batching datasets (pure, seeded). */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../model/types.js';
import { deriveSeed, permutation } from '../model/random.js';
import type { Dataset } from './types.js';

export function makeDataset(x: Float32Array, y: Float32Array, n: number, xDim: number, yDim: number): Dataset {
  if (x.length !== n * xDim || y.length !== n * yDim) {
    throw new Error(`makeDataset: x has ${x.length} values and y ${y.length}, expected ${n}×${xDim} and ${n}×${yDim}`);
  }
  return { x, y, n, xDim, yDim };
}

/** The rows `indices` of `ds`, as a new host dataset. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const m = indices.length;
  const x = new Float32Array(m * ds.xDim);
  const y = new Float32Array(m * ds.yDim);
  for (let r = 0; r < m; r++) {
    const i = indices[r]!;
    if (!(i >= 0 && i < ds.n && Number.isInteger(i))) throw new Error(`subset: index ${i} out of range [0, ${ds.n})`);
    x.set(ds.x.subarray(i * ds.xDim, (i + 1) * ds.xDim), r * ds.xDim);
    y.set(ds.y.subarray(i * ds.yDim, (i + 1) * ds.yDim), r * ds.yDim);
  }
  return { x, y, n: m, xDim: ds.xDim, yDim: ds.yDim };
}

/** A tfjs batch (new tensors, owned by the caller) of the rows `indices`. */
export function batchFrom(ds: Dataset, indices: Int32Array | number[]): Batch {
  const s = subset(ds, indices);
  return {
    x: tf.tensor2d(s.x, [s.n, s.xDim], 'float32'),
    y: tf.tensor2d(s.y, [s.n, s.yDim], 'float32'),
  };
}

/** The whole dataset as one batch. */
export function fullBatch(ds: Dataset): Batch {
  return { x: tf.tensor2d(ds.x, [ds.n, ds.xDim], 'float32'), y: tf.tensor2d(ds.y, [ds.n, ds.yDim], 'float32') };
}

/** One epoch's batches: a seeded permutation of 0..n-1 (seed and epoch) cut into consecutive
 * batches of `batchSize`; the last batch holds the remainder unless `dropRemainder`. */
export function shuffledBatches(n: number, batchSize: number, seed: number, epoch = 0, dropRemainder = false): Int32Array[] {
  checkSizes(n, batchSize);
  const perm = permutation(n, deriveSeed(seed, epoch));
  const out: Int32Array[] = [];
  for (let s = 0; s < n; s += batchSize) {
    if (dropRemainder && s + batchSize > n) break;
    out.push(perm.slice(s, Math.min(n, s + batchSize)));
  }
  return out;
}

/**
 * A reproducible sampler: `indices(step)` is the same for the same (n, batchSize, seed, step).
 * Epoch e is a fresh seeded permutation; each step takes the next `min(batchSize, n)` indices,
 * dropping an epoch's remainder so every batch has the same size.
 */
export interface BatchSampler {
  readonly batchSize: number;
  readonly batchesPerEpoch: number;
  indices(step: number): Int32Array;
}

export function batchSampler(n: number, batchSize: number, seed: number): BatchSampler {
  checkSizes(n, batchSize);
  const size = Math.min(batchSize, n);
  const perEpoch = Math.floor(n / size);
  let cachedEpoch = -1;
  let cached: Int32Array = new Int32Array(0);
  return {
    batchSize: size,
    batchesPerEpoch: perEpoch,
    indices(step: number): Int32Array {
      if (!(Number.isInteger(step) && step >= 0)) throw new Error(`batchSampler: step must be a non-negative integer, got ${step}`);
      const epoch = Math.floor(step / perEpoch);
      if (epoch !== cachedEpoch) {
        cached = permutation(n, deriveSeed(seed, epoch));
        cachedEpoch = epoch;
      }
      const b = step % perEpoch;
      return cached.slice(b * size, (b + 1) * size);
    },
  };
}

function checkSizes(n: number, batchSize: number): void {
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`dataset size must be a positive integer, got ${n}`);
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
}

/** Seeded subsample of `size` rows (all rows, in order, when size is undefined or ≥ n). */
export function subsample(ds: Dataset, size: number | undefined, seed: number): Dataset {
  if (size === undefined || size >= ds.n) return ds;
  return subset(ds, permutation(ds.n, seed).subarray(0, size));
}
