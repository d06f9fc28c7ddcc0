/** Shared test fixtures for optim/train tests: hand-built specs, a tiny model and data. */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import type { ArgValue, Component, Curvature, OptimizerSpec, Span } from '../../src/language/spec.js';
import type { Batch, ModelDef, Params } from '../../src/model/types.js';
import { plan, type Plan } from '../../src/optim/plan.js';
import { makeRng } from '../../src/model/index.js';

export const span: Span = { file: 'test.optim', start: 0, end: 0, line: 1, column: 1 };

export const comp = (name: string, args: Record<string, ArgValue> = {}): Component => ({ name, args, span });

export const atom = (name: string, args: Record<string, ArgValue> = {}): Curvature => ({ _tag: 'Atom', name: name as never, args, span });

export function makeSpec(overrides: Partial<OptimizerSpec> = {}): OptimizerSpec {
  return {
    name: 'test',
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
    ...overrides,
  };
}

export function planOf(spec: OptimizerSpec): Plan {
  const p = plan(spec);
  if (E.isLeft(p)) throw new Error(p.left.message);
  return p.right;
}

/** 5 → 8 (tanh) → 3 categorical classifier. */
export const smallDef: ModelDef = {
  inputDim: 5,
  layers: [
    { kind: 'dense', inDim: 5, outDim: 8 },
    { kind: 'activation', fn: 'tanh' },
    { kind: 'dense', inDim: 8, outDim: 3 },
  ],
  likelihood: 'categorical',
};

/** Deterministic data for `smallDef`: N inputs ~ N(0,1), labels from a fixed rule. */
export function smallBatch(n: number, seed = 1): Batch {
  const rng = makeRng(seed);
  const x = new Float32Array(n * 5);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const s = x[i * 5]! + 0.5 * x[i * 5 + 1]! - x[i * 5 + 2]!;
    y[i * 3 + (s > 0.5 ? 0 : s < -0.5 ? 1 : 2)] = 1;
  }
  return { x: tf.tensor2d(x, [n, 5]), y: tf.tensor2d(y, [n, 3]) };
}

export async function host(p: Params): Promise<Float32Array[]> {
  return Promise.all(p.map(async (t) => (await t.data()) as Float32Array));
}

/** max |a − b| / max(|b|, 1e-6) over all entries. */
export function maxRelDiff(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((ai, k) => {
    const bi = b[k]!;
    for (let i = 0; i < ai.length; i++) {
      const d = Math.abs(ai[i]! - bi[i]!) / Math.max(Math.abs(bi[i]!), 1e-6);
      if (d > worst) worst = d;
    }
  });
  return worst;
}

export const bitIdentical = (a: Float32Array[], b: Float32Array[]): boolean =>
  a.every((ai, k) => ai.length === b[k]!.length && ai.every((v, i) => Object.is(v, b[k]![i])));
