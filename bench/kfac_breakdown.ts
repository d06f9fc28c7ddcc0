/**
 * Where a K-FAC step's time goes (bench/specs/bench.optim kfac_pytorch or kfac_sampled; the real
 * compiled step, with the estimator wrapped to time update / refresh / solve).
 * Run: npx vite-node bench/kfac_breakdown.ts -- [model=autoencoder|classifier] [batch=1000] [optimizer=kfac_pytorch] [steps=12]
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpec } from '../src/language/files.js';
import { compileWith, createStepContext, engineEstimator, plan } from '../src/optim/index.js';
import type { Estimator } from '../src/curvature/types.js';
import { disposeParams, initParams, lossAndGradient } from '../src/model/index.js';
import { mlpDef, mnistAutoencoderDef } from '../src/problems/registry.js';
import { selectBackend } from '../src/backend/select.js';

const args = process.argv.slice(2).filter((a) => a !== '--');
const model = args[0] ?? 'autoencoder';
const N = Number(args[1] ?? 1000);
const name = args[2] ?? 'kfac_pytorch';
const steps = Number(args[3] ?? 12);
const def = model === 'classifier' ? mlpDef([784, 1000, 500, 250, 30], ['tanh', 'tanh', 'tanh', null], 'categorical') : mnistAutoencoderDef;

const times: Record<string, number[]> = {};
const timedCall = <T>(k: string, f: () => T): T => {
  const t0 = performance.now();
  const r = f();
  (times[k] ??= []).push(performance.now() - t0);
  return r;
};

async function main(): Promise<void> {
  const choice = await selectBackend('native');
  console.log(`backend ${choice.name}; ${model} batch ${N}, ${name}; load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const spec = loadSpec(path.join(path.dirname(fileURLToPath(import.meta.url)), 'specs', 'bench.optim'));
  if (E.isLeft(spec)) throw new Error(spec.left);
  const p = plan(spec.right.optimizers.find((o) => o.name === name)!);
  if (E.isLeft(p)) throw new Error(p.left.message);
  const opt = compileWith(p.right, def, (expr, d) => {
    const est = engineEstimator(expr, d) as Estimator<unknown>;
    return {
      init: (ps) => est.init(ps),
      update: (s, ctx) => timedCall('estimator.update (statistics + ema)', () => est.update(s, ctx)),
      refresh: (s, l, o) => timedCall('estimator.refresh (inverses)', () => est.refresh(s, l, o)),
      operator: (s) => {
        const op = est.operator(s);
        return { ...op, solve: (g: Parameters<typeof op.solve>[0], l: number, o?: Parameters<typeof op.solve>[2]) => timedCall('operator.solve (Kronecker)', () => op.solve(g, l, o)) } as typeof op;
      },
      dispose: (s) => est.dispose(s),
    };
  });
  const x = tf.randomUniform([N, 784], 0, 1, 'float32', 1) as tf.Tensor2D;
  const y = model === 'classifier' ? (tf.oneHot(tf.randomUniformInt([N], 0, 30, 2) as tf.Tensor1D, 30).toFloat() as tf.Tensor2D) : x;
  let params = initParams(def, 1);
  let state = opt.init(params);
  for (let t = 0; t < steps; t++) {
    const ctx = createStepContext({ def, batch: { x, y }, params, seed: t, step: t });
    timedCall('  gradient (forward + backward)', () => ctx.gradient());
    const [next, s] = timedCall('whole step', () => opt.step(ctx, state));
    ctx.dispose();
    disposeParams(params);
    params = next;
    state = s;
  }
  // the backward pass alone, for scale
  for (let r = 0; r < 5; r++) {
    const lg = lossAndGradient(def, params, { x, y });
    tf.dispose([lg.loss, ...lg.gradient, lg.forward.output, ...lg.forward.inputs, ...lg.forward.denseInputs, ...lg.forward.denseOutputs, ...lg.backward.grads, ...lg.backward.denseOutputGrads]);
  }
  opt.dispose(state);
  disposeParams(params);
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
  for (const [k, v] of Object.entries(times)) {
    const skip = k.includes('refresh') ? 0 : 2; // first steps warm up
    const w = v.slice(Math.min(skip, v.length - 1));
    console.log(`  ${k.padEnd(40)} median ${med(w).toFixed(1).padStart(7)} ms  max ${Math.max(...w).toFixed(1).padStart(7)} ms  (${w.length} calls)`);
  }
  console.log(`  (gradient is computed before opt.step, so 'whole step' excludes it; load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`);
}
main().catch((e) => { console.error(e); process.exitCode = 1; });
