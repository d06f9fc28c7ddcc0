/**
 * Kernel benchmarks (never timed tests): GEMM GFLOP/s per matmul shape of the MNIST autoencoder
 * and forward+backward time of the 784-1000-500-250-30 tanh classifier, per backend, beside
 * PyTorch's figures from ../shared/reference/timings_torch*.json as ratios.
 *
 *   npm run bench:kernels            (writes bench/results/kernels-<date>.json)
 *   GEODESIC_BENCH_QUICK=1 or --quick  fewer repetitions;  --out=FILE  where to write the JSON
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { activateWasm } from '../src/backend/wasm.js';
import { installMatmulFix, uninstallMatmulFix } from '../src/backend/matmulFix.js';
import { activationGrad, installNativeKernels, loadNative, uninstallNativeKernels, type NativeAddon } from '../src/backend/native.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = [path.resolve(here, '..'), path.resolve(here, '../..')].find((d) => fs.existsSync(path.join(d, 'package.json')))!;
const referenceDir = process.env['GEODESIC_REFERENCE_DIR'] ?? path.resolve(repoRoot, '../shared/reference');
const quick = process.env['GEODESIC_BENCH_QUICK'] === '1' || process.argv.includes('--quick');
const outArg = process.argv.find((a) => a.startsWith('--out='))?.slice('--out='.length);

type Variant = 'native' | 'wasm+fix' | 'wasm-stock';

async function useVariant(v: Variant, addon: NativeAddon | null): Promise<void> {
  await activateWasm();
  uninstallNativeKernels();
  uninstallMatmulFix();
  if (v === 'wasm-stock') return;
  installMatmulFix();
  if (v === 'native') installNativeKernels(addon!);
}

function rand(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * scale;
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Median wall time (ms) of `f` over `reps` runs after `warmup` runs, and the mean CPU time (ms,
 * all threads of this process). On a shared, oversubscribed machine wall time includes time
 * spent descheduled; CPU time does not, so work / CPU time measures the kernels themselves.
 */
function time(f: () => void, reps: number, warmup = 1): { median: number; min: number; cpu: number } {
  for (let i = 0; i < warmup; i++) f();
  const ts: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  const c = process.cpuUsage(c0);
  return { median: median(ts), min: Math.min(...ts), cpu: (c.user + c.system) / 1000 / reps };
}

// ------------------------------------------------------------------ GEMM
const AUTOENCODER = [784, 1000, 500, 250, 30, 250, 500, 1000, 784];
const CLASSIFIER = [784, 1000, 500, 250, 30];

interface GemmRow {
  batch: number; inDim: number; outDim: number; op: 'forward X·W' | 'dX = dY·Wᵀ' | 'dW = Xᵀ·dY';
  m: number; n: number; k: number;
  /** wall-clock GFLOP/s (median) per variant */
  gflops: Record<string, number>;
  /** GFLOP per CPU-second (all threads); × threads = what the variant would reach owning the cores */
  gflopsPerCpuSecond: Record<string, number>;
  /** PyTorch's torch.mm on the same shape on this machine (bench/results/torch-here.json), if timed */
  torchHereGflops?: number;
  loadAverage1m: number;
}

