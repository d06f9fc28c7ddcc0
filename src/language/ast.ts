/**
 * The syntax tree of a `*.optim` file: readonly tagged unions, every node with its source span.
 * The tree is purely syntactic (no names are resolved); `check` gives it meaning.
 * Comments are kept (attached to items and clauses) so that `print` can reformat a file without
 * losing them.
 */
import type { Span } from './spec.js';

export type { Span };

/** An identifier together with where it was written. */
export interface Name {
  readonly value: string;
  readonly span: Span;
}

/** Comments attached to a node: whole-line comments before it and an end-of-line comment after it.
 * Texts are stored as written after the `#` (leading spaces kept), without trailing whitespace. */
export interface Comments {
  readonly leading: readonly string[];
  readonly trailing: string | undefined;
}

export interface FileAst {
  readonly _tag: 'File';
  readonly items: readonly Item[];
  /** Comments after the last item. */
  readonly closing: readonly string[];
  readonly span: Span;
}

export type Item = ImportAst | OptimizerAst;

export interface ImportAst {
  readonly _tag: 'Import';
  readonly path: string;
  readonly pathSpan: Span;
  readonly comments: Comments;
  readonly span: Span;
}

export interface OptimizerAst {
  readonly _tag: 'Optimizer';
  readonly name: Name;
  readonly title: string | undefined;
  readonly extends: Name | undefined;
  readonly clauses: readonly ClauseAst[];
  /** `comments.trailing` is the comment on the `{` line; a comment after `}` is `closingTrailing`. */
  readonly comments: Comments;
  /** Comments after the last clause, before `}`. */
  readonly closing: readonly string[];
  readonly closingTrailing: string | undefined;
  /** The header: from `optimizer` to `{`. */
  readonly headerSpan: Span;
  readonly span: Span;
}

export interface ClauseAst {
  readonly _tag: 'Clause';
  readonly name: Name;
  readonly value: Expr;
  readonly comments: Comments;
  readonly span: Span;
}

export type Expr = NumberLit | BooleanLit | StringLit | Ident | Call | Binary | Pipe;

export interface NumberLit {
  readonly _tag: 'Number';
  readonly value: number;
  /** The literal as written (e.g. `1e-3`); `print` writes it back unchanged. */
  readonly text: string;
  readonly span: Span;
}

export interface BooleanLit {
  readonly _tag: 'Boolean';
  readonly value: boolean;
  readonly span: Span;
}

export interface StringLit {
  readonly _tag: 'String';
  readonly value: string;
  readonly span: Span;
}

export interface Ident {
  readonly _tag: 'Ident';
  readonly name: string;
  readonly span: Span;
}

export interface Arg {
  readonly name: Name | undefined;
  readonly value: Expr;
  readonly span: Span;
}

export interface Call {
  readonly _tag: 'Call';
  readonly callee: Name;
  readonly args: readonly Arg[];
  readonly span: Span;
}

export type BinaryOp = '+' | '*' | '^';

export interface Binary {
  readonly _tag: 'Binary';
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}

/** `subject |> transform`: the right-hand side is always a name or a call. */
export interface Pipe {
  readonly _tag: 'Pipe';
  readonly subject: Expr;
  readonly transform: Ident | Call;
  readonly span: Span;
}

/** Binding strength of each operator (higher binds tighter); see grammar/optim.ohm. */
export const precedence = { '+': 1, '*': 2, '^': 3, '|>': 4 } as const;

/** Replace every span in a tree by a fixed one: two trees are equal "up to spans" when their
 * stripped forms are deep-equal. */
export function stripSpans<T>(node: T): T {
  return strip(node) as T;
}

const noSpan: Span = { file: '', start: 0, end: 0, line: 0, column: 0 };

function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      out[k] = k === 'span' || k === 'headerSpan' || k === 'pathSpan' ? noSpan : strip(v);
    }
    return out;
  }
  return node;
}
