/** Held-out evaluation: mean loss (and accuracy for classifiers) over a data set, in chunks. */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef, Params } from '../model/types.js';
import { forward, meanLoss } from '../model/index.js';
import { batchFrom } from '../problems/dataset.js';
import type { Dataset } from '../problems/types.js';

export interface Evaluation {
  readonly loss: number;
  /** Fraction of argmax-correct predictions (categorical likelihood only). */
  readonly accuracy: number | undefined;
  readonly n: number;
}

export function evaluate(def: ModelDef, params: Params, ds: Dataset, chunk = 1000): Evaluation {
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < ds.n; start += chunk) {
    const m = Math.min(chunk, ds.n - start);
    const idx = new Int32Array(m);
    for (let r = 0; r < m; r++) idx[r] = start + r;
    const batch = batchFrom(ds, idx);
    const out = tf.tidy(() => {
      const fp = forward(def, params, batch.x);
      const l = meanLoss(def.likelihood, fp.output, batch.y);
      const hits = def.likelihood === 'categorical' ? tf.sum(tf.cast(tf.equal(tf.argMax(fp.output, 1), tf.argMax(batch.y, 1)), 'float32')) : tf.scalar(0);
      return tf.stack([l, hits]);
    });
    const [l, hits] = Array.from(out.dataSync());
    tf.dispose([out, batch.x, batch.y]);
    lossSum += l! * m;
    correct += hits!;
  }
  return { loss: lossSum / ds.n, accuracy: def.likelihood === 'categorical' ? correct / ds.n : undefined, n: ds.n };
}
