/**
 * `geodesic train SPEC [--optimizer NAME] --problem P [--steps N] [--batch B] [--seed S]
 *   [--backend auto|native|wasm|cpu|tensorflow] [--log run.jsonl] [--eval-every K] [--train-size N]`
 *
 * Check → plan → compile → train. Prints the chosen backend (and why) once, a progress bar on a TTY
 * (steps/s, loss, ETA) or plain periodic lines otherwise, and a final summary table. Ctrl-C stops
 * after the current step, still printing the summary and keeping the log (exit 130).
 */
import * as path from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { defaultOptimizer, loadSpec } from '../language/files.js';
import type { OptimizerSpec } from '../language/spec.js';
import { compile, plan } from '../optim/index.js';
import { loadProblem } from '../problems/index.js';
import { BACKEND_NAMES, selectBackend, type BackendName } from '../backend/select.js';
import { train, type EvalRecord, type RunResult, type StepRecord } from '../train/train.js';
import { openJsonl } from '../train/log.js';
import { disposeParams } from '../model/index.js';
import { withArgs, type CommandSpec } from './args.js';

export const summary = 'train a model with an optimizer spec and report the losses';

export const spec: CommandSpec = {
  name: 'train',
  usage: 'SPEC',
  summary,
  description:
    'Checks SPEC, plans and compiles the optimizer, loads the problem and trains. The backend and the\n' +
    'reason it was chosen are printed once; progress goes to stderr (a bar on a terminal, plain lines\n' +
    'otherwise); the summary table goes to stdout. Ctrl-C stops cleanly after the current step.\n' +
    'Problems: mnist-autoencoder, mnist-mlp, mnist-subset, logistic, teacher-student, linear-gaussian, csv:PATH.\n' +
    'Exit status: 0 done, 1 spec/problem/training error, 2 usage error, 130 interrupted.',
  flags: {
    optimizer: { type: 'string', value: 'NAME', doc: 'optimizer block to use (default: the only one, or the one named after the file)' },
    problem: { type: 'string', value: 'P', doc: 'problem to train on (required)' },
    steps: { type: 'string', value: 'N', doc: 'optimizer steps', default: '100' },
    batch: { type: 'string', value: 'B', doc: 'minibatch size', default: '100' },
    seed: { type: 'string', value: 'S', doc: 'seed for data, initialization and sampling', default: '0' },
    backend: { type: 'string', value: 'NAME', doc: `tfjs backend: ${BACKEND_NAMES.join('|')}`, default: 'auto' },
    log: { type: 'string', value: 'FILE', doc: 'write per-step metrics as JSON lines' },
    'eval-every': { type: 'string', value: 'K', doc: 'evaluate on held-out data every K steps (0: at the end only)', default: '0' },
    'train-size': { type: 'string', value: 'N', doc: 'subsample the training set to N examples' },
    'test-size': { type: 'string', value: 'N', doc: 'subsample the test set to N examples' },
  },
  minPositionals: 1,
  maxPositionals: 1,
};

const fail = (message: string, code = 1): number => {
  process.stderr.write(`geodesic train: ${message}\n`);
  return code;
};

function intFlag(name: string, v: string | boolean | undefined, min: number): E.Either<string, number | undefined> {
  if (v === undefined || typeof v === 'boolean') return E.right(undefined);
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) return E.left(`--${name} must be an integer ≥ ${min}, got '${v}'`);
  return E.right(n);
}

function pickOptimizer(opts: readonly OptimizerSpec[], file: string, wanted: string | undefined): E.Either<string, OptimizerSpec> {
  if (wanted !== undefined) {
    const found = opts.find((o) => o.name === wanted);
    return found ? E.right(found) : E.left(`${file} has no optimizer '${wanted}' (it has: ${opts.map((o) => o.name).join(', ')})`);
  }
  const own = opts.filter((o) => path.normalize(o.span.file) === path.normalize(file));
  const candidates = own.length > 0 ? own : opts;
  return defaultOptimizer(candidates, (o) => o.name, file);
}

const fmt = (x: number | undefined, digits = 4): string =>
  x === undefined || Number.isNaN(x) ? '–' : Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(digits - 1) : x.toFixed(digits);

