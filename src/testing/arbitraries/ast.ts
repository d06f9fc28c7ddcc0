/**
 * fast-check arbitraries for the optimizer language's syntax trees (src/language/ast.ts).
 * Generated trees are syntactically printable (names are not keywords, strings hold no line breaks,
 * comments have no trailing blanks) but not necessarily meaningful: they exercise the parser and
 * printer, and the checker's error paths. Spans are a fixed placeholder: compare with `stripSpans`.
 */
import fc from 'fast-check';
import type { Arg, Call, ClauseAst, Comments, Expr, FileAst, Ident, ImportAst, Item, Name, OptimizerAst } from '../../language/ast.js';
import type { Span } from '../../language/spec.js';

const span: Span = { file: '', start: 0, end: 0, line: 0, column: 0 };

const keywords = new Set(['optimizer', 'import', 'extends', 'true', 'false']);

/** Identifiers: mostly registry-like words (so checks get past name resolution), sometimes random. */
export const arbIdentifier: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('identity', 'fisher', 'ggn', 'kfac', 'diag', 'ema', 'sqrt', 'lr', 'tikhonov', 'every', 'curvature', 'step', 'damping', 'exact', 'true_ish', '_x'),
  fc
    .tuple(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_'), fc.string({ unit: fc.constantFrom(...'abcxyz019_'), maxLength: 6 }))
    .map(([h, t]) => h + t)
    .filter((s) => !keywords.has(s)),
);

const arbName: fc.Arbitrary<Name> = arbIdentifier.map((value) => ({ value, span }));

const digits = (min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });

/** Number literals in every written form: 3, -0.5, 1e-3, 2.5E+10. */
export const arbNumberText: fc.Arbitrary<string> = fc
  .tuple(
    fc.boolean(),
    digits(1, 4),
    fc.option(digits(1, 3), { nil: undefined }),
    fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 2)), { nil: undefined }),
  )
  .map(([neg, int, frac, exp]) => `${neg ? '-' : ''}${int}${frac === undefined ? '' : `.${frac}`}${exp === undefined ? '' : exp.join('')}`);

/** String contents: any characters but line breaks (quotes and backslashes are escaped by print). */
export const arbStringValue: fc.Arbitrary<string> = fc.string({ maxLength: 12 }).map((s) => s.replace(/[\n\r]/g, ' '));

/** Comment texts as stored: after the `#`, no line breaks, no trailing whitespace. */
export const arbCommentText: fc.Arbitrary<string> = fc
  .string({ maxLength: 16 })
  .map((s) => s.replace(/[\n\r\u2028\u2029]/g, ' ').replace(/\s+$/u, ''));

const arbComments = (trailing: boolean): fc.Arbitrary<Comments> =>
  fc.record({
    leading: fc.array(arbCommentText, { maxLength: 2 }),
    trailing: trailing ? fc.option(arbCommentText, { nil: undefined }) : fc.constant(undefined),
  });

const ident = (name: string): Ident => ({ _tag: 'Ident', name, span });

/** Expressions of the language, up to a small depth. */
export const arbExpr: fc.Arbitrary<Expr> = fc.letrec<{ expr: Expr; call: Call; arg: Arg }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arbNumberText.map((text): Expr => ({ _tag: 'Number', value: Number(text), text, span })),
    fc.boolean().map((value): Expr => ({ _tag: 'Boolean', value, span })),
    arbStringValue.map((value): Expr => ({ _tag: 'String', value, span })),
    arbIdentifier.map(ident),
    tie('call'),
    fc
      .record({ op: fc.constantFrom('+' as const, '*' as const, '^' as const), left: tie('expr'), right: tie('expr') })
      .map(({ op, left, right }): Expr => ({ _tag: 'Binary', op, left, right, span })),
    fc
      .record({ subject: tie('expr'), transform: fc.oneof(arbIdentifier.map(ident), tie('call')) })
      .map(({ subject, transform }): Expr => ({ _tag: 'Pipe', subject, transform: transform as Ident | Call, span })),
  ),
  call: fc
    .record({ callee: arbName, args: fc.array(tie('arg'), { maxLength: 3 }) })
    .map(({ callee, args }): Call => ({ _tag: 'Call', callee, args, span })),
  arg: fc
    .record({ name: fc.option(arbName, { nil: undefined }), value: tie('expr') })
    .map(({ name, value }): Arg => ({ name, value, span })),
})).expr;

export const arbClause: fc.Arbitrary<ClauseAst> = fc
  .record({ name: arbName, value: arbExpr, comments: arbComments(true) })
  .map((c): ClauseAst => ({ _tag: 'Clause', ...c, span }));

export const arbOptimizer: fc.Arbitrary<OptimizerAst> = fc
  .record({
    name: arbName,
    title: fc.option(arbStringValue, { nil: undefined }),
    extends: fc.option(arbName, { nil: undefined }),
    clauses: fc.array(arbClause, { maxLength: 4 }),
    comments: arbComments(true),
    closing: fc.array(arbCommentText, { maxLength: 2 }),
    closingTrailing: fc.option(arbCommentText, { nil: undefined }),
  })
  .map((o): OptimizerAst => ({ _tag: 'Optimizer', ...o, headerSpan: span, span }));

export const arbImport: fc.Arbitrary<ImportAst> = fc
  .record({ path: arbStringValue, comments: arbComments(true) })
  .map((i): ImportAst => ({ _tag: 'Import', ...i, pathSpan: span, span }));

/** Whole files: imports and optimizer blocks in any order, with comments everywhere. */
export const arbFileAst: fc.Arbitrary<FileAst> = fc
  .record({
    items: fc.array(fc.oneof(arbImport, arbOptimizer) as fc.Arbitrary<Item>, { maxLength: 3 }),
    closing: fc.array(arbCommentText, { maxLength: 2 }),
  })
  .map((f): FileAst => ({ _tag: 'File', ...f, span }));
