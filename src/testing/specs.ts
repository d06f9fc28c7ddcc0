/**
 * Specs for properties, from spec text through the real front end: check → plan. Nothing here
 * builds plans by hand. Portable (the playground's Prove button uses it); planFile/planDirectory
 * (reading files) are in specFiles.ts.
 */
import * as E from 'fp-ts/lib/Either.js';
import { checkText } from '../language/check.js';
import { renderAll } from '../language/diagnostics.js';
import type { OptimizerSpec } from '../language/spec.js';
import { plan, type Plan } from '../optim/plan.js';

export interface PlannedSpec {
  readonly file: string;
  readonly spec: OptimizerSpec;
  readonly plan: Plan;
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
