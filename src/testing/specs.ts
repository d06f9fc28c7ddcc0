/**
 * Specs for properties, from `.optim` files through the real front end: loadSpec (parse + check)
 * → plan (OPTIM). Nothing here builds plans by hand.
 */
import * as E from 'fp-ts/lib/Either.js';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { loadSpec } from '../language/files.js';
import { checkText } from '../language/check.js';
import { renderAll } from '../language/diagnostics.js';
import type { OptimizerSpec } from '../language/spec.js';
import { plan, type Plan } from '../optim/plan.js';

export interface PlannedSpec {
  readonly file: string;
  readonly spec: OptimizerSpec;
  readonly plan: Plan;
}

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

/** Plan the optimizers of a spec text (checked by the language front end; imports are not resolved). */
export function planText(text: string, file = 'inline.optim'): E.Either<string, PlannedSpec[]> {
  const r = checkText(file, text);
  if (E.isLeft(r.specs)) return E.left(renderAll(r.specs.left, (f) => r.sources.get(f)));
  const out: PlannedSpec[] = [];
  for (const spec of r.specs.right[0]!.optimizers) {
    const p = plan(spec);
    if (E.isLeft(p)) return E.left(`${file}: optimizer ${spec.name} cannot be planned: ${JSON.stringify(p.left)}`);
    out.push({ file, spec, plan: p.right });
  }
  return E.right(out);
}

/** The one plan of a text or file, throwing on any problem (for tests and examples). */
export function planOrThrow(r: E.Either<string, PlannedSpec[]>, name?: string): Plan {
  if (E.isLeft(r)) throw new Error(r.left);
  const found = name === undefined ? r.right[0] : r.right.find((s) => s.plan.name === name);
  if (!found) throw new Error(`no optimizer ${name ?? ''} (have: ${r.right.map((s) => s.plan.name).join(', ')})`);
  return found.plan;
}
