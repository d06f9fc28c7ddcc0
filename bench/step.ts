/**
 * Step-time benchmark (part of `npm run bench`; alone: `npm run bench:step [-- options]`).
 *
 * Models, as the PyTorch peer timed them (../shared/reference/timings_torch*.json):
 *   classifier   784-1000-500-250-30, tanh hidden units, softmax cross-entropy over 30 classes
 *   autoencoder  784-1000-500-250-30-250-500-1000-784 (linear code layer, Bernoulli outputs)
 * at batch 256 and 1000, on synthetic MNIST-shaped data (x ~ U[0,1)^784, labels uniform in
 * {0..29}, autoencoder targets = inputs; the reference used synthetic data too).
 *
 * Per model and batch: forward+backward (lossAndGradient), and one full step of the compiled
 * optimizers of bench/specs/bench.optim (src/optim compile + createStepContext, the code
 * `geodesic train` runs): sgd, adam, kfac_pytorch (kfac-pytorch's configuration: empirical-Fisher
 * factors every step, ema 0.95, inverses of the factored-damped factors every 10 steps, lr, heavy
 * ball 0.9) and, unless --quick, kfac_sampled. Each step is timed on its own (context + step +
 * disposal, data prepared outside the timer). K-FAC: the mean over a whole number of refresh
 * periods (= amortized cost, kfac-pytorch's `mean_ms_amortized`), the median, and min / median of
 * the steps without a refresh. Then the compiled adam vs tf.train.adam overhead (classifier, 256).
 *
 * Options: --quick (fewer steps, no kfac_sampled), --backend=auto|native|wasm|cpu (default
 * native, falling back to auto), --models=classifier,autoencoder --batches=256,1000
 * --what=fwd_bwd,sgd,adam,kfac_pytorch,kfac_sampled --no-overhead --out=FILE.
 * Environment: GEODESIC_BENCH_QUICK=1 (= --quick), BENCH_BACKEND, BENCH_STEPS (timed steps of
 * fwd_bwd/sgd/adam), BENCH_KFAC_PERIODS (timed refresh periods of K-FAC).
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpec } from '../src/language/files.js';
import { compile, createStepContext, plan, type Optimizer, type OptState } from '../src/optim/index.js';
import { disposeParams, initParams, lossAndGradient, forward, meanLoss } from '../src/model/index.js';
import type { Batch, ModelDef, Params } from '../src/model/types.js';
import { mlpDef, mnistAutoencoderDef } from '../src/problems/registry.js';
import { selectBackend, type BackendChoice, type BackendName } from '../src/backend/select.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = [path.resolve(here, '..'), path.resolve(here, '../..'), path.resolve(here, '../../..')].find((d) => fs.existsSync(path.join(d, 'package.json')))!;
const referenceDir = process.env['GEODESIC_REFERENCE_DIR'] ?? path.resolve(repoRoot, '../shared/reference');

const argv = process.argv.slice(2);
const opt = (k: string): string | undefined => argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
const flag = (k: string): boolean => argv.includes(`--${k}`);
const quick = flag('quick') || process.env['GEODESIC_BENCH_QUICK'] === '1';
const list = (k: string, d: string[]): string[] => opt(k)?.split(',').filter((s) => s !== '') ?? d;
const envNum = (k: string, d: number) => (process.env[k] === undefined ? d : Number(process.env[k]));

// ------------------------------------------------------------------ models and data
type ModelName = 'classifier' | 'autoencoder';
const MODELS: Record<ModelName, ModelDef> = {
  classifier: mlpDef([784, 1000, 500, 250, 30], ['tanh', 'tanh', 'tanh', null], 'categorical'),
  autoencoder: mnistAutoencoderDef,
};
const MODEL_TEXT: Record<ModelName, string> = {
  classifier: '784-1000-500-250-30 tanh, softmax CE (30 classes)',
  autoencoder: '784-1000-500-250-30-250-500-1000-784, Bernoulli (summed over pixels)',
};

/** A few fixed synthetic batches of MNIST shape, reused cyclically. */
function syntheticBatches(model: ModelName, n: number, count: number): Batch[] {
  return Array.from({ length: count }, (_, i) =>
    tf.tidy(() => {
      const x = tf.randomUniform([n, 784], 0, 1, 'float32', 1000 + i) as tf.Tensor2D;
      const y = model === 'autoencoder' ? x.clone() : (tf.oneHot(tf.randomUniformInt([n], 0, 30, 2000 + i) as tf.Tensor1D, 30).toFloat() as tf.Tensor2D);
      return { x, y };
    }),
  );
}

