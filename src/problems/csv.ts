/**
 * User data from CSV files. Deliberately simple:
 *  - one record per line, comma-separated, no quoted commas; blank lines and lines starting
 *    with '#' are skipped; surrounding double quotes around header names are removed;
 *  - the first record is a header when any of its fields is not a number;
 *  - every data field must be a finite number (errors name the line and column);
 *  - targets are the `targetColumns` (names from the header or 0-based indices; default: the
 *    last column), features are all other columns, used as they are (no scaling);
 *  - categorical: one target column holding class indices 0..C−1, one-hot encoded
 *    (C = `numClasses` or the largest label + 1); bernoulli: targets in [0, 1];
 *  - the model is dense layers `hidden` with `activation` (default tanh) and a linear output;
 *  - a seeded shuffle puts `testFraction` (default 0.2) of the rows in the test set.
 */
import { readFile } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import * as TE from 'fp-ts/lib/TaskEither.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { ActivationName, LayerDef, LikelihoodName, ModelDef } from '../model/types.js';
import { deriveSeed, permutation } from '../model/random.js';
import type { Dataset, Problem, ProblemError } from './types.js';
import { problemError } from './types.js';
import { subset } from './dataset.js';

export interface CsvTable {
  /** Column names (from the header, or "0", "1", … without one). */
  readonly columns: readonly string[];
  readonly hasHeader: boolean;
  readonly n: number;
  /** Row-major values, n × columns.length. */
  readonly data: Float64Array;
}

const isNumber = (s: string): boolean => s.trim() !== '' && Number.isFinite(Number(s));

export function parseCsv(text: string, path: string): E.Either<ProblemError, CsvTable> {
  const lines = text.split(/\r?\n/);
  let columns: string[] | null = null;
  let hasHeader = false;
  const values: number[] = [];
  let n = 0;
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(',').map((f) => f.trim());
    if (columns === null) {
      if (fields.some((f) => !isNumber(f))) {
        columns = fields.map((f) => f.replace(/^"(.*)"$/, '$1'));
        hasHeader = true;
        continue;
      }
      columns = fields.map((_, i) => String(i));
    }
    if (fields.length !== columns.length) {
      return E.left(problemError.parse(path, `expected ${columns.length} fields, found ${fields.length}`, li + 1));
    }
    for (let c = 0; c < fields.length; c++) {
      if (!isNumber(fields[c]!)) {
        return E.left(problemError.parse(path, `column ${c + 1} ('${columns[c]}'): '${fields[c]}' is not a number`, li + 1));
      }
      values.push(Number(fields[c]));
    }
    n++;
  }
  if (columns === null || n === 0) return E.left(problemError.parse(path, 'no data rows'));
  if (columns.length < 2) return E.left(problemError.parse(path, 'need at least two columns (features and a target)'));
  return E.right({ columns, hasHeader, n, data: Float64Array.from(values) });
}

export interface CsvProblemOptions {
  readonly seed: number;
  readonly targetColumns?: readonly (string | number)[];
  readonly likelihood?: LikelihoodName;
  readonly hidden?: readonly number[];
  readonly activation?: ActivationName;
  readonly numClasses?: number;
  readonly testFraction?: number;
  readonly trainSize?: number;
  readonly testSize?: number;
}

function resolveColumn(table: CsvTable, c: string | number, path: string): E.Either<ProblemError, number> {
  if (typeof c === 'string') {
    const byName = table.columns.indexOf(c);
    if (byName >= 0) return E.right(byName);
    if (/^\d+$/.test(c)) c = Number(c);
    else return E.left(problemError.option('targetColumns', `${path} has no column '${c}' (columns: ${table.columns.join(', ')})`));
  }
  if (!(Number.isInteger(c) && c >= 0 && c < table.columns.length)) {
    return E.left(problemError.option('targetColumns', `column index ${c} out of range [0, ${table.columns.length}) in ${path}`));
  }
  return E.right(c);
}

