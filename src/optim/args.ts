/**
 * Reading the resolved arguments of a checked `Component`. The checker has already filled in
 * defaults and validated types, so a missing or mistyped argument here is a contract violation
 * between `language` and `optim`: it becomes a located `PlanError`, never a silent default.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { ArgValue, Component, Span } from '../language/spec.js';

export interface PlanError {
  readonly _tag: 'PlanError';
  readonly message: string;
  readonly span: Span | undefined;
}

export const planError = (message: string, span?: Span): PlanError => ({ _tag: 'PlanError', message, span });

/** The first of `names` present in the component's arguments (argument names are the registry's). */
export function argOf(c: Component, names: readonly string[]): ArgValue | undefined {
  for (const n of names) {
    const v = c.args[n];
    if (v !== undefined) return v;
  }
  return undefined;
}

export function numArg(c: Component, names: readonly string[], fallback?: number): E.Either<PlanError, number> {
  const v = argOf(c, names);
  if (v === undefined && fallback !== undefined) return E.right(fallback);
  if (typeof v === 'number' && Number.isFinite(v)) return E.right(v);
  return E.left(
    planError(
      `${c.name}: expected a number for argument '${names[0]}', got ${v === undefined ? 'nothing' : JSON.stringify(v)}`,
      c.span,
    ),
  );
}

export function boolArg(c: Component, names: readonly string[], fallback: boolean): E.Either<PlanError, boolean> {
  const v = argOf(c, names);
  if (v === undefined) return E.right(fallback);
  if (typeof v === 'boolean') return E.right(v);
  return E.left(planError(`${c.name}: expected true or false for argument '${names[0]}', got ${JSON.stringify(v)}`, c.span));
}

export const isComponent = (v: ArgValue | undefined): v is Component =>
  typeof v === 'object' && v !== null && typeof (v as Component).name === 'string';
