/**
 * K-FAC cost on the 784-1000-500-250-30 tanh classifier at batch 1000.
 * Run: npx vite-node bench/curvature.ts [backend] [reps]   (backend: auto | native | wasm | cpu; default auto)
 * Prints median wall times (ms) of: the gradient (forward + backward), the backward alone, the
 * sampled K-FAC statistics given the forward (one cotangent-only backward of sampled labels + the
 * aᵀa, gᵀg products; on the backend, with an ema update, and as host float64 factors), the factor
 * inversions at a refresh (factored damping: two damped SPD inverses per layer; exact damping:
 * eigendecompositions; host float64, native kernels when the native backend is active) and one
 * K-FAC solve of each kind; plus the numbers the operator stores (no P×P matrix is formed) and the
 * load average.
 */
import * as tf from '@tensorflow/tfjs';
import * as M from '../src/model/index.js';
import * as C from '../src/curvature/index.js';
import { selectBackend, type BackendName } from '../src/backend/select.js';
import { atomOuter } from '../src/curvature/atoms.js';
import { disposeOuter } from '../src/curvature/samples.js';
import { disposeFactorTensors, kfacFactorTensorsOf } from '../src/curvature/structures/kfac.js';
import { denseKernels } from '../src/solvers/index.js';
import { loadavg, cpus } from 'node:os';

const backend = (process.argv[2] ?? 'auto') as BackendName;
const reps = Number(process.argv[3] ?? 5);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** Process CPU time (all threads) of each timed section, keyed by its wall-time array. */
const cpuOf = new Map<number[], number[]>();
const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;