/** A Problem from a parsed table (pure). */
export function csvProblem(table: CsvTable, path: string, options: CsvProblemOptions): E.Either<ProblemError, Problem> {
  const likelihood = options.likelihood ?? 'gaussian';
  const activation = options.activation ?? 'tanh';
  const hidden = options.hidden ?? [];
  const testFraction = options.testFraction ?? 0.2;
  if (!(testFraction >= 0 && testFraction < 1)) return E.left(problemError.option('testFraction', `must be in [0, 1), got ${testFraction}`));
  if (hidden.some((h) => !(Number.isInteger(h) && h > 0))) return E.left(problemError.option('hidden', `layer widths must be positive integers, got [${hidden.join(', ')}]`));
  const targetSpec = options.targetColumns ?? [table.columns.length - 1];
  const targets: number[] = [];
  for (const c of targetSpec) {
    const r = resolveColumn(table, c, path);
    if (E.isLeft(r)) return r;
    if (!targets.includes(r.right)) targets.push(r.right);
  }
  if (targets.length === 0) return E.left(problemError.option('targetColumns', 'at least one target column is needed'));
  const features = table.columns.map((_, i) => i).filter((i) => !targets.includes(i));
  if (features.length === 0) return E.left(problemError.option('targetColumns', 'every column is a target; no features left'));
  const m = table.columns.length;
  const { n, data } = table;
  let yDim = targets.length;
  if (likelihood === 'categorical') {
    if (targets.length !== 1) return E.left(problemError.option('targetColumns', 'categorical needs exactly one target column of class indices'));
    let max = 0;
    for (let r = 0; r < n; r++) {
      const v = data[r * m + targets[0]!]!;
      if (!(Number.isInteger(v) && v >= 0)) return E.left(problemError.parse(path, `class label ${v} in row ${r + 1} is not a non-negative integer`));
      max = Math.max(max, v);
    }
    yDim = options.numClasses ?? max + 1;
    if (max >= yDim) return E.left(problemError.option('numClasses', `label ${max} needs at least ${max + 1} classes, got ${yDim}`));
  } else if (likelihood === 'bernoulli') {
    for (let r = 0; r < n; r++) {
      for (const t of targets) {
        const v = data[r * m + t]!;
        if (!(v >= 0 && v <= 1)) return E.left(problemError.parse(path, `bernoulli target ${v} in row ${r + 1} is outside [0, 1]`));
      }
    }
  }
  const xDim = features.length;
  const x = new Float32Array(n * xDim);
  const y = new Float32Array(n * yDim);
  for (let r = 0; r < n; r++) {
    features.forEach((c, j) => (x[r * xDim + j] = data[r * m + c]!));
    if (likelihood === 'categorical') y[r * yDim + data[r * m + targets[0]!]!] = 1;
    else targets.forEach((c, j) => (y[r * yDim + j] = data[r * m + c]!));
  }
  const all: Dataset = { x, y, n, xDim, yDim };
  const perm = permutation(n, deriveSeed(options.seed, 3));
  const nTest = Math.floor(n * testFraction);
  const testIdx = perm.subarray(0, Math.min(nTest, options.testSize ?? nTest));
  const trainIdx = perm.subarray(nTest, nTest + Math.min(n - nTest, options.trainSize ?? n - nTest));
  if (trainIdx.length === 0) return E.left(problemError.option('testFraction', `no training rows left out of ${n}`));
  const layers: LayerDef[] = [];
  let width = xDim;
  for (const h of hidden) {
    layers.push({ kind: 'dense', inDim: width, outDim: h }, { kind: 'activation', fn: activation });
    width = h;
  }
  layers.push({ kind: 'dense', inDim: width, outDim: yDim });
  const def: ModelDef = { inputDim: xDim, likelihood, layers };
  const targetNames = targets.map((t) => table.columns[t]).join(', ');
  return E.right({
    name: `csv:${path}`,
    description: `${path}: ${n} rows, ${xDim} features → ${targetNames} (${likelihood}), hidden [${hidden.join(', ')}]`,
    def,
    train: subset(all, trainIdx),
    test: subset(all, testIdx),
  });
}

export function loadCsvProblem(path: string, options: CsvProblemOptions): TE.TaskEither<ProblemError, Problem> {
  return pipe(
    TE.tryCatch(() => readFile(path, 'utf8'), (e) => problemError.file(path, e)),
    TE.chainEitherK((text) => parseCsv(text, path)),
    TE.chainEitherK((table) => csvProblem(table, path, options)),
  );
}

/**
 * `csv:PATH[?key=value&…]` → path and options. Keys: target (comma-separated names or indices),
 * likelihood, hidden (comma-separated widths), activation, classes, test (fraction).
 */
export function parseCsvName(name: string, seed: number): E.Either<ProblemError, { path: string; options: CsvProblemOptions }> {
  const rest = name.slice('csv:'.length);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  if (path === '') return E.left(problemError.option('problem', "csv problems are named 'csv:PATH'"));
  const opts: { -readonly [K in keyof CsvProblemOptions]: CsvProblemOptions[K] } = { seed };
  if (q >= 0) {
    for (const pair of rest.slice(q + 1).split('&')) {
      const [key, value = ''] = pair.split('=');
      const list = value.split(',').filter((s) => s !== '');
      switch (key) {
        case 'target':
          opts.targetColumns = list;
          break;
        case 'likelihood':
          if (!['categorical', 'gaussian', 'bernoulli'].includes(value)) return E.left(problemError.option('likelihood', `must be categorical, gaussian or bernoulli, got '${value}'`));
          opts.likelihood = value as LikelihoodName;
          break;
        case 'hidden':
          opts.hidden = list.map(Number);
          break;
        case 'activation':
          if (!['tanh', 'relu', 'sigmoid', 'softplus', 'identity'].includes(value)) return E.left(problemError.option('activation', `unknown activation '${value}'`));
          opts.activation = value as ActivationName;
          break;
        case 'classes':
          opts.numClasses = Number(value);
          break;
        case 'test':
          opts.testFraction = Number(value);
          break;
        default:
          return E.left(problemError.option('problem', `unknown csv option '${key}' (known: target, likelihood, hidden, activation, classes, test)`));
      }
    }
  }
  return E.right({ path, options: opts });
}
