/**
 * Spec text at its edges (issue 15): byte order marks, invisible characters, long operator chains,
 * numbers beyond double precision, absolute imports, huge literals in error excerpts.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkFiles, checkText, resolveImport } from '../../src/language/check.js';
import { render, renderAll, truncateMiddle } from '../../src/language/diagnostics.js';
import { parse } from '../../src/language/parse.js';
import { print } from '../../src/language/print.js';

const messages = (text: string): string[] => {
  const r = checkText('t.optim', text);
  return E.isLeft(r.specs) ? r.specs.left.map((d) => `${d.span.line}:${d.span.column}: ${d.message}`) : [];
};

describe('spec text edges', () => {
  it('accepts a UTF-8 byte order mark at the start of a file', () => {
    const r = checkText('bom.optim', '\uFEFFoptimizer sgd { step = lr(0.1) }\n');
    expect(E.isRight(r.specs)).toBe(true);
  });

  it('names an invisible character by its code point', () => {
    expect(messages('optimizer sgd {\u00A0step = lr(0.1) }')).toEqual(['1:16: expected "}", found the invisible character U+00A0 (no-break space)']);
    expect(messages('optimizer sgd { step = lr(0.1)\u200B }')[0]).toMatch(/U\+200B \(zero-width space\)/);
    // a byte order mark anywhere but the start is a stray character, named as such
    expect(messages('optimizer sgd { \uFEFFstep = lr(0.1) }')[0]).toMatch(/U\+FEFF/);
  });

  it('limits the depth of an expression, not its length: a sum of 1000 terms checks', () => {
    const terms = Array(1000).fill('diag(ggn)').join(' + ');
    const r = checkText('sum.optim', `optimizer s { curvature = ${terms}\n step = lr(0.1) }`);
    expect(E.isRight(r.specs)).toBe(true);
    const c = E.isRight(r.specs) ? r.specs.right[0]!.optimizers[0]!.curvature : undefined;
    expect(c?._tag === 'Sum' && c.terms.length).toBe(1000);
    // the same chain printed and parsed again is the same tree (no recursion limit in fmt either)
    const ast = parse('sum.optim', `optimizer s { curvature = ${terms} }`);
    expect(E.isRight(ast) && print(ast.right).length).toBeGreaterThan(9000);
    // deeper than the limit: says which limit and how deep
    expect(messages(`optimizer s { curvature = identity${' |> sqrt'.repeat(1600)} }`)).toEqual([
      '1:27: expression nested too deeply: 1600 levels of operators, pipes and calls (the limit is 1500; `a + b + c` is 2 levels)',
    ]);
    expect(messages(`optimizer s { curvature = ${'('.repeat(70)}identity${')'.repeat(70)} }`)[0]).toMatch(/more than 64 levels of parentheses/);
  });

  it('reports numbers that overflow or underflow double precision as such', () => {
    expect(messages('optimizer s { step = lr(1e999) }\noptimizer t { step = lr(-1e-999) }')).toEqual([
      '1:25: the number 1e999 overflows: it is larger than the largest double, about 1.8e308',
      '2:25: the number -1e-999 underflows to 0: it is smaller than the smallest positive double, about 4.9e-324',
    ]);
    // 0.0e-999 is exactly zero, not an underflow: the usual range check speaks
    expect(messages('optimizer u { step = lr(0.0e-999) }')).toEqual(['1:25: lr: eta must be a number > 0 or a schedule; got 0.0e-999']);
  });

  it('does not rebase an absolute import onto the importing folder', () => {
    expect(resolveImport('/work/specs/a.optim', '/lib/x.optim')).toBe('/lib/x.optim');
    expect(resolveImport('specs/a.optim', 'x.optim')).toBe('specs/x.optim');
    const r = checkFiles(['specs/a.optim'], (f) =>
      f === 'specs/a.optim' ? E.right('import "/lib/base.optim"\noptimizer a extends base { }') : f === '/lib/base.optim' ? E.right('optimizer base { step = lr(0.1) }') : E.left('no such file'),
    );
    expect(E.isRight(r.specs)).toBe(true);
  });

  it('shortens huge literals and lines in rendered diagnostics', () => {
    const big = 'a'.repeat(20_000);
    const text = `optimizer s { step = lr(eta: "${big}") }`;
    const r = checkText('big.optim', text);
    expect(E.isLeft(r.specs)).toBe(true);
    const out = E.isLeft(r.specs) ? renderAll(r.specs.left, (f) => r.sources.get(f)) : '';
    expect(out.length).toBeLessThan(2000);
    expect(out).toMatch(/characters left out/);
    // the caret stays under the character it points at inside the window
    const d = { span: { file: 'w', start: 5000, end: 5001, line: 1, column: 5001 }, severity: 'error' as const, message: 'here' };
    const line = 'x'.repeat(5000) + 'Y' + 'x'.repeat(5000);
    const [, src, caret] = render(d, () => line).split('\n');
    expect(src![caret!.indexOf('^')]).toBe('Y');
    expect(truncateMiddle('short', 10)).toBe('short');
    // beyond the size limit the file is refused at once, with its size and the limit
    const huge = checkText('huge.optim', `optimizer s { step = lr(eta: "${'a'.repeat(1_000_000)}") }`);
    expect(E.isLeft(huge.specs) && huge.specs.left[0]!.message).toMatch(/^the file has 1000034 characters; specs are limited to 262144/);
  });
});
