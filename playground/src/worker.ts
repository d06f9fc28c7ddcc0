/**
 * The playground's Web Worker: trains a spec or proves a property off the page's thread, with the
 * same portable code the CLI runs (check → plan → compile → train; geodesic/testing's properties),
 * and posts each step back. One worker per run: the tfjs backend is global to a worker.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import { checkText } from '../../src/language/check.js';
import { defaultOptimizer } from '../../src/language/choose.js';
import { renderAll } from '../../src/language/diagnostics.js';
import type { OptimizerSpec } from '../../src/language/spec.js';
import { compile, plan } from '../../src/optim/index.js';
import { loadFrom, mnistSubsetProblem, syntheticProblems, type BuiltIn, type MnistReader } from '../../src/problems/builtin.js';
import { parseIdx } from '../../src/problems/idx.js';
import { validateMnist } from '../../src/problems/mnistData.js';
import { problemError } from '../../src/problems/types.js';
import { selectPortableBackend } from '../../src/backend/portable.js';
import { train } from '../../src/train/train.js';
import { disposeParams } from '../../src/model/index.js';
import { FAMILIES, type Family } from '../../src/testing/reparam.js';
import { predictInvariance } from '../../src/testing/predict.js';
import { reparametrizationInvariance } from '../../src/testing/properties/invariance.js';
import { checkProperty } from '../../src/testing/properties/types.js';
import type { ProveRequest, Reply, Request, TrainRequest } from './protocol.js';

const SPEC_FILE = 'playground.optim';
const base = new URL('./', self.location.href).href;
const post = (r: Reply): void => self.postMessage(r);
let abort: AbortController | undefined;

const fetchBytes = (name: string) =>
  TE.tryCatch(
    async () => {
      const res = await fetch(new URL(`mnist/${name}`, base));
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    },
    (e) => problemError.file(`mnist/${name}`, e),
  );

/** The MNIST subset shipped with the page (dist/playground/mnist/, written by playground/build.mjs). */
const shippedMnist: MnistReader = (split) =>
  pipe(
    TE.Do,
    TE.apS('images', pipe(fetchBytes(`${split}-images-idx3-ubyte`), TE.chainEitherK((b) => parseIdx(b, `${split}-images-idx3-ubyte`)))),
    TE.apS('labels', pipe(fetchBytes(`${split}-labels-idx1-ubyte`), TE.chainEitherK((b) => parseIdx(b, `${split}-labels-idx1-ubyte`)))),
    TE.chainEitherK(({ images, labels }) => validateMnist(images, labels, `${split}-images-idx3-ubyte`, `${split}-labels-idx1-ubyte`)),
  );

const problems: Readonly<Record<string, BuiltIn>> = { ...syntheticProblems, 'mnist-subset': mnistSubsetProblem(shippedMnist) };

/** The checked optimizer of the text (the named one, or the only one / the first defined). */
function chooseOptimizer(text: string, wanted: string | undefined): E.Either<string, OptimizerSpec> {
  const r = checkText(SPEC_FILE, text);
  if (E.isLeft(r.specs)) return E.left(renderAll(r.specs.left, (f) => r.sources.get(f)));
  const all = r.specs.right[0]!.optimizers;
  if (wanted !== undefined && wanted !== '') {
    const found = all.find((o) => o.name === wanted);
    return found === undefined ? E.left(`the spec has no optimizer '${wanted}' (it has: ${all.map((o) => o.name).join(', ')})`) : E.right(found);
  }
  return all.length === 0 ? E.left('the spec defines no optimizer') : defaultOptimizer(all, (o) => o.name, SPEC_FILE);
}

