/** Public surface of `src/problems`. */
export type { Dataset, Problem, ProblemError, LoadOptions } from './types.js';
export { problemError } from './types.js';
export { loadProblem, builtInProblems, problemNames, problemModel, mnistAutoencoderDef, mnistMlpDef, mnistSubsetDef, MNIST_SUBSET, mlpDef } from './registry.js';
export { syntheticProblems, loadFrom, mnistSubsetProblem, type MnistReader } from './builtin.js';
export { makeDataset, subset, subsample, batchFrom, fullBatch, shuffledBatches, batchSampler } from './dataset.js';
export type { BatchSampler } from './dataset.js';
export { parseIdx } from './idx.js';
export type { IdxArray } from './idx.js';
export { readIdx, readMnist, mnistDataset, mnistDataDir, firstRows } from './mnist.js';
export type { MnistRaw, MnistSplit } from './mnist.js';
export {
  linearGaussianSpec,
  linearGaussianFisher,
  linearGaussianSecondMoment,
  linearGaussianDef,
  linearGaussianData,
  kronIdentity,
  logisticDef,
  logisticSpec,
  logisticData,
  teacherStudentDef,
  teacherStudentData,
} from './synthetic.js';
export type { LinearGaussianSpec } from './synthetic.js';
export { parseCsv, csvProblem, loadCsvProblem, parseCsvName } from './csv.js';
export type { CsvTable, CsvProblemOptions } from './csv.js';