function optimizerNamed(name: string, def: ModelDef): Optimizer {
  const spec = loadSpec(path.join(repoRoot, 'bench', 'specs', 'bench.optim'));
  if (E.isLeft(spec)) throw new Error(spec.left);
  const o = spec.right.optimizers.find((x) => x.name === name);
  if (o === undefined) throw new Error(`bench/specs/bench.optim has no optimizer ${name}`);
  const p = plan(o);
  if (E.isLeft(p)) throw new Error(p.left.message);
  return compile(p.right, def);
}

// ------------------------------------------------------------------ timing
const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const load1 = () => os.loadavg()[0]!;

interface Timing {
  readonly medianMs: number;
  /** Mean over the timed steps (for K-FAC: a whole number of refresh periods = amortized cost). */
  readonly meanMs: number;
  readonly minMs: number;
  /** Process CPU time (all threads) per timed step: does not count time spent descheduled. */
  readonly cpuMs: number;
  readonly steps: number;
  readonly warmup: number;
  readonly finalLoss: number;
  readonly rejected: number;
  readonly withoutRefresh?: { readonly medianMs: number; readonly minMs: number; readonly steps: number };
  readonly withRefresh?: { readonly medianMs: number; readonly steps: number };
  readonly loadBefore: number;
  readonly loadAfter: number;
}

function timed(warmup: number, steps: number, body: (t: number) => { loss: number; accepted: boolean }, refreshAt?: (t: number) => boolean): Timing {
  const loadBefore = load1();
  const ms: number[] = [];
  const refreshMs: number[] = [];
  const plainMs: number[] = [];
  let loss = NaN;
  let rejected = 0;
  let cpu = 0;
  for (let t = 0; t < warmup + steps; t++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = body(t);
    const dt = performance.now() - t0;
    const c = process.cpuUsage(c0);
    loss = r.loss;
    if (t < warmup) continue;
    cpu += (c.user + c.system) / 1000;
    ms.push(dt);
    if (!r.accepted) rejected++;
    if (refreshAt !== undefined) (refreshAt(t) ? refreshMs : plainMs).push(dt);
  }
  return {
    medianMs: median(ms),
    meanMs: mean(ms),
    minMs: Math.min(...ms),
    cpuMs: cpu / ms.length,
    steps: ms.length,
    warmup,
    finalLoss: loss,
    rejected,
    ...(refreshAt !== undefined
      ? { withoutRefresh: { medianMs: median(plainMs), minMs: Math.min(...plainMs), steps: plainMs.length }, withRefresh: { medianMs: median(refreshMs), steps: refreshMs.length } }
      : {}),
    loadBefore,
    loadAfter: load1(),
  };
}

function disposeLg(lg: ReturnType<typeof lossAndGradient>): void {
  tf.dispose([lg.loss, ...lg.gradient, lg.forward.output, ...lg.forward.inputs, ...lg.forward.denseInputs, ...lg.forward.denseOutputs, ...lg.backward.grads, ...lg.backward.denseOutputGrads]);
}

/** zero_grad + forward + loss + backward: lossAndGradient, the loss read back (completion). */
function timeFwdBwd(def: ModelDef, batches: Batch[], warmup: number, steps: number): Timing {
  const params = initParams(def, 1);
  const r = timed(warmup, steps, (t) => {
    const lg = lossAndGradient(def, params, batches[t % batches.length]!);
    const loss = lg.loss.dataSync()[0]!;
    disposeLg(lg);
    return { loss, accepted: true };
  });
  disposeParams(params);
  return r;
}

/** The compiled spec: context + step + disposal per step. */
function timeSpec(o: Optimizer, def: ModelDef, batches: Batch[], warmup: number, steps: number): Timing {
  let params: Params = initParams(def, 1);
  let state: OptState = o.init(params);
  const refreshEvery = o.plan.preconditioned ? o.plan.refreshEvery : 0;
  const r = timed(
    warmup,
    steps,
    (t) => {
      const ctx = createStepContext({ def, batch: batches[t % batches.length]!, params, seed: t, step: t });
      const [next, s, m] = o.step(ctx, state);
      ctx.dispose();
      disposeParams(params);
      params = next;
      state = s;
      return { loss: m.loss, accepted: m.accepted };
    },
    refreshEvery > 1 ? (t) => t % refreshEvery === 0 : undefined,
  );
  o.dispose(state);
  disposeParams(params);
  return r;
}

