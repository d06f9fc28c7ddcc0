import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileWith, type EstimatorFactory } from '../../src/optim/compile.js';
import { train, type RunResult, type TrainError } from '../../src/train/train.js';
import { openJsonl } from '../../src/train/log.js';
import { disposeParams, initParams } from '../../src/model/index.js';
import { comp, host, makeSpec, planOf, smallDef } from '../optim/helpers.js';
import { smallProblem } from './helpers.js';

const noEstimator: EstimatorFactory = () => {
  throw new Error('no estimator needed');
};
const sgdMomentum = () =>
  compileWith(planOf(makeSpec({ step: comp('lr', { eta: 0.05 }), momentum: comp('heavy_ball', { mu: 0.9 }) })), smallDef, noEstimator);

const dispose = (r: RunResult) => {
  disposeParams(r.params);
  disposeParams(r.lastParams);
};

async function must(te: () => Promise<E.Either<TrainError, RunResult>>): Promise<RunResult> {
  const r = await te();
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('train', () => {
  it('is reproducible: same seed ⇒ bit-identical losses; another seed differs', async () => {
    const p = smallProblem();
    const a = await must(train(sgdMomentum(), p, { steps: 30, batchSize: 16, seed: 5 }));
    const b = await must(train(sgdMomentum(), p, { steps: 30, batchSize: 16, seed: 5 }));
    const c = await must(train(sgdMomentum(), p, { steps: 30, batchSize: 16, seed: 6 }));
    expect(a.losses).toEqual(b.losses);
    expect(a.losses).not.toEqual(c.losses);
    expect(a.losses.at(-1)!).toBeLessThan(a.losses[0]!);
    [a, b, c].forEach(dispose);
  });

  it('keeps tf.memory().numTensors flat over 1,000 steps and frees everything at the end', async () => {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const r = await must(
      train(sgdMomentum(), smallProblem(), {
        steps: 1000,
        batchSize: 8,
        seed: 1,
        evalEvery: 250,
        listeners: [{ onStep: (m) => (m.step === 10 || m.step === 999 ? counts.push(tf.memory().numTensors) : undefined) }],
      }),
    );
    expect(r.stepsRun).toBe(1000);
    expect(counts[0]).toBe(counts[1]);
    dispose(r);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('evaluates every K steps and at the end, on held-out data', async () => {
    const r = await must(train(sgdMomentum(), smallProblem(), { steps: 20, batchSize: 16, seed: 1, evalEvery: 5 }));
    expect(r.evaluations.map((e) => e.step)).toEqual([5, 10, 15, 20]);
    expect(r.final.n).toBe(32);
    expect(r.final.accuracy).toBeGreaterThanOrEqual(0);
    dispose(r);
  });

  it('stops cleanly on an abort signal', async () => {
    const ac = new AbortController();
    const r = await must(
      train(sgdMomentum(), smallProblem(), {
        steps: 100,
        batchSize: 16,
        seed: 1,
        signal: ac.signal,
        listeners: [{ onStep: (m) => (m.step === 5 ? ac.abort() : undefined) }],
      }),
    );
    expect(r.aborted).toBe(true);
    expect(r.stepsRun).toBe(6);
    dispose(r);
  });

  it('writes a JSONL log: header, one line per step, evaluations, end', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'geodesic-')), 'run.jsonl');
    const r = await must(train(sgdMomentum(), smallProblem(), { steps: 7, batchSize: 16, seed: 1, evalEvery: 3, logPath: file, openLog: openJsonl }));
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; loss?: number });
    expect(lines[0]!.type).toBe('run');
    expect(lines.filter((l) => l.type === 'step')).toHaveLength(7);
    expect(lines.filter((l) => l.type === 'step').map((l) => l.loss)).toEqual(r.losses);
    expect(lines.filter((l) => l.type === 'eval')).toHaveLength(3);
    expect(lines.at(-1)!.type).toBe('end');
    dispose(r);
  });

  it('rejects a step with a non-finite loss, halves the lr (no damping) and carries on', async () => {
    const problem = smallProblem((row) => row === 0); // one NaN row: one batch in four is poisoned
    const records: { accepted: boolean; lr: number | undefined; loss: number }[] = [];
    const r = await must(
      train(compileWith(planOf(makeSpec({ step: comp('lr', { eta: 0.05 }) })), smallDef, noEstimator), problem, {
        steps: 16,
        batchSize: 16,
        seed: 2,
        listeners: [{ onStep: (m) => records.push({ accepted: m.accepted, lr: m.lr, loss: m.loss }) }],
      }),
    );
    const bad = records.filter((m) => !m.accepted);
    expect(bad.length).toBeGreaterThan(0);
    expect(bad.every((m) => !Number.isFinite(m.loss))).toBe(true);
    const lrs = records.filter((m) => m.accepted).map((m) => m.lr!);
    expect(Math.min(...lrs)).toBeLessThan(0.05); // halved after a rejection
    expect(r.warnings.some((w) => w.includes('rejected'))).toBe(true);
    const finals = await host(r.lastParams);
    expect(finals.every((a) => a.every(Number.isFinite))).toBe(true);
    dispose(r);
  });

  it('stops after max_failures consecutive failures with the last good parameters', async () => {
    const problem = smallProblem(() => true); // every row NaN
    const spec = makeSpec({ onNonFinite: comp('reject', { max_failures: 3 }) });
    const r = await train(compileWith(planOf(spec), smallDef, noEstimator), problem, { steps: 50, batchSize: 16, seed: 2 })();
    expect(E.isLeft(r)).toBe(true);
    if (E.isRight(r) || r.left._tag !== 'NonFinite') throw new Error('expected NonFinite');
    const result = r.left.result;
    expect(result.stepsRun).toBe(4);
    expect(r.left.message).toMatch(/consecutive non-finite/);
    const init = initParams(smallDef, 2);
    expect(await host(result.lastParams)).toEqual(await host(init));
    disposeParams(init);
    dispose(result);
  });
});
