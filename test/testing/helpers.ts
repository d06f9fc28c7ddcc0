/** Test helpers: hand-built OptimizerSpecs (independent of the language front end) → Plans. */
import * as E from 'fp-ts/lib/Either.js';
import type { ArgValue, Component, Curvature, OptimizerSpec, Span } from '../../src/language/spec.js';
import { plan, type Plan } from '../../src/optim/plan.js';

export const span: Span = { file: 'test', start: 0, end: 0, line: 1, column: 1 };
export const comp = (name: string, args: Record<string, ArgValue> = {}): Component => ({ name, args, span });
export const atom = (name: Curvature & { _tag: 'Atom' } extends { name: infer N } ? N : never, args: Record<string, ArgValue> = {}): Curvature => ({ _tag: 'Atom', name, args, span });
export const structure = (name: 'full' | 'block_diag' | 'diag' | 'kfac' | 'ekfac' | 'lowrank', of: Curvature, args: Record<string, ArgValue> = {}): Curvature => ({ _tag: 'Structure', name, of, args, span });

export function specOf(name: string, parts: Partial<OptimizerSpec>): OptimizerSpec {
  return {
    name,
    title: undefined,
    span,
    curvature: atom('identity'),
    estimate: comp('every', { n: 1 }),
    refresh: comp('every', { n: 1 }),
    damping: comp('none'),
    solver: comp('auto'),
    step: comp('lr', { eta: 0.1 }),
    momentum: comp('none'),
    averaging: comp('none'),
    gradient: [],
    onNonFinite: comp('reject', { max_failures: 10 }),
    ...parts,
  };
}

export function planOf(name: string, parts: Partial<OptimizerSpec>): Plan {
  const p = plan(specOf(name, parts));
  if (E.isLeft(p)) throw new Error(`plan failed: ${JSON.stringify(p.left)}`);
  return p.right;
}