async function main(): Promise<void> {
  const load0 = loadavg().map((x) => x.toFixed(2)).join(' ');
  const choice = await selectBackend(backend);
  const sizes = [784, 1000, 500, 250, 30];
  const layers: M.LayerDef[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    layers.push({ kind: 'dense', inDim: sizes[l]!, outDim: sizes[l + 1]! });
    if (l + 2 < sizes.length) layers.push({ kind: 'activation', fn: 'tanh' });
  }
  const def: M.ModelDef = { inputDim: 784, layers, likelihood: 'categorical' };
  const P = M.numParams(def);
  const params = M.initParams(def, 1);
  const N = 1000;
  const x = tf.randomNormal([N, 784], 0, 1, 'float32', 2) as tf.Tensor2D;
  const y = tf.tidy(() => tf.oneHot(tf.randomUniformInt([N], 0, 30, 3) as tf.Tensor1D, 30).toFloat()) as tf.Tensor2D;
  const batch = { x, y };
  const sync = (ts: readonly tf.Tensor[]) => ts.forEach((t) => t.dataSync());

  // 1. gradient: forward + backward (what every optimizer pays)
  const grad = () => {
    const r = M.lossAndGradient(def, params, batch);
    sync(r.gradient);
    tf.dispose([r.loss, ...r.gradient, r.forward.output, ...r.forward.inputs, ...r.forward.denseInputs, ...r.forward.denseOutputs, ...r.backward.grads, ...r.backward.denseOutputGrads]);
  };
  grad();

  // 1b. the backward pass alone (given the forward), the unit the K-FAC statistics are compared with
  const fp0 = M.forward(def, params, x);
  const u0 = M.outputGradient(def.likelihood, fp0.output, y);
  const back = () => {
    const bp = M.backward(def, params, fp0, u0);
    sync(bp.grads);
    tf.dispose([...bp.grads, ...bp.denseOutputGrads]);
  };
  back();

  // 2. K-FAC statistics (sampled, k = 1) on top of a context whose forward pass is already done.
  //    (a) as a running estimate keeps them: sampled labels, one cotangent-only backward, aᵀa and
  //        gᵀg on the backend (float32; the wasm/native/cpu backends execute synchronously);
  //    (b) the same plus an ema(0.95) update of the running factors (what an optimizer step pays);
  //    (c) the public host-float64 factors (C.kfacFactors: (a) plus the copies to the host).
  const withCtx = (seed: number, f: (ctx: C.OwnedContext) => void, cs?: number[]): number => {
    const ctx = C.createContext(def, params, batch, { seed });
    sync([ctx.forward().output]);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f(ctx);
    const dt = performance.now() - t0;
    cs?.push(cpuMs(process.cpuUsage(c0)));
    ctx.dispose();
    return dt;
  };

  const statsBackend = (ctx: C.OwnedContext) => {
    const s = atomOuter({ name: 'fisher', sampled: 1 }, ctx)!;
    if (s.kind !== 'samples') throw new Error('expected samples');
    const f = kfacFactorTensorsOf(s, 'homogeneous');
    disposeOuter(s);
    sync([f.layers[f.layers.length - 1]!.G.t]);
    disposeFactorTensors(f);
  };
  let factors: C.KfacFactors | undefined;
  const statsHost = (ctx: C.OwnedContext) => {
    factors = C.kfacFactors(ctx, { bias: 'homogeneous', source: 'sampled', samples: 1 });
  };
  const emaExpr: C.CurvatureExpr = {
    _tag: 'Transform',
    name: 'ema',
    of: { _tag: 'Structure', name: 'kfac', of: { _tag: 'Atom', name: 'fisher', args: { sampled: 1 } }, args: { bias: 'homogeneous' } },
    args: { decay: 0.95, debias: true },
  } as C.CurvatureExpr;
  const emaEst = C.createEstimator(emaExpr, def);
  let emaState = emaEst.init(params);
  {
    const ctx0 = C.createContext(def, params, batch, { seed: 0 });
    emaState = emaEst.update(emaState, ctx0);
    ctx0.dispose();
  }
  const statsEma = (ctx: C.OwnedContext) => {
    emaState = emaEst.update(emaState, ctx);
  };
  withCtx(0, statsBackend);
  withCtx(0, statsHost);
  // Interleaved (gradient, backward, statistics, …, repeated) so that all see the same machine load.
  const tGrad: number[] = [], tBack: number[] = [], tStats: number[] = [], tStatsEma: number[] = [], tStatsHost: number[] = [];
  const cGrad: number[] = [], cBack: number[] = [], cStats: number[] = [], cStatsEma: number[] = [], cStatsHost: number[] = [];
  const once = (f: () => void, ts: number[], cs: number[]) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
    cs.push(cpuMs(process.cpuUsage(c0)));
  };
  for (let r = 0; r < reps; r++) {
    once(grad, tGrad, cGrad);
    once(back, tBack, cBack);
    tStats.push(withCtx(r + 1, statsBackend, cStats));
    tStatsEma.push(withCtx(r + 1, statsEma, cStatsEma));
    tStatsHost.push(withCtx(r + 1, statsHost, cStatsHost));
  }
  [[tGrad, cGrad], [tBack, cBack], [tStats, cStats], [tStatsEma, cStatsEma], [tStatsHost, cStatsHost]].forEach(([t, c]) => cpuOf.set(t!, c!));
  M.disposeForward(fp0);
  u0.dispose();
  emaEst.dispose(emaState);

  // 3. factor inversion: eigendecomposition of every A and G (host float64), and one solve
  const shapesDef = def;
  const tInv: number[] = [];
  const tInvF: number[] = [];
  const tSolve: number[] = [];
  const tSolveF: number[] = [];
  let stored = 0;
  for (let r = 0; r < Math.max(1, Math.min(reps, 3)); r++) {
    const est = C.createEstimator({ _tag: 'Structure', name: 'kfac', of: { _tag: 'Atom', name: 'fisher', args: { sampled: 1 } }, args: { bias: 'homogeneous' } }, shapesDef);
    const ctx = C.createContext(def, params, batch, { seed: 100 + r });
    let s = est.init(params);
    s = est.update(s, ctx);
    sync(ctx.gradient()); // computed before the solves are timed
    const tf0 = performance.now();
    s = est.refresh(s, 1e-3, { damping: 'factored' });
    tInvF.push(performance.now() - tf0);
    {
      const t1 = performance.now();
      const { x: solF } = est.operator(s).solve(ctx.gradient(), 1e-3, { damping: 'factored' });
      sync(solF);
      tSolveF.push(performance.now() - t1);
      tf.dispose([...solF]);
    }
    const t0 = performance.now();
    s = est.refresh(s, 1e-3);
    tInv.push(performance.now() - t0);
    const g = ctx.gradient();
    const t1 = performance.now();
    const { x: sol } = est.operator(s).solve(g, 1e-3);
    sync(sol);
    tSolve.push(performance.now() - t1);
    stored = est.operator(s).memory();
    tf.dispose([...sol]);
    est.dispose(s);
    ctx.dispose();
  }

  const fmt = (ts: number[]) => {
    const cs = cpuOf.get(ts);
    return `${median(ts).toFixed(0)} ms (median of ${ts.length}; min ${Math.min(...ts).toFixed(0)})` + (cs ? `; CPU ${median(cs).toFixed(0)} ms` : '');
  };
  console.log(`backend: ${choice.name} (${choice.reason}); dense float64 kernels: ${denseKernels().name}`);
  console.log(`machine: ${cpus()[0]?.model} ×${cpus().length}; load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')} (at start ${load0})`);
  console.log(`model 784-1000-500-250-30 tanh, categorical, batch ${N}, P = ${P}`);
  console.log(`gradient (forward + backward):                 ${fmt(tGrad)}`);
  console.log(`backward pass alone (given forward):           ${fmt(tBack)}`);
  console.log(`K-FAC statistics, sampled k=1 (given forward), on the backend: ${fmt(tStats)}`);
  const cpuRatio = (a: number[], b: number[]) => (median(cpuOf.get(a)!) / median(cpuOf.get(b)!)).toFixed(2);
  console.log(`  ratio statistics / backward:                 ${(median(tStats) / median(tBack)).toFixed(2)} wall, ${cpuRatio(tStats, tBack)} CPU`);
  console.log(`  ratio statistics / gradient:                 ${(median(tStats) / median(tGrad)).toFixed(2)} wall, ${cpuRatio(tStats, tGrad)} CPU`);
  console.log(`  + ema update of the running factors:         ${fmt(tStatsEma)}`);
  console.log(`  host float64 factors (C.kfacFactors):        ${fmt(tStatsHost)}`);
  console.log(`factor inversion, factored damping (SPD inv.): ${fmt(tInvF)}`);
  console.log(`factor inversion, exact damping (eigen):       ${fmt(tInv)}`);
  console.log(`one K-FAC solve (factored damping):            ${fmt(tSolveF)}`);
  console.log(`one K-FAC solve (exact damping):               ${fmt(tSolve)}`);
  console.log(`numbers stored by the K-FAC operator: ${stored} (P×P would be ${(P * P).toExponential(2)}; factors ${factors?.layers.map((l) => `${l.nA}²+${l.nG}²`).join(', ')})`);
  tf.dispose([...params, x, y]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
