/**
 * Run a compiled spec for a few steps on a fixed batch and record the trajectory on the host.
 * This is the only place the testing module drives the engine: plan → compileWith(…, createEstimator)
 * → step(context, state), exactly as `train` does, with nothing about reparametrizations passed in.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef, Params } from '../model/types.js';
import { forward, predictiveMean } from '../model/index.js';
import { createEstimator } from '../curvature/index.js';
import { compileWith, type StepMetrics } from '../optim/compile.js';
import { createStepContext, type StepContext } from '../optim/context.js';
import type { Plan } from '../optim/plan.js';
import { fromParams, toBatch, toParams, disposeBatch, type HostBatch } from './cases.js';

export interface Trajectory {
  /** Evaluation parameters (the average when the plan averages) after each step; [0] is the start. */
  readonly params: readonly Float64Array[][];
  /** The iterates θₜ themselves (what the next step starts from; never averaged); [0] is the start. */
  readonly iterates: readonly Float64Array[][];
  /** Predictive means on the batch inputs at the iterates θₜ (not averaged), flattened [N·out]; [0] is the start.
   * Averaging is affine, so invariance of the iterates implies invariance of their averages. */
  readonly outputs: readonly Float64Array[];
  /** Predictive means at the evaluation parameters (the average when the plan averages). */
  readonly evaluationOutputs: readonly Float64Array[];
  readonly metrics: readonly StepMetrics[];
}

export interface RunOptions {
  readonly steps: number;
  readonly seed: number;
  /** Multiply loss and gradient (not the model's distribution) by c: the loss-scale context. */
  readonly contextLossScale?: number;
  /** Evaluate outputs with this model instead of `def` (same parameters, e.g. without a √c output layer). */
  readonly evalDef?: ModelDef;
}

/** A step context whose loss is c·L: loss, gradient and trial losses scale by c; the Fisher, defined
 * by the model's predictive distribution, does not (docs/theory.md §2, loss scaling). */
export function lossScaledContext(inner: StepContext, c: number): StepContext {
  let loss: tf.Scalar | undefined;
  let grad: Params | undefined;
  const gradient = (): Params => (grad ??= inner.gradient().map((t) => tf.mul(t, c)));
  return {
    ...inner,
    loss: () => (loss ??= tf.mul(inner.loss(), c) as tf.Scalar),
    gradient,
    lossAt: (p) => c * inner.lossAt(p),
    curvatureContext: () => ({ ...inner.curvatureContext(), gradient }),
    dispose: () => {
      if (loss) loss.dispose();
      if (grad) tf.dispose(grad as tf.Tensor[]);
      inner.dispose();
    },
  };
}

function outputsOf(def: ModelDef, params: Params, x: tf.Tensor2D): Float64Array {
  const fp = forward(def, params, x);
  // The function compared is the predictive distribution's mean (probabilities for categorical /
  // bernoulli): softmax logits have a null direction (a common shift) that changes no prediction.
  const mean = predictiveMean(def.likelihood, fp.output);
  const out = Float64Array.from(mean.dataSync());
  tf.dispose([mean, fp.output, ...fp.inputs, ...fp.denseInputs, ...fp.denseOutputs]);
  return out;
}

/** Run `plan` on `def` from θ₀ for `steps` steps on one fixed batch. Leaves no tensors behind. */
export function runTrajectory(plan: Plan, def: ModelDef, theta0: readonly Float64Array[], hostBatch: HostBatch, options: RunOptions): Trajectory {
  const opt = compileWith(plan, def, createEstimator);
  const batch = toBatch(hostBatch);
  const evalDef = options.evalDef ?? def;
  let params = toParams(def, theta0);
  let state = opt.init(params);
  const ps: Float64Array[][] = [theta0.map((a) => Float64Array.from(a))];
  const its: Float64Array[][] = [theta0.map((a) => Float64Array.from(a))];
  const outs: Float64Array[] = [outputsOf(evalDef, params, batch.x)];
  const evalOuts: Float64Array[] = [outs[0]!];
  const metrics: StepMetrics[] = [];
  try {
    for (let t = 0; t < options.steps; t++) {
      const base = createStepContext({ def, batch, params, seed: options.seed + t, step: t });
      const ctx = options.contextLossScale === undefined ? base : lossScaledContext(base, options.contextLossScale);
      let next: Params;
      try {
        const [p, s, m] = opt.step(ctx, state);
        next = p;
        state = s;
        metrics.push(m);
      } finally {
        ctx.dispose();
      }
      tf.dispose(params as tf.Tensor[]);
      params = next;
      const ev = opt.evaluationParams(params, state);
      ps.push(fromParams(ev));
      its.push(fromParams(params));
      outs.push(outputsOf(evalDef, params, batch.x));
      evalOuts.push(outputsOf(evalDef, ev, batch.x));
      tf.dispose(ev as tf.Tensor[]);
    }
  } finally {
    opt.dispose(state);
    tf.dispose(params as tf.Tensor[]);
    disposeBatch(batch);
  }
  return { params: ps, iterates: its, outputs: outs, evaluationOutputs: evalOuts, metrics };
}
