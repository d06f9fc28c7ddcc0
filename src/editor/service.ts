/**
 * What an editor shows for a `.optim` text — diagnostics, hover documentation and completions —
 * computed from the language core (checker, registry) and shared by the playground (CodeMirror)
 * and `geodesic lsp` (Language Server Protocol). Portable: no file system here; imports are read
 * by the caller's `ReadFile`.
 *
 * Positions: offsets are 0-based UTF-16 indices into the text (what CodeMirror uses); lines and
 * columns are 1-based, as `geodesic check` prints them (the LSP adapter subtracts one).
 */
import * as E from 'fp-ts/lib/Either.js';
import { checkText, type ReadFile } from '../language/check.js';
import { lineColumn } from '../language/diagnostics.js';
import { componentMarkdown } from '../language/docs.js';
import { normalize } from '../language/paths.js';
import {
  clauses,
  components,
  describeType,
  findClause,
  kindTitle,
  valueArgs,
  type ArgSpec,
  type ClauseSpec,
  type ComponentSpec,
  type Kind,
} from '../language/registry.js';

// ---- diagnostics -------------------------------------------------------------------------------

export interface EditorDiagnostic {
  /** 0-based offsets, end exclusive (at least one character wide where the text allows). */
  readonly from: number;
  readonly to: number;
  /** 1-based, as `geodesic check` prints them; the end is exclusive. */
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  /** E.g. `did you mean "kfac"?` */
  readonly hint?: string;
}

/**
 * Every problem `geodesic check FILE` reports for `text` as the contents of `file`. Problems found
 * in an imported file are shown at the start of this one, prefixed with their own location.
 */
export function diagnose(file: string, text: string, read: ReadFile = () => E.left('no such file')): readonly EditorDiagnostic[] {
  const r = checkText(file, text, read);
  if (E.isRight(r.specs)) return [];
  const self = normalize(file);
  return r.specs.left.map((d): EditorDiagnostic => {
    const here = d.span.file === self;
    const from = here ? d.span.start : 0;
    const wide = here ? Math.max(d.span.end, Math.min(d.span.start + 1, text.length)) : Math.min(1, text.length);
    const start = here ? { line: d.span.line, column: d.span.column } : { line: 1, column: 1 };
    const end = lineColumn(text, wide);
    const message = here ? d.message : `in ${d.span.file}:${d.span.line}:${d.span.column}: ${d.message}`;
    const base = { from, to: wide, line: start.line, column: start.column, endLine: end.line, endColumn: end.column, severity: d.severity, message };
    return d.hint === undefined ? base : { ...base, hint: d.hint };
  });
}

// ---- a light lexical reading of the text up to a position ----------------------------------------

type Token =
  | { readonly t: 'name'; readonly text: string; readonly from: number; readonly to: number }
  | { readonly t: 'punct'; readonly text: string; readonly from: number; readonly to: number }
  | { readonly t: 'literal'; readonly from: number; readonly to: number };

const KEYWORDS = ['optimizer', 'import', 'extends', 'true', 'false'] as const;

/** Tokens of the text (comments skipped, strings and numbers as literals). Never fails. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (/\s/.test(c)) i++;
    else if (/[A-Za-z_]/.test(c)) {
      const s = i;
      while (i < text.length && /\w/.test(text[i]!)) i++;
      out.push({ t: 'name', text: text.slice(s, i), from: s, to: i });
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const s = i;
      i++;
      while (i < text.length && /[0-9.eE+\-]/.test(text[i]!)) i++;
      out.push({ t: 'literal', from: s, to: i });
    } else if (c === '"') {
      const s = i;
      i++;
      while (i < text.length && text[i] !== '"' && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
      if (text[i] === '"') i++;
      out.push({ t: 'literal', from: s, to: i });
    } else if (c === '|' && text[i + 1] === '>') {
      out.push({ t: 'punct', text: '|>', from: i, to: i + 2 });
      i += 2;
    } else {
      out.push({ t: 'punct', text: c, from: i, to: i + 1 });
      i++;
    }
  }
  return out;
}

interface OpenCall {
  readonly name: string;
  /** Names of the arguments already written in this call. */
  readonly written: string[];
}

/** Where a position sits: inside which block and clause, inside which calls. */
interface Context {
  readonly inBlock: boolean;
  readonly clause: ClauseSpec | undefined;
  /** The clause name as written (also when unknown). */
  readonly clauseName: string | undefined;
  readonly calls: readonly OpenCall[];
  /** The last token before the position (the word being typed excluded). */
  readonly previous: Token | undefined;
  /** The argument whose value is being typed (`name: |`). */
  readonly argName: string | undefined;
}

