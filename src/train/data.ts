/**
 * Minibatches from an in-memory data set: seeded epochs of a permutation, without replacement
 * within an epoch; batches are built on the host (a row gather) and uploaded once.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch, ModelDef } from '../model/types.js';
import { deriveSeed, permutation } from '../model/index.js';

/** Structurally the `Dataset` of `src/problems`: row-major inputs and targets. */
export interface Dataset {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly n: number;
  readonly xDim: number;
  readonly yDim: number;
}

/** Structurally the `Problem` of `src/problems`. */
export interface TrainProblem {
  readonly name: string;
  readonly def: ModelDef;
  readonly train: Dataset;
  readonly test: Dataset;
}

export function gather(ds: Dataset, indices: ArrayLike<number>): Batch {
  const m = indices.length;
  const x = new Float32Array(m * ds.xDim);
  const y = new Float32Array(m * ds.yDim);
  for (let r = 0; r < m; r++) {
    const i = indices[r]!;
    x.set(ds.x.subarray(i * ds.xDim, (i + 1) * ds.xDim), r * ds.xDim);
    y.set(ds.y.subarray(i * ds.yDim, (i + 1) * ds.yDim), r * ds.yDim);
  }
  return { x: tf.tensor2d(x, [m, ds.xDim]), y: tf.tensor2d(y, [m, ds.yDim]) };
}

/** Batch `step` (0-based) of a seeded epoch schedule: epoch e uses permutation(n, derive(seed, e)). */
export function batchIndices(n: number, batchSize: number, seed: number, step: number): Int32Array {
  const size = Math.min(batchSize, n);
  const perEpoch = Math.floor(n / size);
  const epoch = Math.floor(step / perEpoch);
  const k = step % perEpoch;
  const perm = permutation(n, deriveSeed(seed, epoch));
  return perm.slice(k * size, (k + 1) * size);
}

/** A sampler caching the current epoch's permutation. */
export function makeSampler(ds: Dataset, batchSize: number, seed: number): (step: number) => Batch {
  const size = Math.min(batchSize, ds.n);
  const perEpoch = Math.floor(ds.n / size);
  let cachedEpoch = -1;
  let perm: Int32Array = new Int32Array(0);
  return (step) => {
    const epoch = Math.floor(step / perEpoch);
    if (epoch !== cachedEpoch) {
      perm = permutation(ds.n, deriveSeed(seed, epoch));
      cachedEpoch = epoch;
    }
    const k = step % perEpoch;
    return gather(ds, perm.subarray(k * size, (k + 1) * size));
  };
}
