/**
 * The training loop: `train(optimizer, problem, options)` as a TaskEither. Seeded and reproducible
 * (batches from a seeded permutation per epoch, per-step seeds derived from the run seed), streams
 * per-step metrics to listeners and to an optional JSONL log, evaluates on held-out data every K
 * steps, stops cleanly on an AbortSignal, and frees every per-step tensor (flat tensor count).
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import type { Params } from '../model/types.js';
import { deriveSeed, initParams, disposeParams } from '../model/index.js';
import type { Optimizer, StepMetrics } from '../optim/compile.js';
import { createStepContext } from '../optim/context.js';
import { makeSampler, type TrainProblem } from './data.js';
import { evaluate, type Evaluation } from './evaluate.js';
import type { JsonlLog } from './jsonl.js';

export interface StepRecord extends StepMetrics {
  /** Milliseconds spent in this step (batch, step, bookkeeping). */
  readonly stepMs: number;
  /** Milliseconds since the run started. */
  readonly wallMs: number;
}

export interface EvalRecord extends Evaluation {
  readonly step: number;
  /** The end-of-run evaluation (also after an abort or a stop). */
  readonly final: boolean;
  readonly wallMs: number;
}

export interface TrainListener {
  onStep?(record: StepRecord): void;
  onEval?(record: EvalRecord): void;
  onWarning?(message: string): void;
}

export interface TrainOptions {
  readonly steps: number;
  readonly batchSize: number;
  readonly seed: number;
  /** Evaluate on the test set every K steps (0: only at the end). */
  readonly evalEvery?: number;
  readonly listeners?: readonly TrainListener[];
  readonly signal?: AbortSignal;
  /** Write a JSONL log here (one `run` header, then `step` and `eval` records, then `end`), opened by `openLog`. */
  readonly logPath?: string;
  /**
   * How to open `logPath` (the loop itself touches no file system, so it runs in a browser):
   * under Node, `openJsonl` from src/train/log.ts. Required when `logPath` is given.
   */
  readonly openLog?: (path: string) => JsonlLog;
  /** Start from these parameters (copied) instead of `initParams(def, seed)`. */
  readonly initialParams?: Params;
  /** Extra fields for the log header (backend, spec file, ...). */
  readonly logHeader?: Readonly<Record<string, unknown>>;
}

export interface RunResult {
  /** Parameters to report: the average when the spec averages, else the last iterate (owned by the caller). */
  readonly params: Params;
  /** The last accepted iterate (owned by the caller). */
  readonly lastParams: Params;
  readonly stepsRun: number;
  readonly losses: readonly number[];
  readonly evaluations: readonly EvalRecord[];
  readonly final: Evaluation;
  readonly aborted: boolean;
  readonly rejectedSteps: number;
  readonly wallMs: number;
  readonly warnings: readonly string[];
}

export type TrainError =
  | { readonly _tag: 'NonFinite'; readonly message: string; readonly result: RunResult }
  | { readonly _tag: 'InvalidOptions'; readonly message: string }
  | { readonly _tag: 'LogError'; readonly message: string }
  | { readonly _tag: 'Failed'; readonly message: string; readonly cause: unknown };

/** Let timers, I/O and messages (an AbortSignal, a worker's "stop") run between steps. */
const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => (immediate !== undefined ? immediate(resolve) : setTimeout(resolve, 0)));

