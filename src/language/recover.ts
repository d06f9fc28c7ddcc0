/**
 * Syntax-error recovery: after the first failure, find the piece of text it belongs to (a top-level
 * item, or one clause of an `optimizer { … }` block), blank that piece out (every character but line
 * breaks becomes a space, so offsets, lines and columns stay those of the file) and parse again,
 * until the text parses or nothing more can be blanked. Each further failure is one more syntax
 * error. Files whose braces do not balance are not recovered (the first error is the only one).
 */

interface Token {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** Significant tokens: names and numbers, strings (ending at the line's end), punctuation; comments
 * and white space are skipped. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '#') {
      while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
    } else if (/\s/.test(ch)) i++;
    else if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n' && text[j] !== '\r') j += text[j] === '\\' ? 2 : 1;
      j = Math.min(text.length, text[j] === '"' ? j + 1 : j);
      out.push({ start: i, end: j, text: text.slice(i, j) });
      i = j;
    } else if (/[A-Za-z0-9_.]/.test(ch)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_.]/.test(text[j]!)) j++;
      out.push({ start: i, end: j, text: text.slice(i, j) });
      i = j;
    } else {
      const j = text.startsWith('|>', i) ? i + 2 : i + 1;
      out.push({ start: i, end: j, text: text.slice(i, j) });
      i = j;
    }
  }
  return out;
}

/** A piece of text that can be blanked: tokens `from..to` (inclusive). */
interface Piece {
  readonly from: number;
  readonly to: number;
  /** For an `optimizer` block: the token indices of its `{` and `}`. */
  readonly body?: { readonly open: number; readonly close: number };
}

const isItemKeyword = (t: Token): boolean => t.text === 'optimizer' || t.text === 'import';

/** Whether every `}` closes an earlier `{` and none is left open. */
function balanced(tokens: readonly Token[]): boolean {
  let depth = 0;
  for (const t of tokens) {
    if (t.text === '{') depth++;
    else if (t.text === '}' && --depth < 0) return false;
  }
  return depth === 0;
}

/** Top-level pieces: imports, blocks, and stray text between them. */
function items(tokens: readonly Token[]): Piece[] {
  const out: Piece[] = [];
  let t = 0;
  while (t < tokens.length) {
    const from = t;
    if (tokens[t]!.text === 'optimizer') {
      t++;
      while (t < tokens.length && tokens[t]!.text !== '{' && !isItemKeyword(tokens[t]!)) t++;
      if (t < tokens.length && tokens[t]!.text === '{') {
        const open = t;
        let depth = 0;
        for (; t < tokens.length; t++) {
          if (tokens[t]!.text === '{') depth++;
          else if (tokens[t]!.text === '}' && --depth === 0) break;
        }
        out.push({ from, to: t, body: { open, close: t } });
        t++;
        continue;
      }
    } else t++;
    // An import, a header without a block, or stray text: up to the next item at brace depth 0.
    let depth = 0;
    while (t < tokens.length && !(depth === 0 && isItemKeyword(tokens[t]!))) {
      if (tokens[t]!.text === '{') depth++;
      else if (tokens[t]!.text === '}') depth--;
      t++;
    }
    out.push({ from, to: t - 1 });
  }
  return out;
}

/** The clauses of a block body: a clause starts at `name =` that begins a line or stands outside
 * parentheses; text before the first clause is a piece of its own. */
function clauses(text: string, tokens: readonly Token[], open: number, close: number): Piece[] {
  const starts: number[] = [];
  let parens = 0;
  for (let t = open + 1; t < close; t++) {
    const tok = tokens[t]!;
    const lineFirst = /[\n\r]/.test(text.slice(tokens[t - 1]!.end, tok.start));
    if (/^[A-Za-z_]/.test(tok.text) && tokens[t + 1]?.text === '=' && t + 1 < close && (parens === 0 || lineFirst)) {
      starts.push(t);
      parens = 0;
    } else if (tok.text === '(') parens++;
    else if (tok.text === ')') parens = Math.max(0, parens - 1);
  }
  if (open + 1 < close && starts[0] !== open + 1) starts.unshift(open + 1);
  return starts.map((from, k) => ({ from, to: (starts[k + 1] ?? close) - 1 }));
}

/** The pieces that may be at fault for a failure at `at`, most likely first: the piece holding it,
 * and — when the failure sits on a piece's first token — the piece before (which may be unfinished). */
function suspects(text: string, tokens: readonly Token[], at: number): Piece[] {
  const pick = (pieces: readonly Piece[]): Piece[] => {
    const k = pieces.findIndex((p) => tokens[p.from]!.start <= at && at < tokens[p.to]!.end);
    if (k < 0) {
      const before = pieces.filter((p) => tokens[p.to]!.end <= at);
      return before.length > 0 ? [before[before.length - 1]!] : [];
    }
    const here = pieces[k]!;
    return tokens[here.from]!.start === at && k > 0 ? [pieces[k - 1]!, here] : [here];
  };
  const top = pick(items(tokens));
  const block = top.length === 1 ? top[0]!.body : undefined;
  if (block !== undefined && tokens[block.open]!.end <= at && at <= tokens[block.close]!.start) {
    const inner = pick(clauses(text, tokens, block.open, block.close));
    return inner.length > 0 ? inner : top;
  }
  return top;
}

const blank = (text: string, start: number, end: number): string =>
  text.slice(0, start) + text.slice(start, end).replace(/[^\n\r]/g, ' ') + text.slice(end);

/**
 * The syntax failures after `first`, found by blanking the piece at fault and parsing again (at
 * most `limit` more). `attempt` parses a text: undefined when it parses, else its failure;
 * `at` is a failure's offset.
 */
export function recoverFailures<F>(
  text: string,
  first: F,
  attempt: (text: string) => F | undefined,
  at: (f: F) => number,
  limit: number,
): F[] {
  const more: F[] = [];
  let current = text;
  let failure = first;
  while (more.length < limit) {
    const tokens = tokenize(current);
    if (!balanced(tokens)) break;
    const candidates = suspects(current, tokens, at(failure));
    let next: { text: string; failure: F | undefined } | undefined;
    for (let c = 0; c < candidates.length; c++) {
      const piece = candidates[c]!;
      const blanked = blank(current, tokens[piece.from]!.start, tokens[piece.to]!.end);
      if (blanked === current) continue;
      const f = attempt(blanked);
      // The piece before the failure is at fault only if removing it moves the failure.
      if (c + 1 < candidates.length && f !== undefined && at(f) === at(failure)) continue;
      next = { text: blanked, failure: f };
      break;
    }
    if (next === undefined || next.failure === undefined) break;
    if (at(next.failure) === at(failure)) break; // no progress: it would be the same error again
    more.push(next.failure);
    current = next.text;
    failure = next.failure;
  }
  return more;
}
