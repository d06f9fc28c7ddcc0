import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { tidy } from '../../src/model/tidy.js';
import type { ModelDef, Params } from '../../src/model/types.js';
import { backward, disposeBackward, disposeForward, forward, jvp, perExampleGrads } from '../../src/model/network.js';
import { fromFloat64, numParams, outputDim, paramInfo } from '../../src/model/layout.js';
import { lossAndGradient } from '../../src/model/objective.js';
import { flat, hostForward, noLeak, randomData, randomVector, relErr, smallModels } from './host.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Independent mean loss through tfjs's own loss functions (autodiff oracle). */
function tfjsMeanLoss(def: ModelDef, f: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar {
  const k = f.shape[1];
  switch (def.likelihood) {
    case 'categorical':
      return tf.losses.softmaxCrossEntropy(y, f) as tf.Scalar;
    case 'gaussian':
      return tf.mul(tf.losses.meanSquaredError(y, f), k / 2) as tf.Scalar;
    case 'bernoulli':
      return tf.mul(tf.losses.sigmoidCrossEntropy(y, f), k) as tf.Scalar;
  }
}

function setup(def: ModelDef, seed: number, n = 5) {
  const p = numParams(def);
  const theta = randomVector(p, seed).map((v) => Math.fround(0.8 * v)); // float32-exact: host and tfjs see the same θ
  const { x, y } = randomData(def, outputDim(def), n, seed + 1);
  return { theta, x, y, p };
}

describe('forward / vjp / jvp on small models (every activation, likelihood, fixed_linear)', () => {
  smallModels().forEach((def, m) => {
    const name = `model ${m}: ${def.layers.map((l) => (l.kind === 'activation' ? l.fn : l.kind)).join('-')} / ${def.likelihood}`;

    it(`${name}: forward matches the float64 host forward`, () => {
      const { theta, x } = setup(def, 10 + m);
      const params = fromFloat64(def, theta);
      const xt = tf.tensor2d(x);
      noLeak(() => {
        const fp = forward(def, params, xt);
        const got = fp.output.dataSync();
        disposeForward(fp);
        expect(relErr(got, hostForward(def, theta, x).flat())).toBeLessThan(1e-5);
      });
      tf.dispose([...params, xt]);
    });

    it(`${name}: gradient of the mean loss equals tf.grads of tfjs's own loss`, () => {
      const { theta, x, y } = setup(def, 20 + m);
      const params = fromFloat64(def, theta);
      const batch = { x: tf.tensor2d(x), y: tf.tensor2d(y) };
      const expected = tidy(() => {
        const g = tf.grads((...ps: tf.Tensor[]) => {
          const fp = forward(def, ps, batch.x);
          return tfjsMeanLoss(def, fp.output, batch.y);
        })(params as tf.Tensor[]);
        return flat(g);
      });
      const expectedLoss = tidy(() => tfjsMeanLoss(def, forward(def, params, batch.x).output, batch.y).dataSync()[0]!);
      noLeak(() => {
        const r = lossAndGradient(def, params, batch);
        expect(Math.abs(r.loss.dataSync()[0]! - expectedLoss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(expectedLoss)));
        expect(relErr(flat(r.gradient), expected)).toBeLessThan(1e-5);
        tf.dispose([r.loss, ...r.gradient]);
        disposeForward(r.forward);
        disposeBackward(r.backward);
      });
      tf.dispose([...params, batch.x, batch.y]);
    });

    it(`${name}: backward(u) equals tf.grads of Σ u·f`, () => {
      const { theta, x } = setup(def, 30 + m);
      const params = fromFloat64(def, theta);
      const xt = tf.tensor2d(x);
      const u = tf.tensor2d(Array.from(randomVector(x.length * outputDim(def), 31 + m)), [x.length, outputDim(def)]);
      const expected = tidy(() => flat(tf.grads((...ps: tf.Tensor[]) => tf.sum(tf.mul(forward(def, ps, xt).output, u)) as tf.Scalar)(params as tf.Tensor[])));
      const fp = forward(def, params, xt);
      noLeak(() => {
        const bp = backward(def, params, fp, u);
        expect(relErr(flat(bp.grads), expected)).toBeLessThan(1e-5);
        disposeBackward(bp);
      });
      disposeForward(fp);
      tf.dispose([...params, xt, u]);
    });

    it(`${name}: jvp equals central finite differences of the float64 host forward`, () => {
      const { theta, x, p } = setup(def, 40 + m);
      const params = fromFloat64(def, theta);
      const vArr = randomVector(p, 41 + m);
      const v = fromFloat64(def, vArr);
      const xt = tf.tensor2d(x);
      const eps = 1e-6;
      const plus = hostForward(def, theta.map((t, i) => t + eps * vArr[i]!), x).flat();
      const minus = hostForward(def, theta.map((t, i) => t - eps * vArr[i]!), x).flat();
      const fd = plus.map((a, i) => (a - minus[i]!) / (2 * eps));
      const fp = forward(def, params, xt);
      noLeak(() => {
        const jv = jvp(def, params, fp, v);
        expect(relErr(jv.dataSync(), fd)).toBeLessThan(2e-5);
        jv.dispose();
      });
      disposeForward(fp);
      tf.dispose([...params, ...v, xt]);
    });

    it(`${name}: per-example gradients sum to N × mean gradient and match single-example gradients`, () => {
      const { theta, x, y } = setup(def, 50 + m, 4);
      const params = fromFloat64(def, theta);
      const batch = { x: tf.tensor2d(x), y: tf.tensor2d(y) };
      const r = lossAndGradient(def, params, batch);
      noLeak(() => {
        const pe = perExampleGrads(def, r.forward, r.backward);
        const info = paramInfo(def);
        pe.forEach((t, i) => expect(t.shape).toEqual([x.length, ...info[i]!.shape]));
        const summed = tidy(() => flat(pe.map((t) => tf.sum(t, 0))));
        expect(relErr(summed, flat(r.gradient).map((g) => g * x.length))).toBeLessThan(1e-5);
        for (let n = 0; n < x.length; n++) {
          const one = { x: tf.tensor2d([x[n]!]), y: tf.tensor2d([y[n]!]) };
          const single = lossAndGradient(def, params, one);
          const row = tidy(() => flat(pe.map((t) => t.slice([n], [1]).reshape([-1]))));
          expect(relErr(row, flat(single.gradient))).toBeLessThan(1e-5);
          tf.dispose([single.loss, ...single.gradient, one.x, one.y]);
          disposeForward(single.forward);
          disposeBackward(single.backward);
        }
        tf.dispose(pe as tf.Tensor[]);
      });
      tf.dispose([r.loss, ...r.gradient]);
      disposeForward(r.forward);
      disposeBackward(r.backward);
      tf.dispose([...params, batch.x, batch.y]);
    });
  });

  it('K-FAC statistics: denseInputs/denseOutputGrads are the layer inputs and per-example ∂ℓₙ/∂z', () => {
    const def = smallModels()[0]!;
    const { theta, x, y } = setup(def, 77, 3);
    const params = fromFloat64(def, theta);
    const batch = { x: tf.tensor2d(x), y: tf.tensor2d(y) };
    const r = lossAndGradient(def, params, batch);
    // ∂ℓₙ/∂z_last = p − y for the categorical head on a final dense layer.
    const last = r.backward.denseOutputGrads[2]!;
    const expected = tidy(() => tf.sub(tf.softmax(r.forward.output), batch.y).dataSync());
    expect(relErr(last.dataSync(), expected)).toBeLessThan(1e-6);
    expect(r.forward.denseInputs[0]!.dataSync()).toEqual(batch.x.dataSync());
    tf.dispose([r.loss, ...r.gradient, ...params, batch.x, batch.y]);
    disposeForward(r.forward);
    disposeBackward(r.backward);
  });

  it('rejects mis-shaped parameters and inputs with a clear message', () => {
    const def = smallModels()[0]!;
    const params: Params = [tf.zeros([2, 2])];
    const xt = tf.zeros([1, 3]) as tf.Tensor2D;
    expect(() => forward(def, params, xt)).toThrow(/expected 6 parameter tensors/);
    tf.dispose([...params, xt]);
  });
});
