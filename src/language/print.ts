/**
 * The canonical formatter: syntax tree → text. One clause per line, `=` aligned within a block,
 * two-space indentation, minimal parentheses, numbers as written, comments kept.
 * Laws (test/language/roundtrip.test.ts): parse(print(ast)) equals ast up to spans, and print is
 * idempotent on its own output.
 */
import * as E from 'fp-ts/lib/Either.js';
import { precedence, type Arg, type ClauseAst, type Comments, type Expr, type FileAst, type Item } from './ast.js';
import type { Diagnostic } from './diagnostics.js';
import { parse } from './parse.js';

const quote = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

const comment = (text: string): string => `#${text}`;

function prec(e: Expr): number {
  switch (e._tag) {
    case 'Binary':
      return precedence[e.op];
    case 'Pipe':
      return precedence['|>'];
    default:
      return 5;
  }
}

const wrap = (e: Expr, parens: boolean): string => (parens ? `(${printExpr(e)})` : printExpr(e));

function printArg(a: Arg): string {
  return a.name === undefined ? printExpr(a.value) : `${a.name.value}: ${printExpr(a.value)}`;
}

export function printExpr(e: Expr): string {
  switch (e._tag) {
    case 'Number':
      return e.text;
    case 'Boolean':
      return String(e.value);
    case 'String':
      return quote(e.value);
    case 'Ident':
      return e.name;
    case 'Call':
      return `${e.callee.value}(${e.args.map(printArg).join(', ')})`;
    case 'Pipe':
      return `${wrap(e.subject, prec(e.subject) < precedence['|>'])} |> ${printExpr(e.transform)}`;
    case 'Binary': {
      const p = precedence[e.op];
      // + and * associate to the left, ^ to the right.
      const leftParens = e.op === '^' ? prec(e.left) <= p : prec(e.left) < p;
      const rightParens = e.op === '^' ? prec(e.right) < p : prec(e.right) <= p;
      return `${wrap(e.left, leftParens)} ${e.op} ${wrap(e.right, rightParens)}`;
    }
  }
}

const trailing = (c: Comments): string => (c.trailing === undefined ? '' : `  ${comment(c.trailing)}`);

function printClause(c: ClauseAst, width: number): string[] {
  return [
    ...c.comments.leading.map((t) => `  ${comment(t)}`),
    `  ${c.name.value.padEnd(width)} = ${printExpr(c.value)}${trailing(c.comments)}`,
  ];
}

function printItem(item: Item): string[] {
  const leading = item.comments.leading.map(comment);
  if (item._tag === 'Import') return [...leading, `import ${quote(item.path)}${trailing(item.comments)}`];
  const header =
    `optimizer ${item.name.value}` +
    (item.title === undefined ? '' : ` ${quote(item.title)}`) +
    (item.extends === undefined ? '' : ` extends ${item.extends.value}`);
  const close = `}${item.closingTrailing === undefined ? '' : `  ${comment(item.closingTrailing)}`}`;
  if (item.clauses.length === 0 && item.closing.length === 0 && item.comments.trailing === undefined) {
    return [...leading, `${header} {${close}`];
  }
  const width = Math.max(0, ...item.clauses.map((c) => c.name.value.length));
  return [
    ...leading,
    `${header} {${trailing(item.comments)}`,
    ...item.clauses.flatMap((c) => printClause(c, width)),
    ...item.closing.map((t) => `  ${comment(t)}`),
    close,
  ];
}

/** The canonical text of a file. */
export function print(file: FileAst): string {
  const out: string[] = [];
  file.items.forEach((item, i) => {
    const prev = file.items[i - 1];
    if (prev !== undefined && !(prev._tag === 'Import' && item._tag === 'Import' && item.comments.leading.length === 0)) out.push('');
    out.push(...printItem(item));
  });
  if (file.closing.length > 0) {
    if (out.length > 0) out.push('');
    out.push(...file.closing.map(comment));
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** Parse and print: the formatted text, or the syntax error. */
export function format(file: string, text: string): E.Either<Diagnostic, string> {
  return E.map(print)(parse(file, text));
}