export function train(optimizer: Optimizer, problem: TrainProblem, options: TrainOptions): TE.TaskEither<TrainError, RunResult> {
  return async (): Promise<E.Either<TrainError, RunResult>> => {
    const invalid = validate(problem, options);
    if (invalid !== undefined) return E.left({ _tag: 'InvalidOptions', message: invalid });
    let log: JsonlLog | undefined;
    if (options.logPath !== undefined) {
      if (options.openLog === undefined) return E.left({ _tag: 'LogError', message: `cannot write the log ${options.logPath}: no log writer given (openLog)` });
      try {
        log = options.openLog(options.logPath);
      } catch (err) {
        return E.left({ _tag: 'LogError', message: `cannot write the log ${options.logPath}: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    try {
      return await loop(optimizer, problem, options, log);
    } catch (err) {
      return E.left({ _tag: 'Failed', message: err instanceof Error ? err.message : String(err), cause: err });
    } finally {
      log?.close();
    }
  };
}

function validate(problem: TrainProblem, o: TrainOptions): string | undefined {
  if (!Number.isInteger(o.steps) || o.steps < 0) return `steps must be a non-negative integer, got ${o.steps}`;
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) return `batch size must be a positive integer, got ${o.batchSize}`;
  if (problem.train.n < 1) return `problem ${problem.name} has no training data`;
  if (problem.train.xDim !== problem.def.inputDim) return `data has ${problem.train.xDim} inputs but the model expects ${problem.def.inputDim}`;
  if (o.evalEvery !== undefined && (!Number.isInteger(o.evalEvery) || o.evalEvery < 0)) return `eval-every must be a non-negative integer, got ${o.evalEvery}`;
  return undefined;
}

async function loop(optimizer: Optimizer, problem: TrainProblem, options: TrainOptions, log: JsonlLog | undefined): Promise<E.Either<TrainError, RunResult>> {
  const listeners = options.listeners ?? [];
  const start = performance.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    log?.write({ type: 'warning', message: m });
    for (const l of listeners) l.onWarning?.(m);
  };
  const def = problem.def;
  const sample = makeSampler(problem.train, options.batchSize, options.seed);
  let params: Params = options.initialParams ? options.initialParams.map((p) => p.clone()) : initParams(def, options.seed);
  let state = optimizer.init(params);
  const losses: number[] = [];
  const evaluations: EvalRecord[] = [];
  let aborted = false;
  let rejected = 0;
  let stopped: StepMetrics | undefined;
  log?.write({
    type: 'run',
    optimizer: optimizer.plan.name,
    problem: problem.name,
    steps: options.steps,
    batch: options.batchSize,
    seed: options.seed,
    backend: tf.getBackend(),
    decisions: optimizer.plan.decisions,
    ...(options.logHeader ?? {}),
  });
  const doEval = (step: number) => {
    const evalParams = optimizer.evaluationParams(params, state);
    const e = evaluate(def, evalParams, problem.test.n > 0 ? problem.test : problem.train);
    disposeParams(evalParams);
    const rec: EvalRecord = { ...e, step, final: false, wallMs: performance.now() - start };
    evaluations.push(rec);
    log?.write({ type: 'eval', ...rec });
    for (const l of listeners) l.onEval?.(rec);
  };
  let t = 0;
  try {
    for (; t < options.steps; t++) {
      if (options.signal?.aborted) {
        aborted = true;
        break;
      }
      const t0 = performance.now();
      const batch = sample(t);
      const ctx = createStepContext({ def, batch, params, seed: deriveSeed(options.seed, 1_000_003 + t), step: t });
      let out: ReturnType<Optimizer['step']>;
      try {
        out = optimizer.step(ctx, state);
      } finally {
        ctx.dispose();
        tf.dispose([batch.x, batch.y]);
      }
      const [next, nextState, metrics] = out;
      disposeParams(params);
      params = next;
      state = nextState;
      const now = performance.now();
      const rec: StepRecord = { ...metrics, stepMs: now - t0, wallMs: now - start };
      losses.push(metrics.loss);
      if (!metrics.accepted) rejected++;
      log?.write({ type: 'step', ...rec });
      for (const l of listeners) l.onStep?.(rec);
      for (const w of metrics.warnings) warn(w);
      if (metrics.stop) {
        stopped = metrics;
        t++;
        break;
      }
      if (options.evalEvery && (t + 1) % options.evalEvery === 0 && t + 1 < options.steps) doEval(t + 1);
      await yieldToEventLoop();
    }
    if (options.signal?.aborted) aborted = true;
    const finalParams = optimizer.evaluationParams(params, state);
    const final = evaluate(def, finalParams, problem.test.n > 0 ? problem.test : problem.train);
    const finalRec: EvalRecord = { ...final, step: t, final: true, wallMs: performance.now() - start };
    evaluations.push(finalRec);
    log?.write({ type: 'eval', ...finalRec });
    for (const l of listeners) l.onEval?.(finalRec);
    const lastParams = params.map((p) => p.clone());
    const result: RunResult = {
      params: finalParams,
      lastParams,
      stepsRun: t,
      losses,
      evaluations,
      final,
      aborted,
      rejectedSteps: rejected,
      wallMs: performance.now() - start,
      warnings,
    };
    log?.write({ type: 'end', stepsRun: t, aborted, rejectedSteps: rejected, stopped: stopped !== undefined, wallMs: result.wallMs });
    if (stopped !== undefined) {
      const message = `stopped after ${stopped.failures} consecutive non-finite steps (max_failures ${optimizer.plan.maxFailures}) at step ${stopped.step}; the last good parameters are kept`;
      return E.left<TrainError, RunResult>({ _tag: 'NonFinite', message, result });
    }
    return E.right<TrainError, RunResult>(result);
  } finally {
    optimizer.dispose(state);
    disposeParams(params);
  }
}
