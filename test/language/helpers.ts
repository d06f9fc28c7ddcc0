import * as E from 'fp-ts/lib/Either.js';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { checkFiles, checkText } from '../../src/language/check.js';
import { renderAll, type Diagnostic } from '../../src/language/diagnostics.js';
import { readFileNode } from '../../src/language/files.js';
import type { OptimizerSpec, Spec } from '../../src/language/spec.js';

export const exampleFiles = (): string[] =>
  readdirSync('examples')
    .filter((f) => f.endsWith('.optim'))
    .sort()
    .map((f) => path.join('examples', f));

export const errorFiles = (): string[] =>
  readdirSync('examples/errors')
    .filter((f) => f.endsWith('.optim'))
    .sort()
    .map((f) => path.join('examples/errors', f));

export const read = (f: string): string => readFileSync(f, 'utf8');

/** Check a text with in-memory imports. */
export function checkMemory(files: Record<string, string>, entry: string): E.Either<readonly Diagnostic[], Spec> {
  const r = checkFiles([entry], (f) => (f in files ? E.right(files[f]!) : E.left('no such file')));
  return E.map((specs: readonly Spec[]) => specs[0]!)(r.specs);
}

export function okSpec(text: string): Spec {
  const r = checkText('t.optim', text);
  if (E.isLeft(r.specs)) throw new Error(renderAll(r.specs.left, (f) => r.sources.get(f)));
  return r.specs.right[0]!;
}

export const one = (text: string): OptimizerSpec => okSpec(text).optimizers[0]!;

export function problems(text: string): readonly Diagnostic[] {
  const r = checkText('t.optim', text);
  return E.isLeft(r.specs) ? r.specs.left : [];
}

export const messages = (text: string): string[] => problems(text).map((d) => d.message);

export function renderFile(file: string): string {
  const r = checkFiles([file], readFileNode);
  return E.isLeft(r.specs) ? renderAll(r.specs.left, (f) => r.sources.get(f)) : '';
}
