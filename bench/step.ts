/**
 * Step-time benchmark (npm run bench:step). Everything in one process, on one backend:
 *   1. mnist-mlp (784-1000-500-250-30-10), batch 256: the compiled examples/adam.optim step vs
 *      tf.train.adam — (a) fed geodesic's gradients (`applyGradients`: the optimizer's own
 *      overhead) and (b) as a tfjs user runs it (`minimize` with tfjs autodiff).
 *   2. mnist-autoencoder (784-1000-500-250-30-250-500-1000-784), batch 1000: examples/kfac.optim vs
 *      examples/sgd.optim (PyTorch + kfac-pytorch: 2.4×, ../shared/reference/timings_torch.json).
 * Reports median and mean (amortized) milliseconds per step and the ratios.
 * Environment: BENCH_BACKEND (default auto), BENCH_STEPS (timed steps, default 20 / 40),
 * BENCH_WARMUP (default 3).
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpec } from '../src/language/files.js';
import { compile, createStepContext, plan, type Optimizer, type OptState } from '../src/optim/index.js';
import { loadProblem, type Problem } from '../src/problems/index.js';
import { disposeParams, initParams, lossAndGradient, forward, meanLoss } from '../src/model/index.js';
import type { Params } from '../src/model/types.js';
import { selectBackend, type BackendName } from '../src/backend/select.js';
import { makeSampler } from '../src/train/data.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const examples = (f: string) => path.join(root, 'examples', f);
const env = (k: string, d: number) => (process.env[k] === undefined ? d : Number(process.env[k]));

interface Timing {
  readonly median: number;
  readonly mean: number;
  readonly min: number;
  readonly n: number;
  readonly finalLoss: number;
}

const summarize = (ms: number[], finalLoss: number): Timing => {
  const s = [...ms].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { median: mid, mean: ms.reduce((a, b) => a + b, 0) / ms.length, min: s[0]!, n: ms.length, finalLoss };
};

function optimizerFrom(file: string, problem: Problem): Optimizer {
  const spec = loadSpec(examples(file));
  if (E.isLeft(spec)) throw new Error(spec.left);
  const o = spec.right.optimizers.find((x) => path.basename(x.span.file) === file)!;
  const p = plan(o);
  if (E.isLeft(p)) throw new Error(p.left.message);
  return compile(p.right, problem.def);
}

/** Time the compiled spec: context + step + disposal, batches prepared outside the timer. */
function timeSpec(opt: Optimizer, problem: Problem, batch: number, warmup: number, steps: number): Timing {
  const sample = makeSampler(problem.train, batch, 1);
  let params: Params = initParams(problem.def, 1);
  let state: OptState = opt.init(params);
  const ms: number[] = [];
  let loss = NaN;
  for (let t = 0; t < warmup + steps; t++) {
    const b = sample(t);
    const t0 = performance.now();
    const ctx = createStepContext({ def: problem.def, batch: b, params, seed: t, step: t });
    const [next, s, m] = opt.step(ctx, state);
    ctx.dispose();
    disposeParams(params);
    params = next;
    state = s;
    const dt = performance.now() - t0;
    tf.dispose([b.x, b.y]);
    loss = m.loss;
    if (t >= warmup) ms.push(dt);
  }
  opt.dispose(state);
  disposeParams(params);
  return summarize(ms, loss);
}

/** tf.train.adam fed geodesic's gradient (same gradient code as the spec; loss read back likewise). */
function timeTfApply(make: () => tf.Optimizer, problem: Problem, batch: number, warmup: number, steps: number): Timing {
  const sample = makeSampler(problem.train, batch, 1);
  const init = initParams(problem.def, 1);
  const vars = init.map((p, i) => tf.variable(p, true, `bench_apply_${i}`));
  const optimizer = make();
  const ms: number[] = [];
  let loss = NaN;
  for (let t = 0; t < warmup + steps; t++) {
    const b = sample(t);
    const t0 = performance.now();
    const lg = lossAndGradient(problem.def, vars, b);
    optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: lg.gradient[i]! })));
    loss = lg.loss.dataSync()[0]!;
    tf.dispose([lg.loss, ...lg.gradient, lg.forward.output, ...lg.forward.inputs, ...lg.forward.denseInputs, ...lg.forward.denseOutputs, ...lg.backward.grads, ...lg.backward.denseOutputGrads]);
    const dt = performance.now() - t0;
    tf.dispose([b.x, b.y]);
    if (t >= warmup) ms.push(dt);
  }
  optimizer.dispose();
  tf.dispose(vars);
  return summarize(ms, loss);
}

