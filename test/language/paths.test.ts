/** src/language/paths.ts (pure, for the browser) against Node's own path.posix. */
import fc from 'fast-check';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dirname, isAbsolute, join, normalize } from '../../src/language/paths.js';

const part = fc.constantFrom('', '.', '..', 'a', 'b.optim', 'dir', '...', '.hidden');
const pathArb = fc.tuple(fc.boolean(), fc.array(part, { maxLength: 6 }), fc.boolean()).map(([abs, parts, trailing]) => `${abs ? '/' : ''}${parts.join('/')}${trailing ? '/' : ''}`);

describe('language paths = path.posix', () => {
  it('normalize, dirname and join agree with node:path on generated paths', () => {
    fc.assert(
      fc.property(pathArb, pathArb, (a, b) => {
        expect(normalize(a)).toBe(path.posix.normalize(a));
        expect(dirname(a)).toBe(path.posix.dirname(a));
        expect(isAbsolute(a)).toBe(path.posix.isAbsolute(a));
        expect(join(a, b)).toBe(path.posix.join(a, b));
        expect(normalize(join(dirname(a), b))).toBe(path.posix.normalize(path.posix.join(path.posix.dirname(a), b)));
      }),
      { numRuns: 2000 },
    );
  });
});