function gemmBench(addon: NativeAddon | null, batch: number, variants: Variant[]): Promise<GemmRow[]> {
  return (async () => {
    const rows: GemmRow[] = [];
    const pairs = AUTOENCODER.slice(0, -1).map((d, i) => [d, AUTOENCODER[i + 1]!] as const);
    for (const [inDim, outDim] of pairs) {
      const flops = 2 * batch * inDim * outDim;
      const specs = [
        { op: 'forward X·W' as const, a: [batch, inDim], b: [inDim, outDim], ta: false, tb: false, m: batch, n: outDim, k: inDim },
        { op: 'dX = dY·Wᵀ' as const, a: [batch, outDim], b: [inDim, outDim], ta: false, tb: true, m: batch, n: inDim, k: outDim },
        { op: 'dW = Xᵀ·dY' as const, a: [batch, inDim], b: [batch, outDim], ta: true, tb: false, m: inDim, n: outDim, k: batch },
      ];
      for (const s of specs) {
        const row: GemmRow = { batch, inDim, outDim, op: s.op, m: s.m, n: s.n, k: s.k, gflops: {}, gflopsPerCpuSecond: {}, loadAverage1m: os.loadavg()[0]! };
        const aData = rand(s.a[0]! * s.a[1]!, 1), bData = rand(s.b[0]! * s.b[1]!, 2);
        if (addon !== null) {
          const C = new Float32Array(s.m * s.n);
          const t = time(() => addon.gemm(aData, bData, C, null, 1, s.m, s.n, s.k, s.ta, s.tb, 0, 0, 0, 0), quick ? 3 : 7);
          row.gflops['addon (Float32Array)'] = flops / t.median / 1e6;
          row.gflopsPerCpuSecond['addon (Float32Array)'] = flops / t.cpu / 1e6;
        }
        for (const v of variants) {
          await useVariant(v, addon);
          const a = tf.tensor2d(aData, s.a as [number, number]), b = tf.tensor2d(bData, s.b as [number, number]);
          const slow = v === 'wasm-stock' && (s.ta || s.tb);
          const t = time(() => tf.matMul(a, b, s.ta, s.tb).dispose(), slow ? 1 : quick ? 3 : 5, slow ? 0 : 1);
          row.gflops[v] = flops / t.median / 1e6;
          row.gflopsPerCpuSecond[v] = flops / t.cpu / 1e6;
          tf.dispose([a, b]);
        }
        const torchHere = torchGemm(batch, inDim, outDim, s.op);
        if (torchHere !== null) row.torchHereGflops = torchHere;
        rows.push(row);
        console.log(
          `  B=${batch} ${inDim}→${outDim} ${s.op.padEnd(12)} ` + Object.entries(row.gflops).map(([k, g]) => `${k}: ${g.toFixed(1)} (${row.gflopsPerCpuSecond[k]!.toFixed(0)}/cpu-s)`).join('  ') + ' GFLOP/s' +
            (torchHere !== null ? `   [torch here ${torchHere.toFixed(1)}]` : ''),
        );
      }
    }
    return rows;
  })();
}

// ------------------------------------------------------------------ classifier forward + backward
interface Net { ws: tf.Tensor2D[]; bs: tf.Tensor1D[]; x: tf.Tensor2D; y: tf.Tensor2D }

function makeNet(batch: number): Net {
  const ws = CLASSIFIER.slice(0, -1).map((d, i) => tf.tensor2d(rand(d * CLASSIFIER[i + 1]!, 10 + i, 2 / Math.sqrt(d)), [d, CLASSIFIER[i + 1]!]));
  const bs = CLASSIFIER.slice(1).map((d, i) => tf.tensor1d(rand(d, 20 + i, 0.1)));
  const x = tf.tensor2d(rand(batch * 784, 30, 1).map((v) => v + 0.5), [batch, 784]);
  const labels = Array.from({ length: batch }, (_, i) => (i * 7) % 30);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 30).toFloat() as tf.Tensor2D;
  return { ws, bs, x, y };
}

/** tfjs autodiff (tf.grads) through matMul + add + tanh + softmax cross-entropy. */
function fwdBwdAutodiff(net: Net): void {
  const L = net.ws.length;
  const f = (...p: tf.Tensor[]) => {
    let h: tf.Tensor = net.x;
    for (let l = 0; l < L; l++) {
      const z = tf.add(tf.matMul(h, p[l]!), p[L + l]!);
      h = l < L - 1 ? tf.tanh(z) : z;
    }
    return tf.losses.softmaxCrossEntropy(net.y, h);
  };
  const grads = tf.tidy(() => tf.grads(f)([...net.ws, ...net.bs]));
  grads[0]!.dataSync();
  tf.dispose(grads);
}