const duration = (ms: number): string => {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

/** Progress: a redrawn bar on a TTY, else one plain line every ~5% of the run. */
function progressReporter(steps: number, tty: boolean) {
  const width = 24;
  let lastDraw = 0;
  const every = Math.max(1, Math.round(steps / 20));
  return {
    step(r: StepRecord) {
      const done = r.step + 1;
      const rate = done / (r.wallMs / 1000);
      const eta = (steps - done) / rate;
      const text = `${done}/${steps} ${rate.toFixed(1)} steps/s loss ${fmt(r.loss)} ETA ${duration(eta * 1000)}${r.accepted ? '' : ' (rejected)'}`;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 80 && done < steps) return;
        lastDraw = now;
        const filled = Math.round((done / steps) * width);
        process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
      } else if (done % every === 0 || done === steps) {
        process.stderr.write(`step ${text}\n`);
      }
    },
    eval(e: EvalRecord, final: boolean) {
      const line = `${final ? 'final' : 'eval'} @${e.step}: test loss ${fmt(e.loss)}${e.accuracy === undefined ? '' : `, accuracy ${(100 * e.accuracy).toFixed(2)}%`}`;
      process.stderr.write(tty ? `\r\x1b[K${line}\n` : `${line}\n`);
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}

function summaryTable(rows: readonly (readonly [string, string])[]): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

export async function run(argv: string[]): Promise<number> {
  return withArgs(spec, argv, async ({ flags, positionals }) => {
    const file = positionals[0]!;
    const problemName = flags['problem'];
    if (typeof problemName !== 'string') return fail('--problem P is required (mnist-autoencoder, mnist-mlp, mnist-subset, logistic, teacher-student, linear-gaussian, csv:PATH)', 2);
    const backend = String(flags['backend']) as BackendName;
    if (!BACKEND_NAMES.includes(backend)) return fail(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got '${backend}'`, 2);
    const ints = {
      steps: intFlag('steps', flags['steps'], 0),
      batch: intFlag('batch', flags['batch'], 1),
      seed: intFlag('seed', flags['seed'], 0),
      evalEvery: intFlag('eval-every', flags['eval-every'], 0),
      trainSize: intFlag('train-size', flags['train-size'], 1),
      testSize: intFlag('test-size', flags['test-size'], 1),
    };
    const values: Record<string, number | undefined> = {};
    for (const [k, v] of Object.entries(ints)) {
      if (E.isLeft(v)) return fail(v.left, 2);
      values[k] = v.right;
    }
    const steps = values['steps']!;
    const batch = values['batch']!;
    const seed = values['seed']!;

    const checked = loadSpec(file);
    if (E.isLeft(checked)) {
      process.stderr.write(checked.left);
      return 1;
    }
    const chosen = pickOptimizer(checked.right.optimizers, file, typeof flags['optimizer'] === 'string' ? flags['optimizer'] : undefined);
    if (E.isLeft(chosen)) return fail(chosen.left);
    const planned = plan(chosen.right);
    if (E.isLeft(planned)) {
      const s = planned.left.span;
      return fail(`${s ? `${s.file}:${s.line}:${s.column}: ` : ''}${planned.left.message}`);
    }

    let backendChoice: { name: string; reason: string };
    try {
      backendChoice = await selectBackend(backend);
    } catch (err) {
      return fail(err instanceof Error ? err.message.replace(/^geodesic: /, '') : String(err));
    }
    process.stderr.write(`backend: ${backendChoice.name} (${backendChoice.reason})\n`);

    const loaded = await loadProblem(problemName, {
      seed,
      ...(values['trainSize'] === undefined ? {} : { trainSize: values['trainSize'] }),
      ...(values['testSize'] === undefined ? {} : { testSize: values['testSize'] }),
    })();
    if (E.isLeft(loaded)) return fail(loaded.left.message);
    const problem = loaded.right;

    let optimizer;
    try {
      optimizer = compile(planned.right, problem.def);
    } catch (err) {
      return fail(`cannot compile ${chosen.right.name} for ${problem.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    process.stderr.write(
      `training ${chosen.right.name} on ${problem.name} (${problem.train.n} train / ${problem.test.n} test examples), ${steps} steps of batch ${Math.min(batch, problem.train.n)}, seed ${seed}\n`,
    );

    const abort = new AbortController();
    const onSigint = () => {
      if (abort.signal.aborted) process.exit(130);
      abort.abort();
      process.stderr.write('\ninterrupted: finishing the current step (Ctrl-C again to quit at once)\n');
    };
    process.on('SIGINT', onSigint);
    const progress = progressReporter(steps, process.stderr.isTTY === true);
    const warnings = new Map<string, number>();
    const result = await train(optimizer, problem, {
      steps,
      batchSize: batch,
      seed,
      evalEvery: values['evalEvery'] ?? 0,
      signal: abort.signal,
      ...(typeof flags['log'] === 'string' ? { logPath: flags['log'], openLog: openJsonl } : {}),
      logHeader: { spec: file, backendReason: backendChoice.reason },
      listeners: [
        {
          onStep: (r) => progress.step(r),
          onEval: (e) => progress.eval(e, e.final),
          onWarning: (m) => {
            const key = m.replace(/^step \d+: /, '').replace(/\(\d+ consecutive\)/, '');
            const n = (warnings.get(key) ?? 0) + 1;
            warnings.set(key, n);
            if (n <= 3) process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}warning: ${m}\n`);
          },
        },
      ],
    })();
    process.off('SIGINT', onSigint);
    progress.end();

    const report = (r: RunResult, status: string) => {
      const losses = r.losses.filter(Number.isFinite);
      const stepsTimed = Math.max(r.stepsRun, 1);
      process.stdout.write(
        summaryTable([
          ['optimizer', `${chosen.right.name}${chosen.right.title ? ` — ${chosen.right.title}` : ''}`],
          ['problem', problem.name],
          ['backend', backendChoice.name],
          ['status', status],
          ['steps', `${r.stepsRun}${r.rejectedSteps > 0 ? ` (${r.rejectedSteps} rejected)` : ''}`],
          ['first loss', fmt(losses[0])],
          ['last loss', fmt(losses.at(-1))],
          ['test loss', fmt(r.final.loss)],
          ...(r.final.accuracy === undefined ? [] : ([['test accuracy', `${(100 * r.final.accuracy).toFixed(2)}%`]] as const)),
          ['wall time', `${(r.wallMs / 1000).toFixed(1)} s (${(r.wallMs / stepsTimed).toFixed(1)} ms/step)`],
          ...(typeof flags['log'] === 'string' ? ([['log', flags['log']]] as const) : []),
        ]),
      );
      disposeParams(r.params);
      disposeParams(r.lastParams);
    };
    if (E.isLeft(result)) {
      const err = result.left;
      if (err._tag === 'NonFinite') {
        report(err.result, 'stopped: non-finite steps');
        return fail(err.message);
      }
      return fail(err.message);
    }
    report(result.right, result.right.aborted ? 'interrupted' : 'done');
    return result.right.aborted ? 130 : 0;
  });
}
