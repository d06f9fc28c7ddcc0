/**
 * Problems: a model definition with its training and test data. Data are host Float32Arrays,
 * row-major; targets follow `Batch` (one-hot rows for categorical, real vectors for gaussian,
 * values in [0, 1] for bernoulli).
 */
import type { ModelDef } from '../model/types.js';

export interface Dataset {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly n: number;
  readonly xDim: number;
  readonly yDim: number;
}

export interface Problem {
  readonly name: string;
  readonly description: string;
  readonly def: ModelDef;
  readonly train: Dataset;
  readonly test: Dataset;
}

export interface LoadOptions {
  readonly seed: number;
  readonly trainSize?: number;
  readonly testSize?: number;
}

/** Why a problem could not be loaded. `message` is a complete, human-readable sentence. */
export type ProblemError =
  | { readonly _tag: 'UnknownProblem'; readonly name: string; readonly known: readonly string[]; readonly message: string }
  | { readonly _tag: 'InvalidOption'; readonly option: string; readonly message: string }
  | { readonly _tag: 'FileError'; readonly path: string; readonly message: string }
  | { readonly _tag: 'ParseError'; readonly path: string; readonly line?: number; readonly message: string };

export const problemError = {
  unknown: (name: string, known: readonly string[]): ProblemError => ({
    _tag: 'UnknownProblem',
    name,
    known,
    message: `unknown problem '${name}'; known problems: ${known.join(', ')}, or csv:PATH`,
  }),
  option: (option: string, message: string): ProblemError => ({ _tag: 'InvalidOption', option, message: `${option}: ${message}` }),
  file: (path: string, cause: unknown): ProblemError => ({
    _tag: 'FileError',
    path,
    message: `cannot read ${path}: ${cause instanceof Error ? cause.message : String(cause)}`,
  }),
  parse: (path: string, message: string, line?: number): ProblemError =>
    line === undefined ? { _tag: 'ParseError', path, message: `${path}: ${message}` } : { _tag: 'ParseError', path, line, message: `${path}:${line}: ${message}` },
};