async function runTrain(req: TrainRequest): Promise<void> {
  const chosen = chooseOptimizer(req.spec, req.optimizer);
  if (E.isLeft(chosen)) return post({ type: 'error', message: chosen.left });
  const planned = plan(chosen.right);
  if (E.isLeft(planned)) return post({ type: 'error', message: planned.left.message });
  const backend = await selectPortableBackend(req.backend, { wasmPaths: new URL('wasm/', base).href });
  const loaded = await loadFrom(problems, req.problem, { seed: req.seed })();
  if (E.isLeft(loaded)) return post({ type: 'error', message: loaded.left.message });
  const problem = loaded.right;
  const tensorsBefore = tf.memory().numTensors;
  const optimizer = compile(planned.right, problem.def);
  post({ type: 'started', backend: backend.name, reason: backend.reason, optimizer: chosen.right.name, problem: problem.name, trainN: problem.train.n, testN: problem.test.n });
  abort = new AbortController();
  const result = await train(optimizer, problem, {
    steps: req.steps,
    batchSize: req.batch,
    seed: req.seed,
    evalEvery: req.evalEvery,
    signal: abort.signal,
    listeners: [
      {
        onStep: (r) => post({ type: 'step', point: { step: r.step, loss: r.loss, damping: r.damping, alpha: r.alpha ?? null, mu: r.mu ?? null, accepted: r.accepted } }),
        onEval: (e) => post({ type: 'eval', step: e.step, loss: e.loss, accuracy: e.accuracy ?? null, final: e.final }),
      },
    ],
  })();
  if (E.isLeft(result)) {
    if (result.left._tag === 'NonFinite') {
      disposeParams(result.left.result.params);
      disposeParams(result.left.result.lastParams);
    }
    return post({ type: 'error', message: result.left.message });
  }
  const r = result.right;
  disposeParams(r.params);
  if (r.lastParams !== r.params) disposeParams(r.lastParams);
  post({ type: 'done', stepsRun: r.stepsRun, aborted: r.aborted, wallMs: r.wallMs, losses: r.losses, tensorsBefore, tensorsAfter: tf.memory().numTensors });
}

async function runProve(req: ProveRequest): Promise<void> {
  if (!FAMILIES.includes(req.family as Family)) return post({ type: 'error', message: `unknown family '${req.family}' (known: ${FAMILIES.join(', ')})` });
  const family = req.family as Family;
  const chosen = chooseOptimizer(req.spec, req.optimizer);
  if (E.isLeft(chosen)) return post({ type: 'error', message: chosen.left });
  const planned = plan(chosen.right);
  if (E.isLeft(planned)) return post({ type: 'error', message: planned.left.message });
  await selectPortableBackend('cpu', { wasmPaths: new URL('wasm/', base).href }); // the numerical oracle, as `geodesic prove`
  const pred = predictInvariance(planned.right, family);
  const title = `${planned.right.name}: invariance under ${family}`;
  if (pred.invariant === undefined) return post({ type: 'proved', title, predicted: `n/a: ${pred.reason}`, holds: true, evaluated: 0, statistic: '', counterexample: null, error: null });
  const p = reparametrizationInvariance(planned.right, family, { damping: 'vanishing' });
  const r = checkProperty(p, { numRuns: req.runs, seed: req.seed });
  const fmt = (x: number) => (Number.isFinite(x) ? x.toExponential(3) : String(x));
  post({
    type: 'proved',
    title,
    predicted: `${pred.invariant ? 'invariant' : 'not invariant'}: ${pred.reason}`,
    holds: r.holds,
    evaluated: r.evaluated,
    statistic: `${p.statisticName}: largest ${fmt(r.worst)}, smallest ${fmt(r.best)}`,
    counterexample: r.holds ? null : r.report,
    error: r.error ?? null,
  });
}

self.onmessage = (e: MessageEvent<Request>) => {
  const req = e.data;
  const fail = (err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message.replace(/^geodesic: /, '') : String(err) });
  if (req.type === 'stop') abort?.abort();
  else if (req.type === 'train') runTrain(req).catch(fail);
  else runProve(req).catch(fail);
};
