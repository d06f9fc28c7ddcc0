/** No input crashes the parser or the checker: the answer is always located errors or a Spec. */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkText } from '../../src/language/check.js';
import { render } from '../../src/language/diagnostics.js';
import { print } from '../../src/language/print.js';
import { arbFileAst } from '../../src/testing/arbitraries/ast.js';
import { exampleFiles, read } from './helpers.js';

/** Check, and insist on the shape of the answer: either specs, or diagnostics located in the text. */
function checkTotal(text: string): void {
  const r = checkText('fuzz.optim', text);
  if (E.isLeft(r.specs)) {
    for (const d of r.specs.left) {
      expect(d.message.length).toBeGreaterThan(0);
      expect(d.span.line).toBeGreaterThanOrEqual(1);
      expect(d.span.column).toBeGreaterThanOrEqual(1);
      if (d.span.file === 'fuzz.optim') {
        expect(d.span.start).toBeGreaterThanOrEqual(0);
        expect(d.span.end).toBeLessThanOrEqual(text.length);
        expect(d.span.start).toBeLessThanOrEqual(d.span.end);
      }
      expect(typeof render(d, (f) => r.sources.get(f))).toBe('string');
    }
  } else expect(r.specs.right.length).toBe(1);
}

const tokens = ['{', '}', '(', ')', '|>', '+', '*', '^', '=', ':', ',', '"', '#', '\n', '-', '1e-3', 'kfac', 'fisher', 'optimizer', 'extends', 'import', 'sqrt', 'ema', 'identity', ' '];

const mutation = (len: number) =>
  fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(len), text: fc.oneof(fc.constantFrom(...tokens), fc.string({ maxLength: 3 })) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(len), length: fc.integer({ min: 1, max: 12 }) }),
    fc.record({ kind: fc.constant('swap' as const), a: fc.nat(len), b: fc.nat(len), length: fc.integer({ min: 1, max: 8 }) }),
  );

type Mutation = { kind: 'insert'; at: number; text: string } | { kind: 'delete'; at: number; length: number } | { kind: 'swap'; a: number; b: number; length: number };

function apply(text: string, m: Mutation): string {
  switch (m.kind) {
    case 'insert':
      return text.slice(0, m.at) + m.text + text.slice(m.at);
    case 'delete':
      return text.slice(0, m.at) + text.slice(m.at + m.length);
    case 'swap': {
      const [a, b] = m.a <= m.b ? [m.a, m.b] : [m.b, m.a];
      if (a + m.length > b) return text;
      return text.slice(0, a) + text.slice(b, b + m.length) + text.slice(a + m.length, b) + text.slice(a, a + m.length) + text.slice(b + m.length);
    }
  }
}

describe('parser and checker are total', () => {
  it('on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), checkTotal), { numRuns: 300 });
  });

  it('on arbitrary strings over the language alphabet', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...tokens), { maxLength: 30 }).map((ts) => ts.join(' ')), checkTotal), { numRuns: 300 });
  });

  it('on mutated example files (insertions, deletions, swaps)', () => {
    const texts = exampleFiles().map(read);
    const arb = fc.constantFrom(...texts).chain((t) => fc.tuple(fc.constant(t), fc.array(mutation(t.length), { minLength: 1, maxLength: 4 })));
    fc.assert(
      fc.property(arb, ([text, ms]) => checkTotal(ms.reduce((t, m) => apply(t, m as Mutation), text))),
      { numRuns: 400 },
    );
  });

  it('on printed arbitrary syntax trees (meaningless but well-formed specs)', () => {
    fc.assert(fc.property(arbFileAst, (ast) => checkTotal(print(ast))), { numRuns: 300 });
  });
});

describe('deep nesting', () => {
  it('is a located error, not a stack overflow', () => {
    for (const n of [65, 500, 20000]) {
      const text = `optimizer o { curvature = ${'('.repeat(n)}identity${')'.repeat(n)} }`;
      const r = checkText('deep.optim', text);
      expect(E.isLeft(r.specs) && r.specs.left.map((d) => [d.span.column, d.message])).toEqual([
        [27 + 64, 'expression nested too deeply (more than 64 levels of parentheses)'],
      ]);
    }
    const chain = checkText('chain.optim', `optimizer o { curvature = ${'identity + '.repeat(20000)}identity }`);
    expect(E.isLeft(chain.specs) && chain.specs.left[0]!.message).toMatch(/nested too deeply: 20000 levels of operators, pipes and calls \(the limit is 1500/);
    expect(E.isRight(checkText('ok.optim', `optimizer o { curvature = ${'('.repeat(64)}identity${')'.repeat(64)} }`).specs)).toBe(true);
  });
});
