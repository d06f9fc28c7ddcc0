/**
 * Text → syntax tree. The grammar is grammar/optim.ohm (its generated bundle is the only ohm import
 * besides the runtime); a syntax error becomes a located Diagnostic ("expected a number"); `parseAll`
 * reports every syntax error of a file.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as RNEA from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import type { FailedMatchResult, NonterminalNode, Node } from 'ohm-js';
import grammar from '../../grammar/optim.ohm-bundle.js';
import type {
  Arg,
  Call,
  ClauseAst,
  Comments,
  Expr,
  FileAst,
  Ident,
  ImportAst,
  Item,
  Name,
  OptimizerAst,
} from './ast.js';
import { error, truncateMiddle, type Diagnostic } from './diagnostics.js';
import { recoverFailures } from './recover.js';
import type { Span } from './spec.js';

/** Where a node is: a file name and the offsets of its line starts. */
interface Ctx {
  readonly file: string;
  readonly lineStarts: readonly number[];
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function lineOf(ctx: Ctx, offset: number): number {
  let lo = 0;
  let hi = ctx.lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.lineStarts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function span(ctx: Ctx, start: number, end: number): Span {
  const line = lineOf(ctx, start);
  return { file: ctx.file, start, end, line, column: start - ctx.lineStarts[line - 1]! + 1 };
}

const nodeSpan = (ctx: Ctx, n: Node): Span => span(ctx, n.source.startIdx, n.source.endIdx);

const noComments: Comments = { leading: [], trailing: undefined };

function unescape(body: string): string {
  return body.replace(/\\(["\\])/g, '$1');
}

const semantics = grammar.createSemantics();

// Each node kind has its own operation so results stay well typed.
semantics.addOperation<unknown>('ast(ctx)', {
  File(items) {
    const ctx = this.args['ctx'] as Ctx;
    const file: FileAst = {
      _tag: 'File',
      items: items.children.map((c) => c['ast'](ctx) as Item),
      closing: [],
      span: nodeSpan(ctx, this),
    };
    return file;
  },
  Item(item) {
    return item['ast'](this.args['ctx']);
  },
  Import(_kw, path) {
    const ctx = this.args['ctx'] as Ctx;
    const node: ImportAst = {
      _tag: 'Import',
      path: path['ast'](ctx) as string,
      pathSpan: nodeSpan(ctx, path),
      comments: noComments,
      span: nodeSpan(ctx, this),
    };
    return node;
  },
  Optimizer(_kw, name, title, ext, open, clauses, _close) {
    const ctx = this.args['ctx'] as Ctx;
    const node: OptimizerAst = {
      _tag: 'Optimizer',
      name: name['name'](ctx) as Name,
      title: title.children.length > 0 ? (title.children[0]!['ast'](ctx) as string) : undefined,
      extends: ext.children.length > 0 ? (ext.children[0]!['ast'](ctx) as Name) : undefined,
      clauses: clauses.children.map((c) => c['ast'](ctx) as ClauseAst),
      comments: noComments,
      closing: [],
      closingTrailing: undefined,
      headerSpan: span(ctx, this.source.startIdx, open.source.endIdx),
      span: nodeSpan(ctx, this),
    };
    return node;
  },
  Extends(_kw, name) {
    return name['name'](this.args['ctx']);
  },
  Clause(name, _eq, value) {
    const ctx = this.args['ctx'] as Ctx;
    const node: ClauseAst = {
      _tag: 'Clause',
      name: name['name'](ctx) as Name,
      value: value['ast'](ctx) as Expr,
      comments: noComments,
      span: nodeSpan(ctx, this),
    };
    return node;
  },
  Expr(e) {
    return e['ast'](this.args['ctx']);
  },
  Sum(list) {
    return foldChain(this, list, '+');
  },
  Product(list) {
    return foldChain(this, list, '*');
  },
  Power(list) {
    return foldChain(this, list, '^');
  },
  Pipe(subject, _ops, transforms) {
    const ctx = this.args['ctx'] as Ctx;
    let e = subject['ast'](ctx) as Expr;
    const start = subject.source.startIdx;
    for (const t of transforms.children) {
      e = { _tag: 'Pipe', subject: e, transform: t['ast'](ctx) as Ident | Call, span: span(ctx, start, t.source.endIdx) } satisfies Expr;
    }
    return e;
  },
  Primary_paren(_open, e, _close) {
    return e['ast'](this.args['ctx']);
  },
  Primary(e) {
    const ctx = this.args['ctx'] as Ctx;
    if (e.ctorName === 'string') return { _tag: 'String', value: e['ast'](ctx) as string, span: nodeSpan(ctx, e) } satisfies Expr;
    return e['ast'](ctx);
  },
  Call(callee, _open, args, _comma, _close) {
    const ctx = this.args['ctx'] as Ctx;
    return {
      _tag: 'Call',
      callee: callee['name'](ctx) as Name,
      args: args.asIteration().children.map((a) => a['ast'](ctx) as Arg),
      span: nodeSpan(ctx, this),
    } satisfies Expr;
  },
  Arg_named(name, _colon, value) {
    const ctx = this.args['ctx'] as Ctx;
    return { name: name['name'](ctx) as Name, value: value['ast'](ctx) as Expr, span: nodeSpan(ctx, this) } satisfies Arg;
  },
  Arg_positional(value) {
    const ctx = this.args['ctx'] as Ctx;
    return { name: undefined, value: value['ast'](ctx) as Expr, span: nodeSpan(ctx, this) } satisfies Arg;
  },
  Arg(a) {
    return a['ast'](this.args['ctx']);
  },
  name(_first, _rest) {
    const ctx = this.args['ctx'] as Ctx;
    return { _tag: 'Ident', name: this.sourceString, span: nodeSpan(ctx, this) } satisfies Expr;
  },
  number(_sign, _digits, _fraction, _exponent) {
    const ctx = this.args['ctx'] as Ctx;
    return { _tag: 'Number', value: Number(this.sourceString), text: this.sourceString, span: nodeSpan(ctx, this) } satisfies Expr;
  },
  boolean(_b) {
    const ctx = this.args['ctx'] as Ctx;
    return { _tag: 'Boolean', value: this.sourceString === 'true', span: nodeSpan(ctx, this) } satisfies Expr;
  },
  string(_open, _chars, _close) {
    // Titles and import paths use the text; `Primary` wraps a string in expression position.
    return unescape(this.sourceString.slice(1, -1));
  },
});

semantics.addOperation<Name>('name(ctx)', {
  name(_first, _rest) {
    const ctx = this.args['ctx'] as Ctx;
    return { value: this.sourceString, span: nodeSpan(ctx, this) };
  },
});

/** A chain `a op b op c` → Binary nodes, folded left (`+`, `*`) or right (`^`), without recursion. */
function foldChain(node: NonterminalNode, list: NonterminalNode, op: '+' | '*' | '^'): Expr {
  const ctx = node.args['ctx'] as Ctx;
  const items = list.asIteration().children;
  const terms = items.map((c) => c['ast'](ctx) as Expr);
  if (op === '^') {
    let e = terms[terms.length - 1]!;
    for (let i = terms.length - 2; i >= 0; i--) e = { _tag: 'Binary', op, left: terms[i]!, right: e, span: span(ctx, items[i]!.source.startIdx, items.at(-1)!.source.endIdx) };
    return e;
  }
  let e = terms[0]!;
  for (let i = 1; i < terms.length; i++) e = { _tag: 'Binary', op, left: e, right: terms[i]!, span: span(ctx, items[0]!.source.startIdx, items[i]!.source.endIdx) };
  return e;
}

// ---- comments -------------------------------------------------------------------------------

interface RawComment {
  readonly start: number;
  readonly line: number;
  readonly text: string;
}

/** All `#` comments of a text that the grammar accepted (strings cannot span lines or hold `#`
 * unescaped-quote tricks, so a quote-aware scan is exact). */
function scanComments(ctx: Ctx, text: string): RawComment[] {
  const out: RawComment[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (ch === '#') {
      let j = i;
      while (j < text.length && text[j] !== '\n' && text[j] !== '\r') j++;
      out.push({ start: i, line: lineOf(ctx, i), text: text.slice(i + 1, j).trimEnd() });
      i = j;
    } else i++;
  }
  return out;
}

const endLine = (ctx: Ctx, s: Span): number => lineOf(ctx, Math.max(s.start, s.end - 1));

/** Attach each comment to the element it belongs to: on the same line after an element → its
 * trailing comment; otherwise → a leading comment of the next element (or the container's closing
 * comments). */
function attachComments(ctx: Ctx, file: FileAst, comments: readonly RawComment[]): FileAst {
  const itemLeading = file.items.map((): string[] => []);
  const itemTrailing: (string | undefined)[] = file.items.map(() => undefined);
  const fileClosing: string[] = [];
  const blocks = file.items.map((item) =>
    item._tag === 'Optimizer'
      ? {
          headerTrailing: undefined as string | undefined,
          closing: [] as string[],
          leading: item.clauses.map((): string[] => []),
          trailing: item.clauses.map((): string | undefined => undefined),
        }
      : undefined,
  );

  for (const c of comments) {
    const inside = file.items.findIndex(
      (it) => it._tag === 'Optimizer' && c.start >= it.headerSpan.end && c.start < it.span.end - 1,
    );
    if (inside >= 0) {
      const block = file.items[inside] as OptimizerAst;
      const b = blocks[inside]!;
      const prev = lastIndexWhere(block.clauses, (cl) => cl.span.end <= c.start);
      const within = block.clauses.findIndex((cl) => cl.span.start <= c.start && c.start < cl.span.end);
      if (within >= 0) b.leading[within]!.push(c.text);
      else if (prev >= 0 && endLine(ctx, block.clauses[prev]!.span) === c.line && b.trailing[prev] === undefined)
        b.trailing[prev] = c.text;
      else if (prev < 0 && endLine(ctx, block.headerSpan) === c.line && b.headerTrailing === undefined)
        b.headerTrailing = c.text;
      else if (prev + 1 < block.clauses.length) b.leading[prev + 1]!.push(c.text);
      else b.closing.push(c.text);
    } else {
      const prev = lastIndexWhere(file.items, (it) => it.span.end <= c.start);
      const within = file.items.findIndex((it) => it.span.start <= c.start && c.start < it.span.end);
      if (within >= 0) itemLeading[within]!.push(c.text); // e.g. between `optimizer` and `{`
      else if (prev >= 0 && endLine(ctx, file.items[prev]!.span) === c.line && itemTrailing[prev] === undefined)
        itemTrailing[prev] = c.text;
      else if (prev + 1 < file.items.length) itemLeading[prev + 1]!.push(c.text);
      else fileClosing.push(c.text);
    }
  }

  const items = file.items.map((item, i): Item => {
    if (item._tag === 'Import') return { ...item, comments: { leading: itemLeading[i]!, trailing: itemTrailing[i] } };
    const b = blocks[i]!;
    return {
      ...item,
      comments: { leading: itemLeading[i]!, trailing: b.headerTrailing },
      closing: b.closing,
      closingTrailing: itemTrailing[i],
      clauses: item.clauses.map((cl, j) => ({ ...cl, comments: { leading: b.leading[j]!, trailing: b.trailing[j] } })),
    };
  });
  return { ...file, items, closing: fileClosing };
}

function lastIndexWhere<T>(xs: readonly T[], p: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (p(xs[i]!)) return i;
  return -1;
}

// ---- entry point ------------------------------------------------------------------------------

/** Parse one file. A syntax error is a single Diagnostic at the furthest point the parser reached. */
export function parse(file: string, text: string): E.Either<Diagnostic, FileAst> {
  return E.mapLeft((ds: RNEA.ReadonlyNonEmptyArray<Diagnostic>) => RNEA.head(ds))(parseWith(file, text, false));
}

/** Parse one file, reporting every syntax error: after the first, each piece at fault (a clause of a
 * block, or a top-level item) is set aside and the rest parsed again (src/language/recover.ts). The
 * first diagnostic is the one `parse` gives. */
export function parseAll(file: string, text: string): E.Either<RNEA.ReadonlyNonEmptyArray<Diagnostic>, FileAst> {
  return parseWith(file, text, true);
}

function parseWith(file: string, source: string, recover: boolean): E.Either<RNEA.ReadonlyNonEmptyArray<Diagnostic>, FileAst> {
  // A UTF-8 byte order mark (saved by some editors) is read as a space: offsets stay those of the text.
  const text = source.charCodeAt(0) === 0xfeff ? ` ${source.slice(1)}` : source;
  const ctx: Ctx = { file, lineStarts: lineStartsOf(text) };
  if (text.length > maxSpecLength) {
    return E.left([
      error(
        span(ctx, 0, 0),
        `the file has ${text.length} characters; specs are limited to ${maxSpecLength} (the parser reads about 70 000 characters a second, so larger files are refused rather than parsed for minutes)`,
      ),
    ]);
  }
  const deep = tooDeep(text);
  if (deep !== undefined) {
    return E.left([error(span(ctx, deep, deep + 1), `expression nested too deeply (more than ${maxDepth} levels of parentheses)`)]);
  }
  try {
    return parseUnguarded(ctx, text, recover);
  } catch (err) {
    // Very long operator chains can still exhaust the stack of the recursive-descent parser.
    if (err instanceof RangeError) return E.left([error(span(ctx, 0, 0), 'the spec is too deeply nested to parse')]);
    throw err;
  }
}

/** Longest spec text parsed (characters). Real specs are a few kilobytes. */
export const maxSpecLength = 256 * 1024;

/** Nesting limit: real specs use a handful of levels; the parser's stack allows a few hundred. */
export const maxDepth = 64;

/** Offset of the first `(` beyond the nesting limit (outside strings and comments), if any. */
function tooDeep(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      i++;
      while (i < text.length && text[i] !== '"' && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
    } else if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '(') {
      if (++depth > maxDepth) return i;
    } else if (ch === ')') depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/** Depth limit on an expression tree (every operator, pipe and call is one level): the checker and
 * the formatter recurse over trees, and a sum of 1000 terms is 999 levels deep. */
export const maxExprDepth = 1500;

/** Problems of a tree the grammar accepted, found in one walk with an explicit stack: an expression
 * deeper than `maxExprDepth` (reported once per clause, at its deepest point), and number literals
 * that overflow to ±∞ or underflow to 0 in double precision. */
function treeProblems(file: FileAst): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const item of file.items) {
    if (item._tag !== 'Optimizer') continue;
    for (const clause of item.clauses) {
      let worst: { span: Span; depth: number } | undefined;
      const stack: [Expr, number][] = [[clause.value, 0]];
      while (stack.length > 0) {
        const [e, d] = stack.pop()!;
        if (d > maxExprDepth && (worst === undefined || d > worst.depth)) worst = { span: e.span, depth: d };
        switch (e._tag) {
          case 'Number': {
            const text = truncateMiddle(e.text, 40);
            if (!Number.isFinite(e.value)) out.push(error(e.span, `the number ${text} overflows: it is larger than the largest double, about 1.8e308`));
            else if (e.value === 0 && /[1-9]/.test(e.text.replace(/[eE].*$/, ''))) out.push(error(e.span, `the number ${text} underflows to 0: it is smaller than the smallest positive double, about 4.9e-324`));
            break;
          }
          case 'Binary':
            stack.push([e.right, d + 1], [e.left, d + 1]);
            break;
          case 'Pipe':
            stack.push([e.transform, d + 1], [e.subject, d + 1]);
            break;
          case 'Call':
            for (const a of e.args) stack.push([a.value, d + 1]);
            break;
          default:
            break;
        }
      }
      if (worst !== undefined) {
        out.push(
          error(worst.span, `expression nested too deeply: ${worst.depth} levels of operators, pipes and calls (the limit is ${maxExprDepth}; \`a + b + c\` is 2 levels)`),
        );
      }
    }
  }
  return out;
}

/** The most errors one file reports (the first plus those found by recovery). */
const maxSyntaxErrors = 20;

function parseUnguarded(ctx: Ctx, text: string, recover: boolean): E.Either<RNEA.ReadonlyNonEmptyArray<Diagnostic>, FileAst> {
  const result = grammar.match(text);
  if (result.failed()) {
    const first = failure(ctx, text, result);
    if (!recover) return E.left([first.diagnostic]);
    const attempt = (t: string): Failure | undefined => {
      try {
        const r = grammar.match(t);
        return r.failed() ? failure(ctx, t, r) : undefined;
      } catch (err) {
        if (err instanceof RangeError) return undefined; // stop recovering; keep what was found
        throw err;
      }
    };
    const more = recoverFailures(text, first, attempt, (f) => f.at, maxSyntaxErrors - 1);
    return E.left([first.diagnostic, ...more.map((f) => f.diagnostic)]);
  }
  const tree = semantics(result)['ast'](ctx) as FileAst;
  const problems = treeProblems(tree);
  if (problems.length > 0) return E.left(problems as unknown as RNEA.ReadonlyNonEmptyArray<Diagnostic>);
  return E.right(attachComments(ctx, tree, scanComments(ctx, text)));
}

interface Failure {
  readonly at: number;
  readonly diagnostic: Diagnostic;
}

/** The located error of a failed match of `text`. */
function failure(ctx: Ctx, text: string, result: FailedMatchResult): Failure {
  const at = result.getRightmostFailurePosition();
  const where = span(ctx, at, Math.min(text.length, at + Math.max(1, tokenLength(text, at))));
  if (unterminatedString(text, at)) return { at, diagnostic: error(where, 'unterminated string (a string ends with " on the same line)') };
  const found = at >= text.length ? 'end of file' : describeAt(text, at);
  return { at, diagnostic: error(where, `expected ${result.getExpectedText()}, found ${found}`) };
}

/** Length of the token starting at `at` (for the caret's width). */
function tokenLength(text: string, at: number): number {
  const m = /^(?:[A-Za-z_][A-Za-z0-9_]*|-?[0-9][0-9.eE+-]*|"[^"\n]*"?|\|>|.)/.exec(text.slice(at));
  return m === null ? 1 : m[0].length;
}

function unterminatedString(text: string, at: number): boolean {
  if (text[at] !== '"') return false;
  const rest = /^"(?:\\.|[^"\\\n\r])*/.exec(text.slice(at))![0];
  return text[at + rest.length] !== '"';
}

/** Names of characters that look like nothing (or like a plain space) when printed. */
const invisibleNames: Readonly<Record<number, string>> = {
  0x00a0: 'no-break space',
  0x00ad: 'soft hyphen',
  0x1680: 'ogham space mark',
  0x180e: 'mongolian vowel separator',
  0x200b: 'zero-width space',
  0x200c: 'zero-width non-joiner',
  0x200d: 'zero-width joiner',
  0x200e: 'left-to-right mark',
  0x200f: 'right-to-left mark',
  0x2028: 'line separator',
  0x2029: 'paragraph separator',
  0x202f: 'narrow no-break space',
  0x205f: 'medium mathematical space',
  0x2060: 'word joiner',
  0x3000: 'ideographic space',
  0xfeff: 'byte order mark / zero-width no-break space',
};

/** `U+00A0 (no-break space)` for a character that prints as nothing or as blank, else undefined. */
export function invisibleCharacter(ch: string): string | undefined {
  const cp = ch.codePointAt(0);
  if (cp === undefined) return undefined;
  const name =
    invisibleNames[cp] ??
    (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) ? 'a control character' : cp >= 0x2000 && cp <= 0x200a ? 'a typographic space' : undefined);
  return name === undefined ? undefined : `U+${cp.toString(16).toUpperCase().padStart(4, '0')} (${name})`;
}

function describeAt(text: string, at: number): string {
  const tok = text.slice(at, at + tokenLength(text, at));
  if (tok === '\n' || tok === '\r') return 'end of line';
  const invisible = invisibleCharacter(String.fromCodePoint(text.codePointAt(at)!));
  if (invisible !== undefined) return `the invisible character ${invisible}`;
  return `"${truncateMiddle(tok, 60)}"`;
}
