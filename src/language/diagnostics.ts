/**
 * Located problems and how they are shown: `file:line:col: error: message`, the source line, a caret
 * under the span, and an optional hint; or, for tools, a JSON record per problem.
 */
import type { Span } from './spec.js';

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly span: Span;
  readonly severity: Severity;
  readonly message: string;
  /** E.g. `did you mean "kfac"?` */
  readonly hint?: string;
}

/** The machine-readable form (`geodesic check --json`). Lines and columns are 1-based; the end is
 * exclusive. */
export interface DiagnosticJson {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly severity: Severity;
  readonly message: string;
  readonly hint?: string;
}

export const error = (span: Span, message: string, hint?: string): Diagnostic =>
  hint === undefined ? { span, severity: 'error', message } : { span, severity: 'error', message, hint };

/** 1-based line and column of a 0-based offset. */
export function lineColumn(text: string, offset: number): { readonly line: number; readonly column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(offset, 0), text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** A span covering `start..end` of `text` in `file`. */
export function spanOf(file: string, text: string, start: number, end: number): Span {
  const { line, column } = lineColumn(text, start);
  return { file, start, end, line, column };
}

/** The span of a whole file's first position, for problems that belong to no particular text. */
export const fileSpan = (file: string): Span => ({ file, start: 0, end: 0, line: 1, column: 1 });

/** Where to find the text of a file when rendering (undefined: render without the source line). */
export type SourceLookup = (file: string) => string | undefined;

export function toJson(d: Diagnostic, sources: SourceLookup): DiagnosticJson {
  const text = sources(d.span.file);
  const end = text === undefined ? { line: d.span.line, column: d.span.column } : lineColumn(text, d.span.end);
  const base = {
    file: d.span.file,
    line: d.span.line,
    column: d.span.column,
    endLine: end.line,
    endColumn: end.column,
    severity: d.severity,
    message: d.message,
  };
  return d.hint === undefined ? base : { ...base, hint: d.hint };
}

/** Longest message or hint rendered in full; longer ones keep their start and end. */
export const maxMessageLength = 400;
/** Widest source excerpt shown under a diagnostic; a longer line is cut to a window around the caret. */
export const maxExcerptWidth = 160;

/** `s` cut to at most `max` characters, keeping its start and end, saying how much was left out. */
export function truncateMiddle(s: string, max: number): string {
  if (s.length <= max) return s;
  const keep = Math.max(10, max - 40);
  const head = Math.ceil(keep * 0.75);
  const tail = keep - head;
  return `${s.slice(0, head)}… (${s.length - keep} characters left out) …${s.slice(s.length - tail)}`;
}

/** `file:line:col: error: message`, the source line, a caret line, and `  hint: …` if any. Long
 * messages and long source lines are shortened (a 1 MB literal is not echoed). */
export function render(d: Diagnostic, sources: SourceLookup): string {
  const head = `${d.span.file}:${d.span.line}:${d.span.column}: ${d.severity}: ${truncateMiddle(d.message, maxMessageLength)}`;
  const lines = [head];
  const text = sources(d.span.file);
  if (text !== undefined) {
    const lineStart = d.span.start - (d.span.column - 1);
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    let source = text.slice(lineStart, lineEnd).replace(/\r$/, '');
    if (source.trim() !== '' || d.span.start < text.length) {
      let caretAt = d.span.column - 1;
      let width = Math.max(1, Math.min(d.span.end, lineStart + source.length) - d.span.start);
      if (source.length > maxExcerptWidth) {
        // a window of the line around the caret, marked with … where it was cut
        const from = Math.max(0, Math.min(caretAt - 40, source.length - maxExcerptWidth));
        const to = Math.min(source.length, from + maxExcerptWidth);
        const lead = from > 0 ? '…' : '';
        source = `${lead}${source.slice(from, to)}${to < source.length ? '…' : ''}`;
        caretAt = caretAt - from + lead.length;
        width = Math.max(1, Math.min(width, to - (d.span.column - 1)));
      }
      const prefix = source.slice(0, caretAt).replace(/[^\t]/g, ' ');
      lines.push(`  ${source}`, `  ${prefix}^${'~'.repeat(width - 1)}`);
    }
  }
  if (d.hint !== undefined) lines.push(`  hint: ${truncateMiddle(d.hint, maxMessageLength)}`);
  return lines.join('\n');
}

export function renderAll(ds: readonly Diagnostic[], sources: SourceLookup): string {
  return ds.map((d) => render(d, sources)).join('\n') + (ds.length > 0 ? '\n' : '');
}

/** Order by file (in first-appearance order of `files`, then by name), then position; drop exact
 * duplicates (the same import cycle is found from each of its files). */
export function sortDiagnostics(ds: readonly Diagnostic[], files: readonly string[] = []): readonly Diagnostic[] {
  const rank = (f: string): number => {
    const i = files.indexOf(f);
    return i < 0 ? files.length : i;
  };
  const seen = new Set<string>();
  const unique = ds.filter((d) => {
    const key = `${d.span.file}\u0000${d.span.start}\u0000${d.span.end}\u0000${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return [...unique].sort(
    (a, b) =>
      rank(a.span.file) - rank(b.span.file) ||
      (a.span.file < b.span.file ? -1 : a.span.file > b.span.file ? 1 : 0) ||
      a.span.start - b.span.start ||
      a.span.end - b.span.end,
  );
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate within a distance proportional to the name's length, if any. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(name.toLowerCase(), c.toLowerCase());
    if (dist < bestDistance && dist <= limit) {
      best = c;
      bestDistance = dist;
    }
  }
  return best;
}

/** `did you mean "x"?` for a misspelt name, or undefined. */
export function didYouMean(name: string, candidates: readonly string[]): string | undefined {
  const c = closest(name, candidates);
  return c === undefined ? undefined : `did you mean "${c}"?`;
}