/** Hand-written backprop: fused matMul + bias forward, explicit transposed matmuls backward. */
function fwdBwdManual(net: Net): void {
  const L = net.ws.length;
  const grads = tf.tidy(() => {
    const hs: tf.Tensor2D[] = [net.x];
    for (let l = 0; l < L; l++) {
      const z = tf.fused.matMul({ a: hs[l]!, b: net.ws[l]!, bias: net.bs[l]! });
      hs.push((l < L - 1 ? tf.tanh(z) : z) as tf.Tensor2D);
    }
    const logits = hs[L]!;
    let dz = tf.div(tf.sub(tf.softmax(logits), net.y), net.x.shape[0]) as tf.Tensor2D;
    const out: tf.Tensor[] = [];
    for (let l = L - 1; l >= 0; l--) {
      out.push(tf.matMul(hs[l]!, dz, true, false), tf.sum(dz, 0));
      if (l > 0) dz = activationGrad('tanh', hs[l]!, tf.matMul(dz, net.ws[l]!, false, true)) as tf.Tensor2D;
    }
    return out;
  });
  grads[0]!.dataSync();
  tf.dispose(grads);
}

interface FwdBwdRow { batch: number; method: string; backend: Variant; medianMs: number; minMs: number; cpuMs: number; reps: number; loadAverage1m: number }

async function fwdBwdBench(addon: NativeAddon | null, batch: number, variants: Variant[]): Promise<FwdBwdRow[]> {
  const rows: FwdBwdRow[] = [];
  for (const v of variants) {
    await useVariant(v, addon);
    const net = makeNet(batch);
    const before = tf.memory().numTensors;
    for (const [method, f] of [['tf.grads', fwdBwdAutodiff], ['manual', fwdBwdManual]] as const) {
      const slow = v === 'wasm-stock';
      const reps = slow ? (batch >= 1000 ? 1 : 2) : quick ? 5 : 15;
      const t = time(() => f(net), reps, slow ? 0 : 2);
      rows.push({ batch, method, backend: v, medianMs: t.median, minMs: t.min, cpuMs: t.cpu, reps, loadAverage1m: os.loadavg()[0]! });
      console.log(`  classifier B=${batch} ${method.padEnd(8)} ${v.padEnd(10)} median ${t.median.toFixed(1)} ms (min ${t.min.toFixed(1)}, cpu ${t.cpu.toFixed(1)} ms, ${reps} reps, load ${os.loadavg()[0]!.toFixed(1)})`);
    }
    if (tf.memory().numTensors !== before) throw new Error(`leak in forward/backward on ${v}: ${tf.memory().numTensors - before} tensors`);
    tf.dispose([...net.ws, ...net.bs, net.x, net.y]);
  }
  return rows;
}

// ------------------------------------------------------------------ reference + machine
/** PyTorch timed on this machine by bench/peers/time_torch.py (absolute path; see bench/step.ts). */
const torchHereFile = process.env['GEODESIC_TORCH_HERE'] ?? path.join(repoRoot, 'bench', 'results', 'torch-here.json');
/** torch.mm GFLOP/s for one autoencoder product on this machine, from torch-here.json's `gemm` rows. */
type TorchGemmRow = { batch: number; inDim: number; outDim: number; op: string; gflops: number };
let torchGemmRows: TorchGemmRow[] | null | undefined; // read once: undefined = not yet, null = absent
function torchGemm(batch: number, inDim: number, outDim: number, op: string): number | null {
  if (torchGemmRows === undefined) {
    try {
      torchGemmRows = (JSON.parse(fs.readFileSync(torchHereFile, 'utf8')).gemm as TorchGemmRow[] | undefined) ?? null;
    } catch {
      torchGemmRows = null;
    }
  }
  return torchGemmRows?.find((r) => r.batch === batch && r.inDim === inDim && r.outDim === outDim && r.op === op)?.gflops ?? null;
}
/** `file`: a name in the reference directory, or an absolute path. */
function torchFwdBwd(file: string, batch: number): number | null {
  try {
    const j = JSON.parse(fs.readFileSync(path.resolve(referenceDir, file), 'utf8'));
    return j.runs.torch_threads_1[`classifier_batch${batch}`].fwd_bwd_only.median_ms as number;
  } catch {
    return null;
  }
}

