/** Laws of the formatter over arbitrary syntax trees: parse ∘ print = id (up to spans), print idempotent. */
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stripSpans } from '../../src/language/ast.js';
import { parse } from '../../src/language/parse.js';
import { format, print, printExpr } from '../../src/language/print.js';
import { arbExpr, arbFileAst } from '../../src/testing/arbitraries/ast.js';

describe('print', () => {
  it('parse(print(ast)) equals ast up to spans', () => {
    fc.assert(
      fc.property(arbFileAst, (ast) => {
        const text = print(ast);
        const back = parse('p.optim', text);
        if (E.isLeft(back)) throw new Error(`${back.left.message}\n${text}`);
        expect(stripSpans(back.right)).toEqual(stripSpans(ast));
      }),
      { numRuns: 300 },
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(arbFileAst, (ast) => {
        const once = print(ast);
        expect(format('p.optim', once)).toEqual(E.right(once));
      }),
      { numRuns: 200 },
    );
  });

  it('writes the minimal parentheses for precedence + < * < ^ < |>', () => {
    const expr = (src: string): string => {
      const f = parse('e.optim', `optimizer o { c = ${src} }`);
      if (E.isLeft(f)) throw new Error(f.left.message);
      const o = f.right.items[0]!;
      if (o._tag !== 'Optimizer') throw new Error('no block');
      return printExpr(o.clauses[0]!.value);
    };
    expect(expr('((a + b) + c)')).toBe('a + b + c');
    expect(expr('a + (b + c)')).toBe('a + (b + c)');
    expect(expr('(a ^ b) ^ c')).toBe('(a ^ b) ^ c');
    expect(expr('a ^ (b ^ c)')).toBe('a ^ b ^ c');
    expect(expr('(2 * C) |> sqrt')).toBe('(2 * C) |> sqrt');
    expect(expr('2 * (C |> sqrt)')).toBe('2 * C |> sqrt');
    expect(expr('(x |> ema(0.9)) + (1e-7 * identity)')).toBe('x |> ema(0.9) + 1e-7 * identity');
  });

  it('keeps comments where they were', () => {
    const text = '# head\nimport "a.optim"  # why\n\noptimizer o "t" {  # block\n  # lead\n  step = lr(1)  # tail\n  # closing\n}  # after\n\n# end\n';
    expect(format('c.optim', text)).toEqual(E.right(text));
  });

  it('parses every generated expression back to itself', () => {
    fc.assert(
      fc.property(arbExpr, (e) => {
        const f = parse('x.optim', `optimizer o { c = ${printExpr(e)} }`);
        if (E.isLeft(f)) throw new Error(f.left.message);
        const o = f.right.items[0]!;
        expect(o._tag === 'Optimizer' && stripSpans(o.clauses[0]!.value)).toEqual(stripSpans(e));
      }),
      { numRuns: 300 },
    );
  });
});
