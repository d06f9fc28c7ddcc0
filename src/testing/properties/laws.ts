/**
 * solverLaws: the dense solvers of src/solvers on SPD K = BBᵀ + εI drawn by fast-check: (K + λI)x ≈ v
 * with normwise backward error ≤ 1e-10, and the solve is linear in v (docs/theory.md §5.6).
 */
import * as fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { solveDense } from '../../solvers/index.js';
import { arbSpdMatrix } from '../arbitraries/models.js';
import type { Mat } from '../linalg.js';
import type { PropertyWithMeasure } from './types.js';

export const BACKWARD_ERROR_TOLERANCE = 1e-10;

export interface SolverCase {
  readonly K: Mat;
  readonly v: readonly number[];
  readonly w: readonly number[];
  readonly lambda: number;
  readonly method: 'cholesky' | 'eigen';
}

export interface SolverMeasure {
  /** ‖(K + λI)x − v‖ / (‖K + λI‖‖x‖ + ‖v‖), worst over x(v), x(w), x(v + 2w). */
  readonly backwardError: number;
  /** ‖x(v + 2w) − x(v) − 2x(w)‖ / ‖x(v + 2w)‖. */
  readonly linearity: number;
  readonly error: string | undefined;
}

export const arbSolverCase = (n = 5): fc.Arbitrary<SolverCase> =>
  fc.record({
    K: arbSpdMatrix(n),
    v: fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: n, maxLength: n }),
    w: fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: n, maxLength: n }),
    lambda: fc.constantFrom(0, 1e-3, 1),
    method: fc.constantFrom('cholesky' as const, 'eigen' as const),
  });

const norm = (v: readonly number[]): number => Math.hypot(...v);

export function measureSolver(c: SolverCase): SolverMeasure {
  const n = c.K.length;
  const A = Float64Array.from(c.K.flat());
  const solveV = (b: readonly number[]) => solveDense(A, n, Float64Array.from(b), c.lambda, c.method);
  const rhs = [c.v, c.w, c.v.map((x, i) => x + 2 * c.w[i]!)];
  const xs: number[][] = [];
  for (const b of rhs) {
    const r = solveV(b);
    if (E.isLeft(r)) return { backwardError: Infinity, linearity: Infinity, error: r.left.message };
    xs.push([...r.right.x]);
  }
  const normK = Math.max(...c.K.map((row, i) => row.reduce((s, x, j) => s + Math.abs(x + (i === j ? c.lambda : 0)), 0)));
  const be = Math.max(
    ...rhs.map((b, k) => {
      const x = xs[k]!;
      const r = c.K.map((row, i) => row.reduce((s, a, j) => s + a * x[j]!, 0) + c.lambda * x[i]! - b[i]!);
      return norm(r) / (normK * norm(x) + norm(b) || 1);
    }),
  );
  const lin = norm(xs[2]!.map((x, i) => x - xs[0]![i]! - 2 * xs[1]![i]!)) / (norm(xs[2]!) || 1);
  return { backwardError: be, linearity: lin, error: undefined };
}

export function solverLaws(n = 5): PropertyWithMeasure<SolverCase, SolverMeasure> {
  const arbitrary = arbSolverCase(n);
  const passes = (m: SolverMeasure) => m.error === undefined && m.backwardError <= BACKWARD_ERROR_TOLERANCE && m.linearity <= 1e-8;
  return {
    arbitrary,
    property: fc.property(arbitrary, (c) => passes(measureSolver(c))),
    measure: measureSolver,
    passes,
    statistic: (m) => m.backwardError,
    statisticName: 'normwise backward error of (K + λI)x = v',
    describe: (c, m) => `solveDense(${c.method}, λ = ${c.lambda}) on a ${c.K.length}×${c.K.length} SPD K: backward error ${m.backwardError.toExponential(3)}, linearity ${m.linearity.toExponential(3)}${m.error ? `, error: ${m.error}` : ''}`,
  };
}