/** tf.train.adam as a tfjs user runs it: minimize() with tfjs autodiff, cost read back. */
function timeTfMinimize(make: () => tf.Optimizer, problem: Problem, batch: number, warmup: number, steps: number): Timing {
  const sample = makeSampler(problem.train, batch, 1);
  const init = initParams(problem.def, 1);
  const vars = init.map((p, i) => tf.variable(p, true, `bench_min_${i}`));
  const optimizer = make();
  const ms: number[] = [];
  let loss = NaN;
  for (let t = 0; t < warmup + steps; t++) {
    const b = sample(t);
    const t0 = performance.now();
    const cost = optimizer.minimize(() => meanLoss(problem.def.likelihood, forward(problem.def, vars, b.x).output, b.y), true, vars);
    loss = cost!.dataSync()[0]!;
    cost!.dispose();
    const dt = performance.now() - t0;
    tf.dispose([b.x, b.y]);
    if (t >= warmup) ms.push(dt);
  }
  optimizer.dispose();
  tf.dispose(vars);
  return summarize(ms, loss);
}

const row = (name: string, t: Timing) =>
  `  ${name.padEnd(44)} median ${t.median.toFixed(1).padStart(8)} ms   mean ${t.mean.toFixed(1).padStart(8)} ms   min ${t.min.toFixed(1).padStart(8)} ms   (${t.n} steps, last loss ${t.finalLoss.toFixed(4)})`;

async function load(name: string, trainSize: number): Promise<Problem> {
  const p = await loadProblem(name, { seed: 1, trainSize, testSize: 100 })();
  if (E.isLeft(p)) throw new Error(p.left.message);
  return p.right;
}

async function main(): Promise<void> {
  const backend = (process.env['BENCH_BACKEND'] ?? 'auto') as BackendName;
  const choice = await selectBackend(backend);
  const warmup = env('BENCH_WARMUP', 3);
  console.log(`backend: ${choice.name} (${choice.reason})`);

  const mlp = await load('mnist-mlp', 2560);
  const stepsMlp = env('BENCH_STEPS', 20);
  console.log(`\nmnist-mlp 784-1000-500-250-30-10, batch 256, ${warmup} warm-up + ${stepsMlp} timed steps`);
  const adamSpec = timeSpec(optimizerFrom('adam.optim', mlp), mlp, 256, warmup, stepsMlp);
  const adamApply = timeTfApply(() => tf.train.adam(1e-3), mlp, 256, warmup, stepsMlp);
  const adamMin = timeTfMinimize(() => tf.train.adam(1e-3), mlp, 256, warmup, stepsMlp);
  console.log(row('examples/adam.optim (compiled)', adamSpec));
  console.log(row('tf.train.adam.applyGradients (same gradients)', adamApply));
  console.log(row('tf.train.adam.minimize (tfjs autodiff)', adamMin));
  console.log(`  ratio spec / tf.train.adam (same gradients): ${(adamSpec.median / adamApply.median).toFixed(3)} (target ≤ 1.05)`);
  console.log(`  ratio spec / tf.train.adam.minimize:         ${(adamSpec.median / adamMin.median).toFixed(3)}`);

  const ae = await load('mnist-autoencoder', 4000);
  const stepsAe = env('BENCH_STEPS', 40);
  console.log(`\nmnist-autoencoder 784-1000-500-250-30-250-500-1000-784, batch 1000, ${warmup} warm-up + ${stepsAe} timed steps`);
  const sgd = timeSpec(optimizerFrom('sgd.optim', ae), ae, 1000, warmup, stepsAe);
  console.log(row('examples/sgd.optim', sgd));
  const kfac = timeSpec(optimizerFrom('kfac.optim', ae), ae, 1000, warmup, stepsAe);
  console.log(row('examples/kfac.optim (refresh every 20)', kfac));
  console.log(`  ratio kfac / sgd: median ${(kfac.median / sgd.median).toFixed(2)}×, amortized (mean) ${(kfac.mean / sgd.mean).toFixed(2)}×  (PyTorch + kfac-pytorch: 2.4×)`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exitCode = 1;
});