function contextAt(tokens: readonly Token[], offset: number): Context {
  let inBlock = false;
  let clauseName: string | undefined;
  const calls: OpenCall[] = [];
  let previous: Token | undefined;
  let argName: string | undefined;
  for (let k = 0; k < tokens.length; k++) {
    const tok = tokens[k]!;
    if (tok.to >= offset && tok.t === 'name' && tok.from <= offset) break; // the word under the cursor
    if (tok.from >= offset) break;
    const next = tokens[k + 1];
    if (tok.t === 'punct') {
      if (tok.text === '{') {
        inBlock = true;
        clauseName = undefined;
        calls.length = 0;
      } else if (tok.text === '}') {
        inBlock = false;
        clauseName = undefined;
        calls.length = 0;
      } else if (tok.text === '(' && previous?.t === 'name') calls.push({ name: previous.text, written: [] });
      else if (tok.text === ')') calls.pop();
      if (tok.text === ':' && previous?.t === 'name') argName = previous.text;
      else if (tok.text === ',' || tok.text === '(' || tok.text === ')') argName = undefined;
    } else if (tok.t === 'name' && inBlock && next?.t === 'punct' && next.text === '=' && next.from < offset) {
      // `name =` always starts a clause (arguments use `:`), even after a call left open while typing
      clauseName = tok.text;
      argName = undefined;
      calls.length = 0;
    } else if (tok.t === 'name' && next?.t === 'punct' && next.text === ':' && calls.length > 0) {
      calls[calls.length - 1]!.written.push(tok.text);
    }
    previous = tok;
  }
  return { inBlock, clause: clauseName === undefined ? undefined : findClause(clauseName), clauseName, calls, previous, argName };
}

/** Component kinds that may appear in a clause at this nesting (curvature wrappers take curvatures; numbers may be schedules). */
function kindsAt(ctx: Context): readonly Kind[] {
  const base = ctx.clause?.kinds ?? [];
  return ctx.calls.length > 0 ? [...base, 'schedule'] : base;
}

function lookup(kinds: readonly Kind[], name: string): readonly ComponentSpec[] {
  const inClause = components.filter((c) => c.name === name && kinds.includes(c.kind));
  return inClause.length > 0 ? inClause : components.filter((c) => c.name === name);
}

/** The innermost open call that is a known component of the clause (for its arguments). */
function enclosingComponent(ctx: Context): ComponentSpec | undefined {
  const call = ctx.calls[ctx.calls.length - 1];
  return call === undefined ? undefined : lookup(kindsAt(ctx), call.name)[0];
}

// ---- hover -------------------------------------------------------------------------------------

export interface HoverInfo {
  readonly from: number;
  readonly to: number;
  /** Markdown: the component's signature, meaning, update, reference and arguments. */
  readonly markdown: string;
}

const KEYWORD_DOCS: Readonly<Record<string, string>> = {
  optimizer: '`optimizer NAME "title"? (extends PARENT)? { clause = expression … }` — one optimizer: a block of clauses.',
  import: '`import "file.optim"` — makes the optimizers of another file available to `extends`.',
  extends: '`extends PARENT` — start from the clauses of another optimizer and override some.',
  true: 'the boolean true',
  false: 'the boolean false',
};

const clauseMarkdown = (c: ClauseSpec): string =>
  `**clause \`${c.name}\`** — ${c.doc}.\n\naccepts: ${c.kinds.map((k) => kindTitle[k]).join(', ')}${c.chain === true ? ' (a `|>` chain)' : ''}; default \`${c.defaultText}\``;

const argMarkdown = (c: ComponentSpec, a: ArgSpec): string =>
  `**\`${c.name}(${a.name}: …)\`** — ${a.doc}\n\n${describeType(a.type)}; ${a.default === undefined ? 'required' : `default ${String(a.default)}`}`;

export function hover(text: string, offset: number): HoverInfo | undefined {
  const tokens = tokenize(text);
  const k = tokens.findIndex((t) => t.t === 'name' && t.from <= offset && offset <= t.to && !(offset === t.to && offset === t.from));
  if (k < 0) return undefined;
  const tok = tokens[k]! as Extract<Token, { t: 'name' }>;
  const next = tokens[k + 1];
  const ctx = contextAt(tokens, tok.from);
  const at = (markdown: string): HoverInfo => ({ from: tok.from, to: tok.to, markdown });
  if ((KEYWORDS as readonly string[]).includes(tok.text)) return at(KEYWORD_DOCS[tok.text]!);
  if (ctx.inBlock && next?.t === 'punct' && next.text === '=') {
    const c = findClause(tok.text);
    return c === undefined ? undefined : at(clauseMarkdown(c));
  }
  if (next?.t === 'punct' && next.text === ':' && ctx.calls.length > 0) {
    const c = enclosingComponent(ctx);
    const a = c?.args.find((x) => x.name === tok.text);
    return c === undefined || a === undefined ? undefined : at(argMarkdown(c, a));
  }
  if (!ctx.inBlock) return undefined;
  const found = lookup(kindsAt(ctx), tok.text);
  if (found.length === 0) return undefined;
  return at(found.map((c) => `*${kindTitle[c.kind]}*\n\n${componentMarkdown(c)}`).join('\n\n---\n\n'));
}

