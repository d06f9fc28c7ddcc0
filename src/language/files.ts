/**
 * The one effect of the front end: reading spec files from disk, with one-line reasons on failure.
 * Everything else in src/language is pure.
 */
import * as E from 'fp-ts/lib/Either.js';
import { readFileSync } from 'node:fs';
import { checkFiles, type CheckResult, type ReadFile } from './check.js';
import { renderAll } from './diagnostics.js';
import type { Spec } from './spec.js';

export const readFileNode: ReadFile = (file) => {
  try {
    return E.right(readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return E.left('no such file');
    if (code === 'EISDIR') return E.left('it is a directory');
    if (code === 'EACCES') return E.left('permission denied');
    return E.left(err instanceof Error ? err.message : String(err));
  }
};

/** Check files on disk. */
export const checkPaths = (files: readonly string[]): CheckResult => checkFiles(files, readFileNode);

/** Check one file on disk: its Spec, or the rendered diagnostics (for callers that only report). */
export function loadSpec(file: string): E.Either<string, Spec> {
  const r = checkPaths([file]);
  return E.isLeft(r.specs) ? E.left(renderAll(r.specs.left, (f) => r.sources.get(f))) : E.right(r.specs.right[0]!);
}

/**
 * The optimizer a command uses when the user names none: the only one defined in `file`, or else
 * the one named after the file (`kfac.optim` → `kfac`). Left: why none could be chosen.
 */
export function defaultOptimizer<T>(items: readonly T[], nameOf: (t: T) => string, file: string): E.Either<string, T> {
  if (items.length === 1) return E.right(items[0]!);
  const base = file.replace(/^.*[\\/]/, '').replace(/\.optim$/, '');
  const named = items.find((t) => nameOf(t) === base);
  if (named !== undefined) return E.right(named);
  return E.left(`${file} defines ${items.length} optimizers (${items.map(nameOf).join(', ')}); choose one with --optimizer NAME`);
}
