/**
 * The per-step context of a compiled optimizer: model, batch, parameters, seed and step, and the
 * expensive quantities — loss, gradient, forward pass, exact curvature products — computed once,
 * on first use (memoized). The context owns what it computes and frees it in `dispose()`.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch, ForwardPass, ModelDef, Params } from '../model/types.js';
import type { CurvatureContext } from '../curvature/types.js';
import { forward as modelForward, ggnVectorProduct, lossAndGradient } from '../model/index.js';
import { meanLoss } from '../model/likelihood.js';

export interface StepContextInput {
  readonly def: ModelDef;
  readonly batch: Batch;
  readonly params: Params;
  readonly seed: number;
  readonly step: number;
}

export interface StepContext extends StepContextInput {
  /** Mean loss at `params` (owned by the context). */
  loss(): tf.Scalar;
  /** Mean-loss gradient at `params` (owned by the context). */
  gradient(): Params;
  forward(): ForwardPass;
  /** Exact Gauss-Newton (= Fisher for our likelihoods) product G v on the batch; caller owns the result. */
  fisherProduct(v: Params): Params;
  /** Mean loss at other parameters on the same batch (one forward pass), as a host number. */
  lossAt(params: Params): number;
  /** The view the curvature engine needs. */
  curvatureContext(): CurvatureContext;
  /** How many forward(+backward) evaluations this context performed (for tests and benches). */
  counts(): { readonly lossAndGradient: number; readonly lossAt: number; readonly fisherProducts: number };
  dispose(): void;
}

export function createStepContext(input: StepContextInput): StepContext {
  let lg: ReturnType<typeof lossAndGradient> | undefined;
  let disposed = false;
  const counts = { lossAndGradient: 0, lossAt: 0, fisherProducts: 0 };
  const compute = () => {
    if (disposed) throw new Error('StepContext used after dispose()');
    if (lg === undefined) {
      lg = lossAndGradient(input.def, input.params, input.batch);
      counts.lossAndGradient++;
    }
    return lg;
  };
  const ctx: StepContext = {
    ...input,
    loss: () => compute().loss,
    gradient: () => compute().gradient,
    forward: () => compute().forward,
    fisherProduct: (v) => {
      counts.fisherProducts++;
      return ggnVectorProduct(input.def, input.params, compute().forward, v);
    },
    lossAt: (params) => {
      counts.lossAt++;
      const l = tf.tidy(() => {
        const fp = modelForward(input.def, params, input.batch.x);
        return meanLoss(input.def.likelihood, fp.output, input.batch.y);
      });
      const v = l.dataSync()[0]!;
      l.dispose();
      return v;
    },
    curvatureContext: () => ({
      def: input.def,
      params: input.params,
      batch: input.batch,
      forward: () => compute().forward,
      gradient: () => compute().gradient,
      // The gradient's own backward pass (per-example data-loss cotangents, not divided by N):
      // empirical-Fisher statistics reuse it instead of a second backward.
      backward: () => compute().backward,
      seed: input.seed,
      step: input.step,
    }),
    counts: () => ({ ...counts }),
    dispose: () => {
      if (lg !== undefined) {
        const { loss, gradient, forward, backward } = lg;
        // Guard: never free the caller's batch or parameters even if a pass aliases them.
        const foreign = new Set<tf.Tensor>([input.batch.x, input.batch.y, ...input.params]);
        const owned = [loss, ...gradient, forward.output, ...forward.inputs, ...forward.denseInputs, ...forward.denseOutputs, ...backward.grads, ...backward.denseOutputGrads];
        tf.dispose(owned.filter((t) => !foreign.has(t)));
        lg = undefined;
      }
      disposed = true;
    },
  };
  return ctx;
}
