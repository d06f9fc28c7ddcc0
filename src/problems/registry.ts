/**
 * Built-in problems by name, and `csv:PATH[?…]` for user CSV files (see csv.ts).
 *
 * Architecture choices:
 *  - mnist-autoencoder: 784-1000-500-250-30-250-500-1000-784 as in Hinton & Salakhutdinov (2006)
 *    and the K-FAC paper (Martens & Grosse 2015). Hidden layers use tanh (the papers used
 *    logistic units; tanh is centred, trains faster with first-order baselines and keeps the
 *    benchmark identical in size and cost), the 30-unit code layer is LINEAR, and the 784
 *    outputs are Bernoulli logits (sigmoid cross-entropy summed over pixels) against the input
 *    image in [0, 1].
 *  - mnist-mlp: 784-1000-500-250-30-10 with tanh on every hidden layer (the 30-unit layer too),
 *    categorical (softmax) head — the reference's classifier architecture.
 * Data: MNIST train (60000) / t10k (10000); trainSize/testSize pick seeded subsets.
 * Synthetic problems default to 10000 training and 2000 test examples.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { ActivationName, LayerDef, LikelihoodName, ModelDef } from '../model/types.js';
import { deriveSeed } from '../model/random.js';
import type { LoadOptions, Problem, ProblemError } from './types.js';
import { problemError } from './types.js';
import { mnistDataset, readMnist } from './mnist.js';
import { linearGaussianData, linearGaussianDef, logisticData, logisticDef, teacherStudentData, teacherStudentDef } from './synthetic.js';
import { loadCsvProblem, parseCsvName } from './csv.js';

/** An MLP: dense layers through `widths`, `acts[l]` after dense l (null = linear). */
export function mlpDef(widths: readonly number[], acts: readonly (ActivationName | null)[], likelihood: LikelihoodName): ModelDef {
  const layers: LayerDef[] = [];
  for (let l = 0; l + 1 < widths.length; l++) {
    layers.push({ kind: 'dense', inDim: widths[l]!, outDim: widths[l + 1]! });
    const a = acts[l];
    if (a !== null && a !== undefined) layers.push({ kind: 'activation', fn: a });
  }
  return { inputDim: widths[0]!, layers, likelihood };
}

export const mnistAutoencoderDef: ModelDef = mlpDef(
  [784, 1000, 500, 250, 30, 250, 500, 1000, 784],
  ['tanh', 'tanh', 'tanh', null, 'tanh', 'tanh', 'tanh', null],
  'bernoulli',
);

export const mnistMlpDef: ModelDef = mlpDef([784, 1000, 500, 250, 30, 10], ['tanh', 'tanh', 'tanh', 'tanh', null], 'categorical');

const SYNTH_TRAIN = 10000;
const SYNTH_TEST = 2000;

interface BuiltIn {
  readonly description: string;
  /** The model, without loading any data (for cost estimates). */
  readonly def: () => ModelDef;
  readonly load: (o: LoadOptions) => TE.TaskEither<ProblemError, Problem>;
}

function synthetic(
  name: string,
  description: string,
  def: () => ModelDef,
  data: (seed: number, n: number, split: 'train' | 'test') => Problem['train'],
): BuiltIn {
  return {
    description,
    def,
    load: (o) =>
      TE.right({
        name,
        description,
        def: def(),
        train: data(o.seed, o.trainSize ?? SYNTH_TRAIN, 'train'),
        test: data(o.seed, o.testSize ?? SYNTH_TEST, 'test'),
      }),
  };
}

function mnist(name: string, description: string, def: ModelDef, target: 'label' | 'image'): BuiltIn {
  return {
    description,
    def: () => def,
    load: (o) =>
      pipe(
        TE.Do,
        TE.apS('train', readMnist('train')),
        TE.apS('test', readMnist('t10k')),
        TE.map(({ train, test }) => ({
          name,
          description,
          def,
          train: mnistDataset(train, target, o.trainSize, deriveSeed(o.seed, 1)),
          test: mnistDataset(test, target, o.testSize, deriveSeed(o.seed, 2)),
        })),
      ),
  };
}

export const builtInProblems: Readonly<Record<string, BuiltIn>> = {
  'mnist-autoencoder': mnist(
    'mnist-autoencoder',
    'MNIST deep autoencoder 784-1000-500-250-30-250-500-1000-784 (tanh, linear code layer), bernoulli loss on pixels',
    mnistAutoencoderDef,
    'image',
  ),
  'mnist-mlp': mnist('mnist-mlp', 'MNIST classifier 784-1000-500-250-30-10 (tanh), softmax cross-entropy', mnistMlpDef, 'label'),
  logistic: synthetic('logistic', 'synthetic logistic regression: 20 gaussian features, labels from a random true weight vector', logisticDef, logisticData),
  'teacher-student': synthetic(
    'teacher-student',
    'synthetic regression: a 10-32-5 tanh teacher plus noise 0.1, fitted by a 10-64-5 tanh student (gaussian)',
    teacherStudentDef,
    teacherStudentData,
  ),
  'linear-gaussian': synthetic(
    'linear-gaussian',
    'linear-gaussian regression, 6 correlated gaussian inputs → 3 outputs with unit noise; Fisher E[x̄x̄ᵀ] ⊗ I known in closed form',
    linearGaussianDef,
    linearGaussianData,
  ),
};

export const problemNames: readonly string[] = Object.keys(builtInProblems);

/** The model of a built-in problem, without its data. */
export function problemModel(name: string): E.Either<ProblemError, ModelDef> {
  const p = builtInProblems[name];
  return p === undefined ? E.left(problemError.unknown(name, problemNames)) : E.right(p.def());
}

function checkOptions(o: LoadOptions): E.Either<ProblemError, LoadOptions> {
  if (!Number.isFinite(o.seed)) return E.left(problemError.option('seed', `must be a finite number, got ${o.seed}`));
  for (const key of ['trainSize', 'testSize'] as const) {
    const v = o[key];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) return E.left(problemError.option(key, `must be a positive integer, got ${v}`));
  }
  return E.right(o);
}

export function loadProblem(name: string, options: LoadOptions): TE.TaskEither<ProblemError, Problem> {
  return pipe(
    TE.fromEither(checkOptions(options)),
    TE.chain((o) => {
      if (name.startsWith('csv:')) {
        return pipe(
          TE.fromEither(parseCsvName(name, o.seed)),
          TE.chain(({ path, options: csvOptions }) =>
            loadCsvProblem(path, {
              ...csvOptions,
              ...(o.trainSize === undefined ? {} : { trainSize: o.trainSize }),
              ...(o.testSize === undefined ? {} : { testSize: o.testSize }),
            }),
          ),
        );
      }
      const p = builtInProblems[name];
      return p === undefined ? TE.left(problemError.unknown(name, problemNames)) : p.load(o);
    }),
  );
}
