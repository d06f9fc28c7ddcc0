/** A small synthetic classification problem for loop tests (structurally a `Problem`). */
import { makeRng } from '../../src/model/index.js';
import type { Dataset, TrainProblem } from '../../src/train/data.js';
import { smallDef } from '../optim/helpers.js';

export function dataset(n: number, seed: number, poison?: (row: number) => boolean): Dataset {
  const rng = makeRng(seed);
  const x = new Float32Array(n * 5);
  const y = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 5; j++) x[i * 5 + j] = poison?.(i) ? NaN : rng.normal();
    const s = x[i * 5]! + 0.5 * x[i * 5 + 1]! - x[i * 5 + 2]!;
    y[i * 3 + (s > 0.5 ? 0 : s < -0.5 ? 1 : 2)] = 1;
  }
  return { x, y, n, xDim: 5, yDim: 3 };
}

export function smallProblem(poison?: (row: number) => boolean): TrainProblem {
  return { name: 'small', def: smallDef, train: dataset(64, 11, poison), test: dataset(32, 12) };
}