/** tf.train.adam fed geodesic's gradient (same gradient code as the spec; loss read back likewise). */
function timeTfApply(def: ModelDef, batches: Batch[], warmup: number, steps: number): Timing {
  const init = initParams(def, 1);
  const vars = init.map((p, i) => tf.variable(p, true, `bench_apply_${i}`));
  disposeParams(init);
  const optimizer = tf.train.adam(1e-3);
  const r = timed(warmup, steps, (t) => {
    const lg = lossAndGradient(def, vars, batches[t % batches.length]!);
    optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: lg.gradient[i]! })));
    const loss = lg.loss.dataSync()[0]!;
    disposeLg(lg);
    return { loss, accepted: true };
  });
  optimizer.dispose();
  tf.dispose(vars);
  return r;
}

/** tf.train.adam as a tfjs user runs it: minimize() with tfjs autodiff, cost read back. */
function timeTfMinimize(def: ModelDef, batches: Batch[], warmup: number, steps: number): Timing {
  const init = initParams(def, 1);
  const vars = init.map((p, i) => tf.variable(p, true, `bench_min_${i}`));
  disposeParams(init);
  const optimizer = tf.train.adam(1e-3);
  const r = timed(warmup, steps, (t) => {
    const b = batches[t % batches.length]!;
    const cost = optimizer.minimize(() => meanLoss(def.likelihood, forward(def, vars, b.x).output, b.y), true, vars)!;
    const loss = cost.dataSync()[0]!;
    cost.dispose();
    return { loss, accepted: true };
  });
  optimizer.dispose();
  tf.dispose(vars);
  return r;
}

// ------------------------------------------------------------------ PyTorch reference
interface TorchTiming { median_ms: number; mean_ms_amortized: number; min_ms: number; median_ms_without_inverse_update?: number; median_ms_with_inverse_update?: number }
/**
 * skylakex / haswell: the reference's figures (another 2-core machine, ../shared/reference);
 * here: PyTorch re-timed on THIS machine by bench/peers/time_torch.py (bench/results/torch-here.json,
 * or the file GEODESIC_TORCH_HERE names), the like-for-like baseline when present.
 */
const TORCH_FILES = {
  skylakex: path.join(referenceDir, 'timings_torch_skylakex.json'),
  haswell: path.join(referenceDir, 'timings_torch.json'),
  here: process.env['GEODESIC_TORCH_HERE'] ?? path.join(repoRoot, 'bench', 'results', 'torch-here.json'),
} as const;
export type TorchFlavour = keyof typeof TORCH_FILES;
const FLAVOURS = Object.keys(TORCH_FILES) as TorchFlavour[];
const FLAVOUR_LABEL: Record<TorchFlavour, string> = { here: 'torch here', skylakex: 'torch SKX', haswell: 'HSW' };
const torchCache = new Map<string, unknown>();
function torch(flavour: TorchFlavour, model: ModelName, batch: number, key: string): TorchTiming | null {
  const file = TORCH_FILES[flavour];
  try {
    if (!torchCache.has(file)) torchCache.set(file, JSON.parse(fs.readFileSync(file, 'utf8')));
    const j = torchCache.get(file) as { runs: Record<string, Record<string, Record<string, TorchTiming>>> };
    return j.runs['torch_threads_1']![`${model}_batch${batch}`]![key] ?? null;
  } catch {
    return null;
  }
}
/** The same-machine PyTorch file's environment block (machine, versions, date), if present. */
export function torchHereEnvironment(): Record<string, unknown> | null {
  try {
    return (JSON.parse(fs.readFileSync(TORCH_FILES.here, 'utf8')) as { environment: Record<string, unknown> }).environment;
  } catch {
    return null;
  }
}
/** Which torch column a row is compared with: K-FAC with factored damping = kfac-pytorch INVERSE. */
const TORCH_KEY: Record<string, string> = { fwd_bwd: 'fwd_bwd_only', sgd: 'sgd', adam: 'adam', kfac_pytorch: 'kfac_inverse', kfac_sampled: 'kfac_inverse' };

// ------------------------------------------------------------------ report
export interface StepRow {
  readonly model: ModelName;
  readonly batch: number;
  readonly what: string;
  readonly backend: string;
  readonly timing: Timing;
  readonly torch: Record<TorchFlavour, TorchTiming | null>;
  /** ours / torch: median vs median (fwd_bwd, sgd, adam); for K-FAC amortized mean vs mean_ms_amortized. */
  readonly ratio: Record<TorchFlavour, number | null>;
  /** K-FAC only: median of non-refresh steps vs torch's median_ms_without_inverse_update. */
  readonly ratioWithoutRefresh?: Record<TorchFlavour, number | null>;
}

const f1 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(1));
const f2 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2));
const isKfac = (w: string) => w.startsWith('kfac');

