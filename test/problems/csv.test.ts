import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from 'fp-ts/lib/Either.js';
import { loadCsvProblem, parseCsv } from '../../src/problems/csv.js';
import { loadProblem } from '../../src/problems/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'geodesic-csv-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('CSV problems', () => {
  it('parses a header, skips comments and blank lines', () => {
    const t = parseCsv('# data\na, b ,"label"\n1,2,0\n\n3.5,-4e-1,1\n', 'mem.csv');
    expect(E.isRight(t)).toBe(true);
    if (E.isRight(t)) {
      expect(t.right.columns).toEqual(['a', 'b', 'label']);
      expect(t.right.n).toBe(2);
      expect(Array.from(t.right.data)).toEqual([1, 2, 0, 3.5, -0.4, 1]);
    }
    const noHeader = parseCsv('1,2\n3,4\n', 'mem.csv');
    expect(E.isRight(noHeader) && noHeader.right.columns).toEqual(['0', '1']);
  });

  it('a bad file is a ParseError naming file, line and column', async () => {
    const p = file('bad.csv', 'x1,x2,y\n1,2,3\n4,oops,6\n');
    const r = await loadCsvProblem(p, { seed: 1 })();
    expect(E.isLeft(r) && r.left._tag).toBe('ParseError');
    expect(E.isLeft(r) && r.left.message).toBe(`${p}:3: column 2 ('x2'): 'oops' is not a number`);
    const ragged = await loadCsvProblem(file('ragged.csv', '1,2,3\n4,5\n'), { seed: 1 })();
    expect(E.isLeft(ragged) && ragged.left.message).toMatch(/:2: expected 3 fields, found 2/);
    const missing = await loadCsvProblem(join(dir, 'nope.csv'), { seed: 1 })();
    expect(E.isLeft(missing) && missing.left._tag).toBe('FileError');
    const noCol = await loadCsvProblem(file('ok.csv', 'a,b\n1,2\n'), { seed: 1, targetColumns: ['c'] })();
    expect(E.isLeft(noCol) && noCol.left.message).toMatch(/has no column 'c' \(columns: a, b\)/);
  });

  it('builds a categorical problem: one-hot targets, features without the target, seeded split', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => `${i},${i * 2},${i % 3},${-i}`).join('\n');
    const p = file('cls.csv', `f1,f2,cls,f3\n${rows}\n`);
    const r = await loadProblem(`csv:${p}?target=cls&likelihood=categorical&hidden=8,4&activation=relu`, { seed: 2 })();
    if (E.isLeft(r)) throw new Error(r.left.message);
    const prob = r.right;
    expect([prob.train.n, prob.test.n]).toEqual([40, 10]);
    expect([prob.train.xDim, prob.train.yDim]).toEqual([3, 3]);
    expect(prob.def.layers.map((l) => (l.kind === 'dense' ? l.outDim : l.kind === 'activation' ? l.fn : ''))).toEqual([8, 'relu', 4, 'relu', 3]);
    for (let row = 0; row < prob.train.n; row++) {
      const i = prob.train.x[row * 3]!; // f1 = i
      expect(prob.train.x[row * 3 + 2]! + i).toBe(0);
      expect(Array.from(prob.train.y.subarray(row * 3, row * 3 + 3))).toEqual([0, 1, 2].map((c) => (c === i % 3 ? 1 : 0)));
    }
    const again = await loadProblem(`csv:${p}?target=cls&likelihood=categorical`, { seed: 2 })();
    expect(E.isRight(again) && again.right.test.x).toEqual(prob.test.x);
    const bad = await loadProblem(`csv:${p}?likelihood=poisson`, { seed: 2 })();
    expect(E.isLeft(bad) && bad.left.message).toMatch(/likelihood: must be categorical, gaussian or bernoulli/);
  });
});
