/**
 * Dense-layer paramMaps: a mapped model is the unmapped model at θ = T φ (forward), and every
 * derivative is the one of φ ↦ L(T φ): checked against tfjs autodiff of an explicit implementation
 * written here, float64 finite differences, and host-side Tᵀ H T for the Hessian / GGN.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { ModelDef, Params } from '../../src/model/types.js';
import { tidy } from '../../src/model/tidy.js';
import { backward, disposeBackward, disposeForward, forward, jvp, perExampleGrads } from '../../src/model/network.js';
import { fromFloat64, modelDefProblems, outputDim, toFloat64 } from '../../src/model/layout.js';
import { ggnVectorProduct, hessianVectorProduct, lossAndGradient } from '../../src/model/objective.js';
import { outputGradient } from '../../src/model/likelihood.js';
import { copyToSequential, toSequential } from '../../src/model/sequential.js';
import { effectiveParams, withoutParamMaps } from '../../src/model/paramMap.js';
import { hostForward, noLeak, randomData, randomVector, relErr } from './host.js';
import { applyT, conjugate, mappedModels, probeDense, randomPhi, type MappedModel } from './paramMapFixtures.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The mapped network written out with tf ops, as a function of the φ tensors (autodiff oracle). */
function explicitOutput(def: ModelDef, phi: readonly tf.Tensor[], x: tf.Tensor2D): tf.Tensor2D {
  let h: tf.Tensor2D = x;
  let k = 0;
  for (const layer of def.layers) {
    if (layer.kind === 'dense') {
      const { inDim, outDim, paramMap } = layer;
      const W = phi[2 * k]!;
      const b = phi[2 * k + 1]!;
      k++;
      let Weff = W as tf.Tensor2D;
      let beff = b;
      if (paramMap !== undefined) {
        const flat = tf.concat([tf.reshape(W, [-1]), b]);
        const eff =
          paramMap.kind === 'scale'
            ? tf.mul(flat, tf.tensor1d([...paramMap.scale]))
            : tf.reshape(tf.matMul(tf.tensor2d(paramMap.matrix.map((r) => [...r])), tf.reshape(flat, [-1, 1])), [-1]);
        Weff = tf.reshape(tf.slice(eff, [0], [inDim * outDim]), [inDim, outDim]);
        beff = tf.slice(eff, [inDim * outDim], [outDim]);
      }
      h = tf.add(tf.matMul(h, Weff), beff);
    } else if (layer.kind === 'activation') {
      const f = { tanh: tf.tanh, relu: tf.relu, sigmoid: tf.sigmoid, softplus: tf.softplus, identity: (t: tf.Tensor) => t }[layer.fn];
      h = f(h) as tf.Tensor2D;
    } else {
      h = tf.matMul(h, tf.tensor2d(layer.matrix.map((r) => [...r])));
      if (layer.offset) h = tf.add(h, tf.tensor1d([...layer.offset]));
    }
  }
  return h;
}

