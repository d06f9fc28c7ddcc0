/**
 * The path arithmetic `check` needs to resolve `import "…"`, as pure functions on '/'-separated
 * strings (the same results as Node's `path.posix`; tested against it), so the language runs
 * where there is no `node:path` — in a browser. Backslashes are not separators here.
 */

/** `path.posix.normalize`: collapse `//`, `.` and `..`; keep a leading `/` and a trailing `/`. */
export function normalize(p: string): string {
  if (p === '') return '.';
  const absolute = p.startsWith('/');
  const trailing = p.endsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(part);
  }
  let s = out.join('/');
  if (s === '' && !absolute) s = '.';
  if (trailing && s !== '') s += '/';
  return absolute ? '/' + s : s;
}

/** `path.posix.join`: the non-empty parts joined by '/', then normalized. */
export function join(...parts: readonly string[]): string {
  const kept = parts.filter((x) => x !== '');
  return kept.length === 0 ? '.' : normalize(kept.join('/'));
}

/** `path.posix.dirname` (Node's algorithm: the last separator before the last name; `//a` → `//`). */
export function dirname(p: string): string {
  if (p === '') return '.';
  const hasRoot = p.startsWith('/');
  let end = -1;
  let matchedSlash = true;
  for (let i = p.length - 1; i >= 1; --i) {
    if (p[i] === '/') {
      if (!matchedSlash) {
        end = i;
        break;
      }
    } else matchedSlash = false;
  }
  if (end === -1) return hasRoot ? '/' : '.';
  if (hasRoot && end === 1) return '//';
  return p.slice(0, end);
}

/** `path.posix.isAbsolute`: starts with '/'. */
export function isAbsolute(p: string): boolean {
  return p.startsWith('/');
}
