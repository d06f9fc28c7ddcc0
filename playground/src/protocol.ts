/** Messages between the page and its Web Workers (one worker per run, one for Prove). */
import type { PortableBackendName } from '../../src/backend/names.js';

export interface TrainRequest {
  readonly type: 'train';
  readonly spec: string;
  readonly optimizer?: string;
  readonly problem: string;
  readonly steps: number;
  readonly batch: number;
  readonly seed: number;
  readonly evalEvery: number;
  readonly backend: PortableBackendName;
}

export interface ProveRequest {
  readonly type: 'prove';
  readonly spec: string;
  readonly optimizer?: string;
  readonly family: string;
  readonly runs: number;
  readonly seed: number;
}

export type Request = TrainRequest | ProveRequest | { readonly type: 'stop' };

export interface StepPoint {
  readonly step: number;
  readonly loss: number;
  readonly damping: number;
  readonly alpha: number | null;
  readonly mu: number | null;
  readonly accepted: boolean;
}

export type Reply =
  | { readonly type: 'started'; readonly backend: string; readonly reason: string; readonly optimizer: string; readonly problem: string; readonly trainN: number; readonly testN: number }
  | { readonly type: 'step'; readonly point: StepPoint }
  | { readonly type: 'eval'; readonly step: number; readonly loss: number; readonly accuracy: number | null; readonly final: boolean }
  /** tensorsBefore: tf.memory().numTensors before compiling; tensorsAfter: once the run's results are disposed (equal: no leak). */
  | { readonly type: 'done'; readonly stepsRun: number; readonly aborted: boolean; readonly wallMs: number; readonly losses: readonly number[]; readonly tensorsBefore: number; readonly tensorsAfter: number }
  | {
      readonly type: 'proved';
      readonly title: string;
      readonly predicted: string;
      readonly holds: boolean;
      readonly evaluated: number;
      readonly statistic: string;
      readonly counterexample: string | null;
      readonly error: string | null;
    }
  | { readonly type: 'error'; readonly message: string };