function makeRow(model: ModelName, batch: number, what: string, backend: string, t: Timing): StepRow {
  const key = TORCH_KEY[what]!;
  const tk = Object.fromEntries(FLAVOURS.map((fl) => [fl, torch(fl, model, batch, key)])) as Record<TorchFlavour, TorchTiming | null>;
  const ours = isKfac(what) ? t.meanMs : t.medianMs;
  const ratio = (fl: TorchFlavour) => (tk[fl] ? ours / (isKfac(what) ? tk[fl]!.mean_ms_amortized : tk[fl]!.median_ms) : null);
  const row: StepRow = {
    model, batch, what, backend, timing: t, torch: tk,
    ratio: Object.fromEntries(FLAVOURS.map((fl) => [fl, ratio(fl)])) as Record<TorchFlavour, number | null>,
    ...(isKfac(what) && t.withoutRefresh
      ? { ratioWithoutRefresh: Object.fromEntries(FLAVOURS.map((fl) => [fl, tk[fl]?.median_ms_without_inverse_update ? t.withoutRefresh!.medianMs / tk[fl]!.median_ms_without_inverse_update! : null])) as Record<TorchFlavour, number | null> }
      : {}),
  };
  return row;
}

function printRow(r: StepRow): void {
  const t = r.timing;
  const k = isKfac(r.what);
  const ours = k ? t.meanMs : t.medianMs;
  const tv = (x: TorchTiming | null) => (x === null ? null : k ? x.mean_ms_amortized : x.median_ms);
  const cols = FLAVOURS.filter((fl) => r.torch[fl] !== null).map((fl) => `${FLAVOUR_LABEL[fl]} ${f1(tv(r.torch[fl]))} ×${f2(r.ratio[fl])}`);
  console.log(
    `  ${r.what.padEnd(13)} ${(k ? 'amortized' : 'median').padEnd(9)} ${f1(ours).padStart(7)} ms  (median ${f1(t.medianMs)}, min ${f1(t.minMs)}, cpu ${f1(t.cpuMs)}, ${t.steps} steps${t.rejected ? `, ${t.rejected} rejected` : ''}, load ${t.loadBefore.toFixed(1)}→${t.loadAfter.toFixed(1)})   ` +
      cols.join('   '),
  );
  if (k && t.withoutRefresh && t.withRefresh) {
    const c = FLAVOURS.filter((fl) => r.torch[fl] !== null).map(
      (fl) => `${FLAVOUR_LABEL[fl]} ${f1(r.torch[fl]?.median_ms_without_inverse_update)} / ${f1(r.torch[fl]?.median_ms_with_inverse_update)} ×${f2(r.ratioWithoutRefresh?.[fl])}`,
    );
    console.log(
      `  ${''.padEnd(13)} no-refresh median ${f1(t.withoutRefresh.medianMs)} ms (min ${f1(t.withoutRefresh.minMs)}, ${t.withoutRefresh.steps} steps); refresh steps median ${f1(t.withRefresh.medianMs)} ms (${t.withRefresh.steps})   ` + c.join('   '),
    );
  }
}

async function chooseBackend(): Promise<BackendChoice> {
  const wanted = (opt('backend') ?? process.env['BENCH_BACKEND'] ?? 'native') as BackendName;
  try {
    return await selectBackend(wanted);
  } catch (err) {
    if (wanted !== 'native') throw err;
    const c = await selectBackend('auto');
    return { name: c.name, reason: `native unavailable (${err instanceof Error ? err.message : String(err)}); ${c.reason}` };
  }
}