// ---- completion --------------------------------------------------------------------------------

export type CompletionKind = 'keyword' | 'clause' | 'component' | 'argument' | 'value';

export interface CompletionItem {
  readonly label: string;
  readonly kind: CompletionKind;
  /** One line shown beside the label. */
  readonly detail: string;
  /** Markdown documentation. */
  readonly documentation: string;
  /** Text inserted (defaults to the label). */
  readonly insert?: string;
}

export interface Completions {
  /** The completions replace text from here to the position (the word being typed). */
  readonly from: number;
  readonly items: readonly CompletionItem[];
}

const componentItem = (c: ComponentSpec): CompletionItem => ({
  label: c.name,
  kind: 'component',
  detail: `${kindTitle[c.kind]}: ${c.doc}`,
  documentation: componentMarkdown(c),
});

function valueItems(c: ComponentSpec | undefined, argName: string | undefined, ctx: Context): CompletionItem[] {
  const arg = c?.args.find((a) => a.name === argName);
  if (arg === undefined) return [];
  switch (arg.type.kind) {
    case 'boolean':
      return ['true', 'false'].map((v) => ({ label: v, kind: 'value', detail: `${argName}: ${v}`, documentation: arg.doc }));
    case 'enum':
      return arg.type.values.map((v) => ({ label: v, kind: 'value', detail: `${argName}: ${v}`, documentation: arg.doc }));
    case 'curvature':
      return components.filter((x) => (ctx.clause?.kinds ?? []).includes(x.kind) && x.kind !== 'transform').map(componentItem);
    case 'number': {
      const kws = Object.keys(arg.type.keywords ?? {}).map((v): CompletionItem => ({ label: v, kind: 'value', detail: `${argName}: ${v}`, documentation: arg.doc }));
      const schedules = arg.type.schedulable === true ? components.filter((x) => x.kind === 'schedule').map(componentItem) : [];
      return [...kws, ...schedules];
    }
  }
}

/** Completions at `offset`: clause names at the start of a clause, components after `=`, `|>`,
 * `+`, `*`, arguments inside a call, argument values after `name:`; keywords at the top level. */
export function complete(text: string, offset: number): Completions {
  let from = offset;
  while (from > 0 && /\w/.test(text[from - 1]!)) from--;
  const tokens = tokenize(text);
  const ctx = contextAt(tokens, from);
  const prev = ctx.previous;
  const p = prev?.t === 'punct' ? prev.text : undefined;
  if (!ctx.inBlock) {
    if (prev?.t === 'name' && prev.text === 'extends') return { from, items: [] };
    return { from, items: ['optimizer', 'import'].map((k) => ({ label: k, kind: 'keyword', detail: 'keyword', documentation: KEYWORD_DOCS[k]! })) };
  }
  const startOfClause = ctx.calls.length === 0 && (p === '{' || p === undefined || (prev !== undefined && text.slice(prev.to, from).includes('\n') && p !== '=' && p !== '|>' && p !== '+' && p !== '*' && p !== '^'));
  if (startOfClause) {
    return { from, items: clauses.map((c) => ({ label: c.name, kind: 'clause', detail: c.doc, documentation: clauseMarkdown(c), insert: `${c.name} = ` })) };
  }
  const call = enclosingComponent(ctx);
  if (ctx.calls.length > 0 && p === ':') return { from, items: valueItems(call, ctx.argName, ctx) };
  if (ctx.calls.length > 0 && (p === '(' || p === ',')) {
    const written = ctx.calls[ctx.calls.length - 1]!.written;
    const args = call === undefined ? [] : valueArgs(call).filter((a) => !written.includes(a.name));
    const argItems = args.map((a): CompletionItem => ({ label: a.name, kind: 'argument', detail: `${describeType(a.type)}${a.default === undefined ? ', required' : `, default ${String(a.default)}`}`, documentation: argMarkdown(call!, a), insert: `${a.name}: ` }));
    const first = call === undefined || p !== '(' ? undefined : call.kind === 'structure' ? call.args[0] : valueArgs(call)[0];
    const positional = first === undefined ? [] : valueItems(call, first.name, ctx);
    return { from, items: [...argItems, ...positional] };
  }
  const kinds = kindsAt(ctx);
  const pool = components.filter((c) => kinds.includes(c.kind) && (ctx.calls.length > 0 || c.kind !== 'schedule'));
  const afterPipe = p === '|>';
  const chosen = ctx.clause?.name === 'curvature' && ctx.calls.length === 0 ? pool.filter((c) => (afterPipe ? c.kind === 'transform' : c.kind !== 'transform')) : pool;
  const seen = new Set<string>();
  return { from, items: chosen.filter((c) => !seen.has(c.name) && seen.add(c.name)).map(componentItem) };
}
