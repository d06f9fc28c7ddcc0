/** Golden diagnostics for every broken spec in examples/errors (GEODESIC_UPDATE_GOLDEN=1 rewrites). */
import * as E from 'fp-ts/lib/Either.js';
import { existsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkFiles } from '../../src/language/check.js';
import { readFileNode } from '../../src/language/files.js';
import { errorFiles, read, renderFile } from './helpers.js';

const update = process.env['GEODESIC_UPDATE_GOLDEN'] === '1';

describe('examples/errors', () => {
  const files = errorFiles();

  it('has at least 12 broken specs', () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
  });

  for (const file of files) {
    it(`${file} gives exactly its golden diagnostics`, () => {
      const golden = file.replace(/\.optim$/, '.expected');
      const actual = renderFile(file);
      expect(actual).not.toBe(''); // every file here is broken
      if (update) writeFileSync(golden, actual);
      expect(existsSync(golden)).toBe(true);
      expect(actual).toBe(read(golden));
    });
  }

  it('reports three independent mistakes of one file as three diagnostics', () => {
    const r = checkFiles(['examples/errors/three_mistakes.optim'], readFileNode);
    expect(E.isLeft(r.specs)).toBe(true);
    const ds = E.isLeft(r.specs) ? r.specs.left : [];
    expect(ds.map((d) => d.span.line)).toEqual([5, 6, 7]);
    expect(ds.map((d) => d.message)).toEqual([
      'unknown clause "refesh"',
      'nesterov: mu must be a number in [0, 1) or a schedule; got 1.2',
      'solver kronecker needs a Kronecker-factored curvature (kfac or ekfac); this curvature is diagonal',
    ]);
    expect(ds[0]!.hint).toBe('did you mean "refresh"?');
  });

  it('reports all problems of all files at once', () => {
    const r = checkFiles(files, readFileNode);
    const ds = E.isLeft(r.specs) ? r.specs.left : [];
    const perFile = files.map((f) => renderFile(f).split('\n').filter((l) => /^examples\/errors\/.*: error: /.test(l)));
    const together = new Set(ds.map((d) => `${d.span.file}:${d.span.line}:${d.span.column}: error: ${d.message}`));
    for (const lines of perFile) for (const line of lines) expect(together.has(line)).toBe(true);
    expect(together.size).toBe(new Set(perFile.flat()).size);
  });
});
