/**
 * Minibatches for the training loop: seeded epochs of a permutation, without replacement within
 * an epoch (src/problems' `batchSampler`), gathered on the host and uploaded once (`batchFrom`).
 */
import type { Batch } from '../model/types.js';
import { batchFrom, batchSampler } from '../problems/dataset.js';
import type { Dataset, Problem } from '../problems/types.js';

export type { Dataset };

/** What training needs of a `Problem`: its model and its two data sets. */
export type TrainProblem = Pick<Problem, 'name' | 'def' | 'train' | 'test'>;

/** Batch `step` (0-based) of the seeded epoch schedule, as new tensors owned by the caller. */
export function makeSampler(ds: Dataset, batchSize: number, seed: number): (step: number) => Batch {
  const sampler = batchSampler(ds.n, batchSize, seed);
  return (step) => batchFrom(ds, sampler.indices(step));
}
