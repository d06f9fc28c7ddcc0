import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../../src/model/types.js';
import { copyToSequential, fromSequential, toSequential } from '../../src/model/sequential.js';
import { disposeForward, forward } from '../../src/model/network.js';
import { fromFloat64, initParams, numParams } from '../../src/model/layout.js';
import { flat, randomVector } from './host.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function ours(def: ModelDef, params: readonly tf.Tensor[], x: tf.Tensor2D): Float32Array {
  const fp = forward(def, params, x);
  const out = fp.output.dataSync() as Float32Array;
  disposeForward(fp);
  return out;
}

function predict(m: tf.Sequential, x: tf.Tensor2D): Float32Array {
  const y = m.predict(x) as tf.Tensor;
  const out = y.dataSync() as Float32Array;
  y.dispose();
  return out;
}

describe('tf.Sequential adapter', () => {
  it('fromSequential: identical predictions, copied weights, every built-in activation, no leaks', () => {
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4], units: 5, activation: 'tanh' }),
        tf.layers.dense({ units: 5, activation: 'relu' }),
        tf.layers.dense({ units: 4, activation: 'sigmoid' }),
        tf.layers.dense({ units: 3, activation: 'softplus' }),
        tf.layers.dense({ units: 2, activation: 'linear' }),
      ],
    });
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const { def, params } = fromSequential(m, 'gaussian');
    expect(tf.memory().numTensors).toBe(before + params.length);
    expect(def.layers.map((l) => (l.kind === 'activation' ? l.fn : l.kind))).toEqual(['dense', 'tanh', 'dense', 'relu', 'dense', 'sigmoid', 'dense', 'softplus', 'dense']);
    expect(Array.from(ours(def, params, x))).toEqual(Array.from(predict(m, x)));
    // Copies: disposing ours leaves the model intact.
    tf.dispose(params as tf.Tensor[]);
    expect(predict(m, x).length).toBe(12);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
    x.dispose();
  });

  it('toSequential → predict equals our forward; fromSequential(toSequential(·)) round-trips def and weights exactly', () => {
    const def: ModelDef = {
      inputDim: 3,
      likelihood: 'bernoulli',
      layers: [
        { kind: 'fixed_linear', matrix: [[1, 0.5], [0.25, -1], [0.375, 0.125]], offset: [0.0625, -0.25] }, // float32-exact
        { kind: 'dense', inDim: 2, outDim: 4 },
        { kind: 'activation', fn: 'sigmoid' },
        { kind: 'activation', fn: 'tanh' },
        { kind: 'dense', inDim: 4, outDim: 3 },
      ],
    };
    const params = fromFloat64(def, randomVector(numParams(def), 9));
    const x = tf.randomNormal([5, 3], 0, 1, 'float32', 4) as tf.Tensor2D;
    const m = toSequential(def, params);
    expect(Array.from(predict(m, x))).toEqual(Array.from(ours(def, params, x)));
    const back = fromSequential(m, 'bernoulli');
    expect(back.def).toEqual(def);
    expect(flat(back.params)).toEqual(flat(params));
    tf.dispose([...params, ...back.params, x]);
    m.dispose();
  });

  it('copyToSequential writes parameters into an existing model', () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 4, activation: 'tanh' }), tf.layers.dense({ units: 2 })] });
    const { def, params } = fromSequential(m, 'categorical');
    const fresh = initParams(def, 42);
    copyToSequential(def, fresh, m);
    const x = tf.randomNormal([4, 3], 0, 1, 'float32', 5) as tf.Tensor2D;
    expect(Array.from(predict(m, x))).toEqual(Array.from(ours(def, fresh, x)));
    const again = fromSequential(m, 'categorical');
    expect(flat(again.params)).toEqual(flat(fresh));
    tf.dispose(again.params as tf.Tensor[]);
    const wrong = initParams({ inputDim: 3, likelihood: 'categorical', layers: [{ kind: 'dense', inDim: 3, outDim: 2 }] }, 1);
    expect(() => copyToSequential({ inputDim: 3, likelihood: 'categorical', layers: [{ kind: 'dense', inDim: 3, outDim: 2 }] }, wrong, m)).toThrow(/1 .*2|2 trainable Dense layers/);
    tf.dispose([...params, ...fresh, ...wrong, x]);
    m.dispose();
  });

  it('rejects unsupported layers and activations with a message naming the layer', () => {
    const soft = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, activation: 'softmax' })] });
    expect(() => fromSequential(soft, 'categorical')).toThrow(/layer 0 .*softmax.*categorical likelihood applies the softmax/);
    const drop = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2 }), tf.layers.dropout({ rate: 0.5 })] });
    const before = tf.memory().numTensors;
    expect(() => fromSequential(drop, 'gaussian')).toThrow(/layer 1 .*Dropout/);
    expect(tf.memory().numTensors).toBe(before);
    soft.dispose();
    drop.dispose();
  });
});
