/**
 * Diagonal and identity operators. The tfjs ops are chosen to match tfjs's built-in Adam,
 * RMSProp and Adagrad bit for bit: the solve is exactly `tf.div(v, tf.add(d, λ))`, the square
 * root `tf.sqrt(d)`.
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from '../vec.js';
import type { Params } from '../../model/types.js';
import { CurvatureError, type SolveOptions } from '../types.js';
import { checkLambda, chooseSolver, numParamsOf, report, type Op, type Shapes } from '../operator.js';
import * as V from '../vec.js';

const checkNotFactored = (description: string, options?: SolveOptions): void => {
  if (options?.damping === 'factored') throw new CurvatureError(`factored (π-corrected) damping needs Kronecker factors; ${description} has none`);
};

/** diag(d); takes ownership of `d`. `nonNegative` records that every entry is ≥ 0 by construction. */
export function diagOp(d: Params, description: string, nonNegative: boolean): Op {
  const shapes: Shapes = V.shapesOf(d);
  const n = numParamsOf(shapes);
  const op: Op = {
    structure: 'diag',
    shapes,
    description,
    numParams: n,
    mv: (v) => d.map((t, i) => tf.mul(t, v[i]!)),
    solve: (v, lambda, options) => {
      checkLambda(lambda);
      checkNotFactored(description, options);
      const solver = chooseSolver(description, ['cholesky', 'eigen'], options);
      const min = nonNegative && lambda > 0 ? 0 : minOf(d);
      if (!(min + lambda > 0)) {
        throw new CurvatureError(`${description} + λI is singular or indefinite (smallest diagonal entry ${min} with λ = ${lambda}); add damping`);
      }
      return { x: tidy(() => d.map((t, i) => tf.div(v[i]!, tf.add(t, lambda)))), report: report(solver) };
    },
    toDense: () => {
      const h = V.toHost(d);
      const m = new Float64Array(n * n);
      for (let i = 0; i < n; i++) m[i * n + i] = h[i]!;
      return m;
    },
    memory: () => n,
    flops: () => ({ mv: n, solve: 2 * n, refresh: 0 }),
    power: (p) => {
      if (p === 1) return diagOp(V.clone(d), description, nonNegative);
      if (!Number.isInteger(p) && !nonNegative) {
        const min = minOf(d);
        if (min < 0) throw new CurvatureError(`${description} has a negative diagonal entry (${min}); the fractional power ${p} is undefined`);
      }
      if (p < 0 && minAbsOf(d) === 0) throw new CurvatureError(`${description} has a zero diagonal entry; the power ${p} is undefined (add damping before the power)`);
      const powered = d.map((t) => (p === 0.5 ? tf.sqrt(t) : tf.pow(t, p)));
      return diagOp(powered, p === 0.5 ? `sqrt(${description})` : `(${description})^${p}`, nonNegative || p % 2 === 0);
    },
    dispose: () => V.dispose(d),
  };
  return op;
}

const minOf = (d: Params): number => {
  const t = tidy(() => tf.min(tf.stack(d.map((x) => tf.min(x)))));
  const m = t.dataSync()[0]!;
  t.dispose();
  return m;
};
const minAbsOf = (d: Params): number => {
  const t = tidy(() => tf.min(tf.stack(d.map((x) => tf.min(tf.abs(x))))));
  const m = t.dataSync()[0]!;
  t.dispose();
  return m;
};

/** s·I (s = 1: the identity). */
export function identityOp(shapes: Shapes, s = 1): Op {
  const n = numParamsOf(shapes);
  const description = s === 1 ? 'identity' : `${s}·identity`;
  return {
    structure: 'identity',
    shapes,
    description,
    numParams: n,
    mv: (v) => (s === 1 ? V.clone(v) : V.scale(v, s)),
    solve: (v, lambda, options) => {
      checkLambda(lambda);
      checkNotFactored(description, options);
      const solver = chooseSolver(description, ['cholesky', 'eigen', 'cg'], options);
      if (!(s + lambda > 0)) throw new CurvatureError(`${description} + λI is singular (λ = ${lambda})`);
      return { x: v.map((t) => tf.div(t, s + lambda)), report: report(solver) };
    },
    toDense: () => {
      const m = new Float64Array(n * n);
      for (let i = 0; i < n; i++) m[i * n + i] = s;
      return m;
    },
    memory: () => 0,
    flops: () => ({ mv: n, solve: n, refresh: 0 }),
    power: (p) => {
      if (s < 0 && !Number.isInteger(p)) throw new CurvatureError(`${description}: fractional power of a negative multiple of the identity`);
      return identityOp(shapes, s ** p);
    },
    dispose: () => undefined,
  };
}
