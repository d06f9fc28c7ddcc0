/**
 * Building a CurvatureContext, and the per-example statistics (sample sets) every atom needs.
 *
 * Ownership: `ctx.forward()` and `ctx.gradient()` are memoized and owned by the context (callers
 * must not dispose them); a context made by `createContext` frees them in `dispose()`.
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from './vec.js';
import * as M from '../model/index.js';
import type { Batch, BackwardPass, ForwardPass, ModelDef, Params } from '../model/types.js';
import type { CurvatureContext } from './types.js';
import { CurvatureError } from './types.js';
import { paramShapes, type SampleSet, type VectorSet } from './samples.js';

export interface OwnedContext extends CurvatureContext {
  dispose(): void;
}

/** A context over (params, batch) that computes the forward pass and gradient once, on demand.
 * It does not take ownership of params or batch. */
export function createContext(def: ModelDef, params: Params, batch: Batch, options: { seed?: number; step?: number } = {}): OwnedContext {
  let fp: ForwardPass | undefined;
  let bp: BackwardPass | undefined;
  let grad: Params | undefined;
  const forward = (): ForwardPass => {
    if (!fp) fp = M.forward(def, params, batch.x);
    return fp;
  };
  const backward = (): BackwardPass => {
    if (!bp) {
      const f = forward();
      bp = tidy(() => M.backward(def, params, f, M.outputGradient(def.likelihood, f.output, batch.y)));
    }
    return bp;
  };
  return {
    def,
    params,
    batch,
    seed: options.seed ?? 0,
    step: options.step ?? 0,
    forward,
    backward,
    gradient: () => {
      if (!grad) {
        const n = batch.x.shape[0];
        const b = backward();
        grad = tidy(() => b.grads.map((g) => tf.div(g, n)));
      }
      return grad;
    },
    dispose: () => {
      if (fp) M.disposeForward(fp);
      if (bp) M.disposeBackward(bp);
      if (grad) tf.dispose(grad as tf.Tensor[]);
      fp = undefined;
      bp = undefined;
      grad = undefined;
    },
  };
}

/** Deterministic stream seeds derived from a context seed. */
export const streamSeed = (seed: number, stream: number): number => (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;

/** Per-example pre-activation gradients for output cotangents u [N, out]: the model's cotangent-only backward. */
const preActivationGrads = (ctx: CurvatureContext, u: tf.Tensor2D): tf.Tensor2D[] => M.preActivationGradients(ctx.def, ctx.params, ctx.forward(), u);

const stackColumns = (cols: tf.Tensor2D[][]): tf.Tensor3D[] =>
  cols[0]!.map((_, l) => tidy(() => tf.stack(cols.map((c) => c[l]!)) as tf.Tensor3D));

const denseInputs = (ctx: CurvatureContext): tf.Tensor2D[] => ctx.forward().denseInputs.map((a) => tf.clone(a));

/** The dense layers' paramMaps, when any (sample sets then give curvature in trainable coordinates). */
const mapsOf = (def: ModelDef): { maps?: ReturnType<typeof M.denseParamMaps> } => (M.hasParamMaps(def) ? { maps: M.denseParamMaps(def) } : {});

const checkHasDense = (def: ModelDef): void => {
  if (!def.layers.some((l) => l.kind === 'dense')) throw new CurvatureError('the model has no dense layer, so no parameters to compute curvature for');
};

/** Exact Fisher = GGN: columns s = J_zᵀ S[:, c] with S Sᵀ = Hₙ, weight 1/N. */
export function fisherExactSamples(ctx: CurvatureContext): SampleSet {
  checkHasDense(ctx.def);
  const fp = ctx.forward();
  const n = fp.output.shape[0];
  const S = M.outputHessianSqrt(ctx.def.likelihood, fp.output); // [N, out, C]
  const C = S.shape[2];
  const cols: tf.Tensor2D[][] = [];
  for (let c = 0; c < C; c++) {
    const u = tidy(() => tf.squeeze(tf.slice(S, [0, 0, c], [-1, -1, 1]), [2]) as tf.Tensor2D);
    cols.push(preActivationGrads(ctx, u));
    u.dispose();
  }
  S.dispose();
  const g = stackColumns(cols);
  cols.forEach((c) => tf.dispose(c));
  return { kind: 'samples', a: denseInputs(ctx), g, weight: 1 / n, centered: false, shapes: paramShapes(ctx.def), ...mapsOf(ctx.def) };
}

/** Monte-Carlo Fisher: k label draws y ~ p(·|x) from the context seed, weight 1/(kN). */
export function fisherSampledSamples(ctx: CurvatureContext, k: number): SampleSet {
  checkHasDense(ctx.def);
  if (!Number.isInteger(k) || k < 1) throw new CurvatureError(`fisher(sampled: k) needs a positive integer k, got ${k}`);
  const fp = ctx.forward();
  const n = fp.output.shape[0];
  const cols: tf.Tensor2D[][] = [];
  for (let i = 0; i < k; i++) {
    const u = tidy(() => {
      const y = M.sampleTargets(ctx.def.likelihood, fp.output, streamSeed(ctx.seed, i));
      return M.outputGradient(ctx.def.likelihood, fp.output, y);
    });
    cols.push(preActivationGrads(ctx, u));
    u.dispose();
  }
  const g = stackColumns(cols);
  cols.forEach((c) => tf.dispose(c));
  return { kind: 'samples', a: denseInputs(ctx), g, weight: 1 / (k * n), centered: false, shapes: paramShapes(ctx.def), ...mapsOf(ctx.def) };
}

/** Empirical Fisher (data labels), weight 1/N; `centered` gives TONGA's gradient covariance. */
export function empiricalSamples(ctx: CurvatureContext, centered = false): SampleSet {
  checkHasDense(ctx.def);
  const fp = ctx.forward();
  const n = fp.output.shape[0];
  // The data loss's backward pass already holds these cotangents: reuse it when the context has one.
  const g = ctx.backward
    ? ctx.backward().denseOutputGrads.map((t) => tidy(() => tf.expandDims(t, 0) as tf.Tensor3D))
    : dataLabelPreActivationGrads(ctx, fp);
  return { kind: 'samples', a: denseInputs(ctx), g, weight: 1 / n, centered, shapes: paramShapes(ctx.def), ...mapsOf(ctx.def) };
}

/** Without a shared backward pass: a cotangent-only backward of the data labels' output gradients. */
function dataLabelPreActivationGrads(ctx: CurvatureContext, fp: ForwardPass): tf.Tensor3D[] {
  const u = M.outputGradient(ctx.def.likelihood, fp.output, ctx.batch.y);
  const gs = preActivationGrads(ctx, u);
  u.dispose();
  const g = gs.map((t) => tidy(() => tf.expandDims(t, 0) as tf.Tensor3D));
  tf.dispose(gs);
  return g;
}

/** outer(gradient): the batch gradient's outer product g gᵀ. */
export function gradientOuter(ctx: CurvatureContext): VectorSet {
  const g = ctx.gradient().map((t) => tf.clone(t));
  return { kind: 'vectors', vectors: [g], weight: 1, shapes: paramShapes(ctx.def) };
}
