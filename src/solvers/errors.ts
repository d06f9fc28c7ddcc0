/**
 * Solver failures as values. Every solver either returns a finite answer or one of these, with a
 * message a researcher can act on; none returns NaN.
 */
export type SolverError =
  | { readonly _tag: 'InvalidInput'; readonly message: string }
  | { readonly _tag: 'NonFinite'; readonly message: string }
  | { readonly _tag: 'NotSymmetric'; readonly message: string; readonly asymmetry: number }
  | { readonly _tag: 'NotPositiveDefinite'; readonly message: string; readonly jitterTried: number }
  | { readonly _tag: 'NegativeEigenvalue'; readonly message: string; readonly eigenvalue: number }
  | { readonly _tag: 'Singular'; readonly message: string }
  | { readonly _tag: 'NoConvergence'; readonly message: string };

export const invalidInput = (message: string): SolverError => ({ _tag: 'InvalidInput', message });

/** Thrown by the solvers whose result is not an Either (Kronecker tensor paths); carries the value. */
export class SolverException extends Error {
  override readonly name = 'SolverException';
  constructor(readonly error: SolverError) {
    super(error.message);
  }
}

/** Index of the first non-finite entry, or -1. */
export const firstNonFinite = (xs: ArrayLike<number>): number => {
  for (let i = 0; i < xs.length; i++) if (!Number.isFinite(xs[i]!)) return i;
  return -1;
};

export const checkSquare = (name: string, A: ArrayLike<number>, n: number): SolverError | undefined => {
  if (!Number.isInteger(n) || n < 1) return invalidInput(`${name}: dimension must be a positive integer, got ${n}`);
  if (A.length !== n * n) return invalidInput(`${name}: expected ${n}×${n} = ${n * n} entries, got ${A.length}`);
  const bad = firstNonFinite(A);
  if (bad >= 0) {
    return {
      _tag: 'NonFinite',
      message: `${name}: entry (${Math.floor(bad / n)}, ${bad % n}) is ${A[bad]}; the matrix must be finite`,
    };
  }
  return undefined;
};
