/**
 * Our small vocabulary over fp-ts: a `Validation` collects every Diagnostic (applicative: independent
 * parts are all checked), while `E.chain` sequences phases that depend on earlier ones.
 */
import { sequenceS } from 'fp-ts/lib/Apply.js';
import * as E from 'fp-ts/lib/Either.js';
import * as RA from 'fp-ts/lib/ReadonlyArray.js';
import * as RNEA from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import type { Diagnostic } from './diagnostics.js';

export type Validation<A> = E.Either<RNEA.ReadonlyNonEmptyArray<Diagnostic>, A>;

export const applicative = E.getApplicativeValidation(RNEA.getSemigroup<Diagnostic>());

export const ok = <A>(a: A): Validation<A> => E.right(a);

export const fail = (d: Diagnostic): Validation<never> => E.left([d]);

/** Every item validated; all problems reported. */
export const all: <A>(vs: readonly Validation<A>[]) => Validation<readonly A[]> = RA.sequence(applicative);

/** A record of independent validations → one validation of the record. */
export const allOf = sequenceS(applicative);

/** Succeeds with `undefined` when `problems` is empty. */
export function report(problems: readonly Diagnostic[]): Validation<undefined> {
  return RA.isNonEmpty(problems) ? E.left(problems) : E.right(undefined);
}

/** The problems of a validation (empty if it succeeded). */
export const problemsOf = <A>(v: Validation<A>): readonly Diagnostic[] => (E.isLeft(v) ? v.left : []);

/** The value of a validation, or undefined. */
export const valueOf = <A>(v: Validation<A>): A | undefined => (E.isRight(v) ? v.right : undefined);