function explicitMeanLoss(def: ModelDef, f: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar {
  const c = f.shape[1];
  switch (def.likelihood) {
    case 'categorical':
      return tf.losses.softmaxCrossEntropy(y, f) as tf.Scalar;
    case 'gaussian':
      return tf.mul(tf.losses.meanSquaredError(y, f), c / 2) as tf.Scalar;
    case 'bernoulli':
      return tf.mul(tf.losses.sigmoidCrossEntropy(y, f), c) as tf.Scalar;
  }
}

function setup(m: MappedModel, seed: number, n = 4) {
  const phi = randomPhi(m, seed);
  const theta = applyT(m, phi);
  const { x, y } = randomData(m.def, outputDim(m.def), n, seed + 7);
  const params = fromFloat64(m.def, phi);
  const thetaParams = fromFloat64(m.base, theta);
  const xt = tf.tensor2d(x);
  const yt = tf.tensor2d(y);
  return { phi, theta, x, y, params, thetaParams, xt, yt, dispose: () => tf.dispose([...params, ...thetaParams, xt, yt]) };
}

describe('paramMap: mapped model = unmapped model at θ = T φ', () => {
  mappedModels().forEach((m, mi) => {
    it(`${m.name}: forward, dense inputs/outputs and loss`, () => {
      const s = setup(m, 10 + mi);
      noLeak(() => {
        const fp = forward(m.def, s.params, s.xt);
        const fp0 = forward(m.base, s.thetaParams, s.xt);
        expect(relErr(fp.output.dataSync(), hostForward(m.base, s.theta, s.x).flat())).toBeLessThan(1e-5);
        expect(relErr(fp.output.dataSync(), fp0.output.dataSync())).toBeLessThan(1e-5);
        fp.denseInputs.forEach((a, l) => expect(relErr(a.dataSync(), fp0.denseInputs[l]!.dataSync())).toBeLessThan(1e-5));
        fp.denseOutputs.forEach((z, l) => expect(relErr(z.dataSync(), fp0.denseOutputs[l]!.dataSync())).toBeLessThan(1e-5));
        // The map matters: the same φ read without maps is a different function.
        const plain = forward(withoutParamMaps(m.def), s.params, s.xt);
        expect(relErr(plain.output.dataSync(), fp.output.dataSync())).toBeGreaterThan(1e-2);
        // effectiveParams gives θ.
        const eff = effectiveParams(m.def, s.params);
        expect(relErr(toFloat64(eff), s.theta)).toBeLessThan(1e-5);
        tf.dispose([...eff]);
        [fp, fp0, plain].forEach(disposeForward);
      });
      s.dispose();
    });

    it(`${m.name}: gradient = tfjs autodiff of the explicit mapped network = Tᵀ ∇₀`, () => {
      const s = setup(m, 20 + mi);
      noLeak(() => {
        const lg = lossAndGradient(m.def, s.params, { x: s.xt, y: s.yt });
        const got = toFloat64(lg.gradient);
        const loss = lg.loss.dataSync()[0]!;
        tf.dispose([lg.loss, ...lg.gradient]);
        disposeForward(lg.forward);
        disposeBackward(lg.backward);
        const { ref, refLoss } = tidy(() => {
          const vars = s.params.map((p) => tf.clone(p));
          const gs = tf.grads((...ps: tf.Tensor[]) => explicitMeanLoss(m.def, explicitOutput(m.def, ps, s.xt), s.yt))(vars);
          const l = explicitMeanLoss(m.def, explicitOutput(m.def, vars, s.xt), s.yt);
          return { ref: Float64Array.from(tf.concat(gs.map((g) => tf.reshape(g, [-1]))).dataSync()), refLoss: l.dataSync()[0]! };
        });
        expect(Math.abs(loss - refLoss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(refLoss)));
        expect(relErr(got, ref)).toBeLessThan(1e-4);
        const lg0 = lossAndGradient(m.base, s.thetaParams, { x: s.xt, y: s.yt });
        const g0 = toFloat64(lg0.gradient);
        tf.dispose([lg0.loss, ...lg0.gradient]);
        disposeForward(lg0.forward);
        disposeBackward(lg0.backward);
        expect(relErr(got, applyT(m, g0, true))).toBeLessThan(1e-4);
      });
      s.dispose();
    });

    it(`${m.name}: jvp matches float64 central differences of φ ↦ f(T φ)`, () => {
      const s = setup(m, 30 + mi);
      const v = randomVector(m.P, 31 + mi);
      const vp = fromFloat64(m.def, v);
      noLeak(() => {
        const fp = forward(m.def, s.params, s.xt);
        const jv = jvp(m.def, s.params, fp, vp);
        const got = jv.dataSync();
        tf.dispose(jv);
        disposeForward(fp);
        const eps = 1e-5;
        const shifted = (sign: number) => hostForward(m.base, applyT(m, s.phi.map((p, i) => p + sign * eps * v[i]!)), s.x).flat();
        const plus = shifted(1);
        const minus = shifted(-1);
        const fd = plus.map((p, i) => (p - minus[i]!) / (2 * eps));
        expect(relErr(got, fd)).toBeLessThan(1e-4);
      });
      tf.dispose([...vp]);
      s.dispose();
    });

    it(`${m.name}: perExampleGrads = per-example autodiff of the explicit network (shapes [N,in,out], [N,out])`, () => {
      const n = 4;
      const s = setup(m, 40 + mi, n);
      noLeak(() => {
        const fp = forward(m.def, s.params, s.xt);
        const u = outputGradient(m.def.likelihood, fp.output, s.yt);
        const bp = backward(m.def, s.params, fp, u);
        const pe = perExampleGrads(m.def, fp, bp);
        pe.forEach((t, i) => expect(t.shape).toEqual([n, ...s.params[i]!.shape]));
        // Row e: example e's gradient in flat order.
        const got = Array.from({ length: n }, (_, e) =>
          tidy(() => Float64Array.from(tf.concat(pe.map((t) => tf.reshape(tf.slice(t, [e], [1]), [-1]))).dataSync())),
        );
        // Σₙ of the per-example gradients is backward's total.
        const total = tidy(() => pe.map((t) => tf.sum(t, 0)));
        expect(relErr(toFloat64(total), toFloat64(bp.grads))).toBeLessThan(1e-5);
        tf.dispose([...pe, ...total, u]);
        disposeForward(fp);
        disposeBackward(bp);
        for (let e = 0; e < n; e++) {
          const ref = tidy(() => {
            const xe = tf.slice(s.xt, [e, 0], [1, -1]);
            const ye = tf.slice(s.yt, [e, 0], [1, -1]);
            const gs = tf.grads((...ps: tf.Tensor[]) => explicitMeanLoss(m.def, explicitOutput(m.def, ps, xe), ye))(s.params.map((p) => tf.clone(p)));
            return Float64Array.from(tf.concat(gs.map((g) => tf.reshape(g, [-1]))).dataSync());
          });
          expect(relErr(got[e]!, ref)).toBeLessThan(1e-4);
        }
      });
      s.dispose();
    });

    it(`${m.name}: Hessian and GGN probes equal Tᵀ H₀ T and Tᵀ G₀ T (dense, float64 host)`, () => {
      const s = setup(m, 50 + mi);
      const batch = { x: s.xt, y: s.yt };
      noLeak(() => {
        const H = probeDense(m.def, (v) => hessianVectorProduct(m.def, s.params, batch, v));
        const H0 = probeDense(m.base, (v) => hessianVectorProduct(m.base, s.thetaParams, batch, v));
        expect(relErr(H, conjugate(m, H0))).toBeLessThan(1e-4);
        const fp = forward(m.def, s.params, s.xt);
        const fp0 = forward(m.base, s.thetaParams, s.xt);
        const G = probeDense(m.def, (v) => ggnVectorProduct(m.def, s.params, fp, v));
        const G0 = probeDense(m.base, (v) => ggnVectorProduct(m.base, s.thetaParams, fp0, v));
        disposeForward(fp);
        disposeForward(fp0);
        expect(relErr(G, conjugate(m, G0))).toBeLessThan(1e-4);
        // And not merely equal to the unmapped curvature (the maps change it).
        expect(relErr(H, H0)).toBeGreaterThan(1e-2);
      });
      s.dispose();
    });

    it(`${m.name}: Hessian-vector product matches central differences of the mapped gradient`, () => {
      const s = setup(m, 60 + mi);
      const batch = { x: s.xt, y: s.yt };
      const v = randomVector(m.P, 61 + mi);
      const vp = fromFloat64(m.def, v);
      noLeak(() => {
        const hv = hessianVectorProduct(m.def, s.params, batch, vp);
        const got = toFloat64(hv);
        tf.dispose([...hv]);
        const eps = 1e-2;
        const gradAt = (sign: number) => {
          const p = fromFloat64(m.def, s.phi.map((x, i) => x + sign * eps * v[i]!));
          const lg = lossAndGradient(m.def, p, batch);
          const g = toFloat64(lg.gradient);
          tf.dispose([...p, lg.loss, ...lg.gradient]);
          disposeForward(lg.forward);
          disposeBackward(lg.backward);
          return g;
        };
        const gp = gradAt(1);
        const gm = gradAt(-1);
        const fd = gp.map((x, i) => (x - gm[i]!) / (2 * eps));
        expect(relErr(got, fd)).toBeLessThan(2e-3);
      });
      tf.dispose([...vp]);
      s.dispose();
    });
  });
});

describe('paramMap validation and the tf.Sequential adapter', () => {
  const base = (paramMap: unknown): ModelDef => ({
    inputDim: 2,
    likelihood: 'gaussian',
    layers: [{ kind: 'dense', inDim: 2, outDim: 1, paramMap: paramMap as never }],
  });
  it('accepts well-formed maps and names every malformed one', () => {
    expect(modelDefProblems(base({ kind: 'scale', scale: [1, 2, 3] }))).toEqual([]);
    expect(modelDefProblems(base({ kind: 'linear', matrix: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] }))).toEqual([]);
    const cases: [unknown, RegExp][] = [
      [{ kind: 'scale', scale: [1, 2] }, /scale has length 2, expected 3/],
      [{ kind: 'scale', scale: [1, NaN, 3] }, /scale\[1\] is not a finite number/],
      [{ kind: 'scale', scale: [1, Infinity, 3] }, /scale\[1\] is not a finite number/],
      [{ kind: 'linear', matrix: [[1, 0, 0], [0, 1, 0]] }, /matrix has 2 rows, expected 3/],
      [{ kind: 'linear', matrix: [[1, 0, 0], [0, 1], [0, 0, 1]] }, /matrix row 1 has length 2, expected 3/],
      [{ kind: 'linear', matrix: [[1, 0, 0], [0, 1, 0], [0, NaN, 1]] }, /matrix\[2\]\[1\] is not a finite number/],
      [{ kind: 'rotate' }, /unknown paramMap kind 'rotate'/],
    ];
    for (const [map, re] of cases) {
      const problems = modelDefProblems(base(map));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^layer 0 \(dense\) /);
      expect(problems[0]).toMatch(re);
      const p = [tf.zeros([2, 1]), tf.zeros([1])];
      expect(() => forward(base(map), p, tf.zeros([1, 2]) as tf.Tensor2D)).toThrow(re);
      tf.dispose(p);
    }
  });

  it('toSequential and copyToSequential reject mapped layers with a clear error', () => {
    const m = mappedModels()[0]!;
    const params: Params = fromFloat64(m.def, randomPhi(m, 5));
    const before = tf.memory().numTensors;
    expect(() => toSequential(m.def, params)).toThrow(/layer 0 \(dense\) has a paramMap.*withoutParamMaps/);
    const seq = toSequential(m.base, params); // same shapes, unmapped
    expect(() => copyToSequential(m.def, params, seq)).toThrow(/copyToSequential: layer 0 \(dense\) has a paramMap/);
    seq.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // The documented conversion yields the same function.
    const eff = effectiveParams(m.def, params);
    const seq2 = toSequential(withoutParamMaps(m.def), eff);
    const x = tf.tensor2d([[0.3, -1, 0.5], [1.2, 0.1, -0.4]]);
    const fp = forward(m.def, params, x);
    const out = seq2.predict(x) as tf.Tensor;
    expect(relErr(out.dataSync(), fp.output.dataSync())).toBeLessThan(1e-5);
    disposeForward(fp);
    tf.dispose([out, x, ...eff, ...params]);
    seq2.dispose();
  });
});