function machine(addon: NativeAddon | null): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    tfjs: tf.version.tfjs,
    native: addon !== null ? addon.info() : null,
    loadAverage: os.loadavg(),
    date: new Date().toISOString(),
  };
}

async function main(): Promise<void> {
  const loaded = loadNative();
  const addon = loaded.ok ? loaded.addon : null;
  if (!loaded.ok) console.log(`native kernels unavailable: ${loaded.reason}`);
  const variants: Variant[] = addon !== null ? ['native', 'wasm+fix', 'wasm-stock'] : ['wasm+fix', 'wasm-stock'];
  const m0 = machine(addon);
  console.log(`machine: ${m0['cpuModel']}, ${m0['cores']} cores, node ${m0['node']}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  // The machine's float32 FMA peak for the kernels' ISA on the pool's threads, best of 5 probes
  // (the first wakes the pool): what "% of peak" below is read against.
  const fmaPeak = addon === null ? null : Array.from({ length: 5 }, () => addon.fmaPeak(2e7)).reduce((a, b) => (b.gflops > a.gflops ? b : a));
  if (fmaPeak !== null) console.log(`in-register FMA peak (${addon!.info().isa}, ${fmaPeak.threads} threads): ${fmaPeak.gflops.toFixed(1)} GFLOP/s`);

  console.log('\nGEMM (autoencoder layer shapes)');
  const gemm: GemmRow[] = [];
  for (const batch of [1000, 256]) gemm.push(...(await gemmBench(addon, batch, batch === 1000 ? variants : variants.filter((v) => v !== 'wasm-stock'))));

  console.log('\nclassifier 784-1000-500-250-30 tanh, softmax CE: forward + backward');
  const fwdBwd: FwdBwdRow[] = [];
  for (const batch of [256, 1000]) fwdBwd.push(...(await fwdBwdBench(addon, batch, variants)));

  console.log('\nbeside PyTorch 1.13 (fwd_bwd_only median; ratio = geodesic / torch, < 1 is faster)');
  const comparison = fwdBwd.map((r) => {
    const sk = torchFwdBwd('timings_torch_skylakex.json', r.batch);
    const hw = torchFwdBwd('timings_torch.json', r.batch);
    const th = torchFwdBwd(torchHereFile, r.batch);
    const c = { ...r, torchHereMs: th, torchSkylakeXMs: sk, torchHaswellMs: hw, ratioHere: th ? r.medianMs / th : null, ratioSkylakeX: sk ? r.medianMs / sk : null, ratioHaswell: hw ? r.medianMs / hw : null };
    console.log(`  B=${r.batch} ${r.method.padEnd(8)} ${r.backend.padEnd(10)} ${r.medianMs.toFixed(1).padStart(8)} ms (min ${r.minMs.toFixed(1)})  ` +
      `torch here ${th?.toFixed(1) ?? '—'} ms → ×${c.ratioHere?.toFixed(2) ?? '—'}   torch(SkylakeX, ref) ${sk?.toFixed(1) ?? '—'} ms → ×${c.ratioSkylakeX?.toFixed(2) ?? '—'}   torch(Haswell, ref) ${hw?.toFixed(1) ?? '—'} ms → ×${c.ratioHaswell?.toFixed(2) ?? '—'}`);
    return c;
  });

  const result = { machine: { ...m0, loadAverageAtEnd: os.loadavg() }, fmaPeak, gemm, forwardBackward: comparison, quick };
  const dir = path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = outArg ?? path.join(dir, `kernels-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 1) + '\n');
  console.log(`\nwrote ${path.relative(repoRoot, file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
