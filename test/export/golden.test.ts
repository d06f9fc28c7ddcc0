/**
 * Golden trajectories: every exportable example spec, exported to PyTorch, follows geodesic's own
 * trajectory. Same model (5-8-3 tanh, categorical), same initial parameters, same 20 batches in the
 * same order; geodesic runs the compiled spec in float32 (tfjs cpu backend), the exported module
 * runs in float64 (test/export/golden.py); after 20 steps the parameters agree to
 * ‖θ_torch − θ_geodesic‖∞ / ‖θ_geodesic‖∞ ≤ 1e-4 per tensor (the evaluated — averaged — ones too).
 *
 * Specs whose statistics are Monte-Carlo (fisher(sampled: k)) are compared in their exact-Fisher
 * variant (the same spec with fisher(exact)): the two engines draw different random labels, so only
 * deterministic estimators can share a trajectory. Sampled estimators are tested for data-parallel
 * equivalence in ddp.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile, createStepContext, plan } from '../../src/optim/index.js';
import { disposeParams, initParams, makeRng } from '../../src/model/index.js';
import type { Batch, ModelDef, Params } from '../../src/model/types.js';
import type { OptimizerSpec } from '../../src/language/spec.js';
import { PYTHON, exactFisher, exampleOptimizer, flat, hasSampledFisher, relError, tmp, torchAvailable, writeModule } from './helpers.js';

const def: ModelDef = {
  inputDim: 5,
  layers: [
    { kind: 'dense', inDim: 5, outDim: 8 },
    { kind: 'activation', fn: 'tanh' },
    { kind: 'dense', inDim: 8, outDim: 3 },
  ],
  likelihood: 'categorical',
};
const STEPS = 20;
const BATCH = 16;

/** Every example optimizer the exporter accepts (the others are refused: see export.test.ts). */
const EXPORTABLE: readonly [file: string, name: string][] = [
  ['sgd', 'sgd'],
  ['momentum', 'momentum'],
  ['adam', 'adam'],
  ['rmsprop', 'rmsprop'],
  ['adagrad', 'adagrad'],
  ['polyak', 'polyak'],
  ['diagonal_fisher', 'diagonal_fisher'],
  ['fisher_adam', 'fisher_adam'],
  ['kfac', 'kfac'],
  ['kfac', 'kfac_factored'],
  ['ekfac', 'ekfac'],
  ['shampoo', 'shampoo'],
];

function batches(): { x: number[][]; y: number[][] }[] {
  const rng = makeRng(11);
  return Array.from({ length: STEPS }, () => {
    const x: number[][] = [];
    const y: number[][] = [];
    for (let i = 0; i < BATCH; i++) {
      const xi = Array.from({ length: 5 }, () => rng.normal());
      const s = xi[0]! + 0.5 * xi[1]! - xi[2]!;
      x.push(xi);
      y.push([s > 0.5 ? 1 : 0, s < -0.5 ? 1 : 0, s >= -0.5 && s <= 0.5 ? 1 : 0]);
    }
    return { x, y };
  });
}

const nested = async (p: Params): Promise<number[][]> => Promise.all(p.map(async (t) => Array.from(await t.data())));

async function geodesicRun(spec: OptimizerSpec, init: Params, data: ReturnType<typeof batches>): Promise<{ final: number[][]; evaluation: number[][] }> {
  const planned = plan(spec);
  if (E.isLeft(planned)) throw new Error(planned.left.message);
  const opt = compile(planned.right, def);
  let params: Params = init.map((p) => p.clone());
  let state = opt.init(params);
  for (let k = 0; k < STEPS; k++) {
    const batch: Batch = { x: tf.tensor2d(data[k]!.x), y: tf.tensor2d(data[k]!.y) };
    const ctx = createStepContext({ def, batch, params, seed: 0, step: k });
    const [next, nextState, metrics] = opt.step(ctx, state);
    if (!metrics.accepted) throw new Error(`${spec.name}: geodesic rejected step ${k}: ${metrics.warnings.join('; ')}`);
    ctx.dispose();
    tf.dispose([batch.x, batch.y]);
    disposeParams(params);
    params = next;
    state = nextState;
  }
  const evalParams = opt.evaluationParams(params, state);
  const out = { final: await nested(params), evaluation: await nested(evalParams) };
  disposeParams(evalParams);
  disposeParams(params);
  opt.dispose(state);
  return out;
}

