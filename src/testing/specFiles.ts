/** Specs for properties from `.optim` files on disk (Node): loadSpec (parse + check) → plan. */
import * as E from 'fp-ts/lib/Either.js';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { loadSpec } from '../language/files.js';
import { plan } from '../optim/plan.js';
import type { PlannedSpec } from './specs.js';

/** Check a file and plan the optimizers it defines itself (not the ones it imports). With `name`,
 * exactly that optimizer (imported or not). Errors are one readable message. */
export function planFile(file: string, name?: string): E.Either<string, PlannedSpec[]> {
  const checked = loadSpec(file);
  if (E.isLeft(checked)) return E.left(checked.left);
  const all = checked.right.optimizers;
  const own = all.filter((o) => path.normalize(o.span.file) === path.normalize(file));
  const chosen = name === undefined ? (own.length > 0 ? own : all) : all.filter((o) => o.name === name);
  if (chosen.length === 0) {
    return E.left(name === undefined ? `${file} defines no optimizer` : `${file} has no optimizer '${name}' (it has: ${all.map((o) => o.name).join(', ')})`);
  }
  const out: PlannedSpec[] = [];
  for (const spec of chosen) {
    const p = plan(spec);
    if (E.isLeft(p)) return E.left(`${file}: optimizer ${spec.name} cannot be planned: ${JSON.stringify(p.left)}`);
    out.push({ file, spec, plan: p.right });
  }
  return E.right(out);
}

/** Every optimizer defined in the `*.optim` files of a directory (sorted by file, then by order). */
export function planDirectory(dir: string): E.Either<string, PlannedSpec[]> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.optim'))
    .sort();
  const out: PlannedSpec[] = [];
  for (const f of files) {
    const r = planFile(path.join(dir, f));
    if (E.isLeft(r)) return r;
    out.push(...r.right);
  }
  return E.right(out);
}
