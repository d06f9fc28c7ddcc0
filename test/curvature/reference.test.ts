/**
 * The curvature quantities of ../shared/reference/reference_classification.json (BackPACK,
 * curvlinops, nngeometry, kfac-pytorch; float64), reproduced by the engine (float32 tfjs):
 * matrices within 1e-4 of the largest reference entry, solves by their normwise backward error.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as C from '../../src/curvature/index.js';
import * as M from '../../src/model/index.js';
import { expectClose, matVec, noLeak } from './helpers.js';

const REF_DIR = '/work/shared/reference';
const problemJson = JSON.parse(fs.readFileSync(`${REF_DIR}/problem_small.json`, 'utf8'));
const ref = JSON.parse(fs.readFileSync(`${REF_DIR}/reference_classification.json`, 'utf8'));
const cls = ref.classification;
const lambda: number = ref.lambda;

const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));
/** Frobenius norm as the matrix-norm in ‖(K+λI)x − g‖ / (‖K+λI‖‖x‖ + ‖g‖). */
function backwardError(K: Float64Array, x: Float64Array, g: Float64Array, lam: number): number {
  const P = g.length;
  const Kl = Float64Array.from(K);
  for (let i = 0; i < P; i++) Kl[i * P + i] = Kl[i * P + i]! + lam;
  const r = matVec(Kl, x).map((v, i) => v - g[i]!);
  return norm(r) / (norm(Kl) * norm(x) + norm(g));
}

describe('reference_classification.json', () => {
  let def: M.ModelDef;
  let ctx: C.OwnedContext;
  let params: M.Params;
  let x: tf.Tensor2D;
  let y: tf.Tensor2D;
  const mat = (key: string) => M.matrixFromReference(def, cls[key]);
  const vec = (key: string) => M.vectorFromReference(def, cls[key]);

  beforeAll(async () => {
    await tf.setBackend('cpu');
    const p = M.referenceProblem(problemJson, 'categorical');
    def = p.def;
    params = M.fromFloat64(def, p.params);
    x = tf.tensor2d(p.x);
    y = tf.tensor2d(p.yOneHot);
    ctx = C.createContext(def, params, { x, y });
    ctx.forward();
    ctx.gradient();
  });

  it('gradient', () => {
    expectClose(M.toFloat64(ctx.gradient()), vec('grad'), 1e-4, 'grad');
  });

  it.each([
    ['fisher(exact)', (c: C.CurvatureContext) => C.fisherExact(c), 'ggn'],
    ['ggn', (c: C.CurvatureContext) => C.ggn(c), 'ggn'],
    ['empirical_fisher', (c: C.CurvatureContext) => C.empiricalFisher(c), 'ef'],
    ['hessian', (c: C.CurvatureContext) => C.hessian(c), 'hessian'],
    ['kfac separate', (c: C.CurvatureContext) => C.structured({ name: 'kfac', bias: 'separate' }, { name: 'fisher', sampled: 0 }, c), 'kfac_matrix_separate_bias'],
    ['kfac homogeneous', (c: C.CurvatureContext) => C.structured({ name: 'kfac', bias: 'homogeneous' }, { name: 'ggn' }, c), 'kfac_matrix_homogeneous'],
    ['kfac empirical separate', (c: C.CurvatureContext) => C.structured({ name: 'kfac', bias: 'separate' }, { name: 'empirical_fisher' }, c), 'kfac_empirical_matrix_separate_bias'],
    ['kfac empirical homogeneous', (c: C.CurvatureContext) => C.structured({ name: 'kfac', bias: 'homogeneous' }, { name: 'empirical_fisher' }, c), 'kfac_empirical_matrix_homogeneous'],
  ])('%s matrix', (_n, make, key) => {
    noLeak(() => {
      const op = make(ctx);
      expectClose(op.toDense(), mat(key), 1e-4, key);
      op.dispose();
    });
  });

  it('diagonal GGN', () => {
    noLeak(() => {
      const op = C.structured({ name: 'diag' }, { name: 'ggn' }, ctx);
      const D = op.toDense();
      const P = Math.sqrt(D.length);
      expectClose(Float64Array.from({ length: P }, (_, i) => D[i * P + i]!), vec('ggn_diag'), 1e-4, 'ggn_diag');
      op.dispose();
    });
  });

  it('per-layer K-FAC factors (exact and empirical G; A with and without the homogeneous coordinate)', () => {
    const sep = C.kfacFactors(ctx, { bias: 'separate', source: 'exact' });
    const hom = C.kfacFactors(ctx, { bias: 'homogeneous', source: 'exact' });
    const emp = C.kfacFactors(ctx, { bias: 'separate', source: 'empirical' });
    cls.kfac_layers.forEach((L: Record<string, number[][]>, l: number) => {
      expectClose(sep.layers[l]!.A, L['A']!.flat(), 1e-4, `A${l}`);
      expectClose(hom.layers[l]!.A, L['A_homogeneous']!.flat(), 1e-4, `Ahom${l}`);
      expectClose(sep.layers[l]!.G, L['G']!.flat(), 1e-4, `G${l}`);
      expectClose(emp.layers[l]!.G, L['G_empirical']!.flat(), 1e-4, `Gemp${l}`);
    });
  });

  it.each([
    ['natgrad_ggn', 'ggn', { name: 'full' }, { name: 'ggn' }, {}],
    ['natgrad_kfac_separate_bias', 'kfac_matrix_separate_bias', { name: 'kfac', bias: 'separate' }, { name: 'fisher', sampled: 0 }, {}],
    ['natgrad_kfac_homogeneous', 'kfac_matrix_homogeneous', { name: 'kfac', bias: 'homogeneous' }, { name: 'fisher', sampled: 0 }, {}],
    ['natgrad_kfac_empirical_homogeneous', 'kfac_empirical_matrix_homogeneous', { name: 'kfac', bias: 'homogeneous' }, { name: 'empirical_fisher' }, {}],
  ] as [string, string, C.StructureSpec, C.AtomSpec, C.SolveOptions][])('%s: backward error ≤ 1e-5 against the reference matrix', (key, matKey, s, atom, options) => {
    noLeak(() => {
      const op = C.structured(s, atom, ctx);
      const { x: sol } = op.solve(ctx.gradient(), lambda, options);
      const xs = M.toFloat64(sol);
      expect(backwardError(mat(matKey), xs, vec('grad'), lambda)).toBeLessThanOrEqual(1e-5);
      // and the forward error is what the condition number allows
      expectClose(xs, vec(key), 2e-2, key);
      tf.dispose([...sol]);
      op.dispose();
    });
  });

  it('natgrad_kfac_homogeneous_factored_damping_pi', () => {
    noLeak(() => {
      const op = C.structured({ name: 'kfac', bias: 'homogeneous' }, { name: 'fisher', sampled: 0 }, ctx);
      const { x: sol } = op.solve(ctx.gradient(), lambda, { damping: 'factored' });
      expectClose(M.toFloat64(sol), vec('natgrad_kfac_homogeneous_factored_damping_pi'), 2e-3, 'factored');
      tf.dispose([...sol]);
      op.dispose();
    });
  });
});