const haveTorch = torchAvailable();

describe.skipIf(!haveTorch)('exported PyTorch modules follow geodesic (float64 torch vs float32 tfjs, 20 steps)', () => {
  const dir = tmp('geodesic-golden-');
  const data = batches();
  const expected = new Map<string, { final: number[][]; evaluation: number[][] }>();
  let results: Record<string, { final: unknown[]; evaluation: unknown[]; losses: number[] }> = {};

  beforeAll(async () => {
    await tf.setBackend('cpu');
    const init = initParams(def, 5);
    const initNested = await nested(init);
    const cases: { name: string; module: string; overrides?: Record<string, number> }[] = [];
    for (const [file, name] of EXPORTABLE) {
      const { optimizer, sources } = exampleOptimizer(`examples/${file}.optim`, name);
      const spec = hasSampledFisher(optimizer.curvature) ? { ...optimizer, curvature: exactFisher(optimizer.curvature) } : optimizer;
      cases.push({ name, module: writeModule(dir, name, spec, sources) });
      const before = tf.memory().numTensors;
      expected.set(name, await geodesicRun(spec, init, data));
      expect(tf.memory().numTensors).toBe(before);
    }
    // A control that must fail: sgd with a 10 % larger learning rate (an override).
    cases.push({ name: 'sgd_lr_override', module: join(dir, 'sgd.py'), overrides: { step_eta: 0.011 } });
    // geodesic layout: W [in][out] as nested rows
    const layoutInit = init.map((t, i) => (t.shape.length === 2 ? chunk(initNested[i]!, t.shape[1]!) : initNested[i]!));
    disposeParams(init);
    const problemPath = join(dir, 'problem.json');
    writeFileSync(
      problemPath,
      JSON.stringify({
        layers: def.layers.map((l) => (l.kind === 'dense' ? { kind: 'dense', in: l.inDim, out: l.outDim } : { kind: 'activation', fn: l.kind === 'activation' ? l.fn : 'identity' })),
        likelihood: def.likelihood,
        init: layoutInit,
        batches: data,
        cases,
      }),
    );
    const r = spawnSync(PYTHON, ['test/export/golden.py', problemPath], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`golden.py failed (${r.status}): ${r.stderr}`);
    results = JSON.parse(r.stdout);
  });

  for (const [, name] of EXPORTABLE) {
    it(`${name}: same parameters after ${STEPS} steps (rel ≤ 1e-4)`, () => {
      const ours = expected.get(name)!;
      const theirs = results[name]!;
      const err = relError(theirs.final.map(flat), ours.final);
      const errEval = relError(theirs.evaluation.map(flat), ours.evaluation);
      console.log(`golden ${name}: rel ${err.toExponential(2)} (evaluated ${errEval.toExponential(2)})`);
      expect(err).toBeLessThanOrEqual(1e-4);
      expect(errEval).toBeLessThanOrEqual(1e-4);
      // the trajectory moved: the comparison is not of two unchanged initializations
      expect(theirs.losses[STEPS - 1]).not.toBe(theirs.losses[0]);
    });
  }

  it('the comparison can fail: sgd with step_eta overridden to 0.011 is far from geodesic’s lr 0.01', () => {
    const err = relError(results['sgd_lr_override']!.final.map(flat), expected.get('sgd')!.final);
    expect(err).toBeGreaterThan(1e-3);
  });
});

function chunk(xs: number[], width: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < xs.length; i += width) rows.push(xs.slice(i, i + width));
  return rows;
}