async function main(): Promise<void> {
  const choice = await chooseBackend();
  const loadAtStart = os.loadavg();
  const cpus = os.cpus();
  const machine = {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    tfjs: tf.version.tfjs,
    backend: choice.name,
    backendReason: choice.reason,
    loadAverageBefore: loadAtStart,
    date: new Date().toISOString(),
  };
  console.log(`machine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, load ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`backend: ${choice.name} (${choice.reason})`);
  console.log(`data: synthetic, MNIST-shaped (x ~ U[0,1)^784, 30 uniform labels / targets = x), as the PyTorch reference${quick ? '; --quick' : ''}`);

  const models = list('models', ['classifier', 'autoencoder']) as ModelName[];
  const batchSizes = list('batches', ['256', '1000']).map(Number);
  const what = list('what', quick ? ['fwd_bwd', 'sgd', 'adam', 'kfac_pytorch'] : ['fwd_bwd', 'sgd', 'adam', 'kfac_pytorch', 'kfac_sampled']);
  const steps = envNum('BENCH_STEPS', quick ? 8 : 20);
  const warmup = quick ? 2 : 3;
  const kfacPeriods = Math.max(2, envNum('BENCH_KFAC_PERIODS', quick ? 2 : 3));
  const before = tf.memory().numTensors;

  const rows: StepRow[] = [];
  for (const model of models) {
    const def = MODELS[model];
    for (const batch of batchSizes) {
      console.log(`\n${model} ${MODEL_TEXT[model]}, batch ${batch}  (ratio = ours / torch, < 1 is faster; K-FAC: amortized mean vs torch kfac_inverse mean)`);
      const batches = syntheticBatches(model, batch, 3);
      for (const w of what) {
        let t: Timing;
        if (w === 'fwd_bwd') t = timeFwdBwd(def, batches, warmup, steps);
        else {
          const o = optimizerNamed(w, def);
          // K-FAC: warm-up of 2 steps includes the refresh at step 0; then a whole number of periods,
          // so the mean is the amortized cost (kfac-pytorch's timer likewise warms up through a refresh).
          t = isKfac(w) ? timeSpec(o, def, batches, 2, kfacPeriods * o.plan.refreshEvery) : timeSpec(o, def, batches, warmup, steps);
        }
        const r = makeRow(model, batch, w, choice.name, t);
        rows.push(r);
        printRow(r);
      }
      const sgd = rows.find((r) => r.model === model && r.batch === batch && r.what === 'sgd');
      for (const k of rows.filter((r) => r.model === model && r.batch === batch && isKfac(r.what))) {
        if (sgd === undefined) continue;
        const peer = FLAVOURS.map((fl) => {
          const tk = torch(fl, model, batch, 'kfac_inverse'), ts = torch(fl, model, batch, 'sgd');
          return tk && ts ? `${FLAVOUR_LABEL[fl]} ${f2(tk.mean_ms_amortized / ts.median_ms)}×` : null;
        }).filter((x) => x !== null);
        console.log(
          `  ${k.what}/sgd: amortized ${f2(k.timing.meanMs / sgd.timing.medianMs)}×, no-refresh median ${f2(k.timing.withoutRefresh!.medianMs / sgd.timing.medianMs)}×` +
            `   (torch K-FAC INVERSE / SGD: ${peer.join(', ')})`,
        );
      }
      tf.dispose(batches.flatMap((b) => [b.x, b.y]));
    }
  }

  let overhead: Record<string, unknown> | null = null;
  if (!flag('no-overhead')) {
    const def = MODELS.classifier;
    const batches = syntheticBatches('classifier', 256, 3);
    const n = envNum('BENCH_STEPS', quick ? 10 : 20);
    console.log(`\ncompiled adam spec vs tf.train.adam: classifier, batch 256, ${n} timed steps each`);
    const spec = timeSpec(optimizerNamed('adam', def), def, batches, 3, n);
    const apply = timeTfApply(def, batches, 3, n);
    const minimize = timeTfMinimize(def, batches, 3, n);
    const line = (name: string, t: Timing) => console.log(`  ${name.padEnd(46)} median ${f1(t.medianMs).padStart(7)} ms  (min ${f1(t.minMs)}, cpu ${f1(t.cpuMs)}, load ${t.loadBefore.toFixed(1)}→${t.loadAfter.toFixed(1)})`);
    line('adam spec (compiled)', spec);
    line('tf.train.adam.applyGradients (same gradients)', apply);
    line('tf.train.adam.minimize (tfjs autodiff)', minimize);
    const r1 = spec.medianMs / apply.medianMs, r2 = spec.medianMs / minimize.medianMs;
    console.log(`  ratio spec / applyGradients: ${r1.toFixed(3)} (target ≤ 1.05); CPU-time ratio ${(spec.cpuMs / apply.cpuMs).toFixed(3)};  spec / minimize: ${r2.toFixed(3)}`);
    overhead = { spec, applyGradients: apply, minimize, ratioSpecOverApply: r1, ratioSpecOverApplyCpu: spec.cpuMs / apply.cpuMs, ratioSpecOverMinimize: r2 };
    tf.dispose(batches.flatMap((b) => [b.x, b.y]));
  }

  if (tf.memory().numTensors !== before) throw new Error(`bench leaked ${tf.memory().numTensors - before} tensors`);
  const result = { kind: 'step', machine: { ...machine, loadAverageAfter: os.loadavg() }, quick, rows, adamOverhead: overhead, torchHere: torchHereEnvironment() };
  const dir = path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = opt('out') ?? path.join(dir, `step-${choice.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 1) + '\n');
  console.log(`\nwrote ${path.relative(repoRoot, file)}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exitCode = 1;
});
