/**
 * The Node adapter of the front end: reading spec files from disk (node:fs), with one-line reasons
 * on failure. Everything else in src/language is pure and portable (it runs in the playground):
 * `checkFiles` takes the reader as an argument.
 */
import * as E from 'fp-ts/lib/Either.js';
import { readFileSync } from 'node:fs';
import { checkFiles, type CheckResult, type ReadFile } from './check.js';
import { renderAll } from './diagnostics.js';
import type { Spec } from './spec.js';

export { defaultOptimizer } from './choose.js';

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
