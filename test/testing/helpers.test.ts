import * as tf from '@tensorflow/tfjs';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { allClose, compareClose, defaultTolerance } from '../../src/testing/allclose.js';
import { expectNoLeak, TensorLeakError } from '../../src/testing/memory.js';
import { arbModelCase, arbSpdMatrix } from '../../src/testing/arbitraries/models.js';
import { symEigenvalues } from '../../src/testing/linalg.js';
import { hostBatch, initialParams, modelDef, toBatch, toParams } from '../../src/testing/cases.js';
import { drawReparametrization, pullBackParams, pushForwardParams, reparametrizedDef } from '../../src/testing/reparam.js';
import { forward } from '../../src/model/index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('allClose / expectNoLeak', () => {
  it('uses float32 defaults on cpu and detects differences', () => {
    expect(defaultTolerance()).toEqual({ rtol: 1e-3, atol: 1e-5 });
    expect(allClose([1, 2], [1.0005, 2])).toBe(true);
    expect(allClose([1, 2], [1.01, 2])).toBe(false);
    expect(allClose([NaN], [NaN])).toBe(false);
    expect(compareClose([1], [1, 2]).ok).toBe(false);
  });
  it('flags a leaked tensor and passes a clean function', () => {
    expect(() => expectNoLeak(() => tf.scalar(1))).toThrow(TensorLeakError);
    expect(expectNoLeak(() => tf.tidy(() => tf.scalar(2).add(1).dataSync()[0]))).toBe(3);
  });
});

describe('arbitraries', () => {
  it('arbSpdMatrix gives symmetric positive definite matrices', () => {
    fc.assert(fc.property(arbSpdMatrix(4), (K) => symEigenvalues(K)[0]! > 0), { numRuns: 50 });
  });
});

describe('reparametrized models compute the same function with different parameters', () => {
  for (const family of ['elementwise', 'layer-affine', 'linear'] as const) {
    it(family, () => {
      fc.assert(
        fc.property(arbModelCase(), fc.nat({ max: 1000 }), (c, s) => {
          const def = modelDef(c.shape);
          const th = initialParams(def, c.paramSeed);
          const rp = drawReparametrization(def, family, s);
          const rdef = reparametrizedDef(def, rp);
          const ph = pullBackParams(def, rp, th);
          // push-forward inverts pull-back (host float64)
          const back = pushForwardParams(def, rp, ph);
          if (!allClose(back.flatMap((a) => [...a]), th.flatMap((a) => [...a]), { rtol: 1e-9, atol: 1e-9 })) return false;
          // parameters genuinely differ, function is the same (float32 forward passes)
          const differs = ph.some((a, i) => a.some((v, j) => Math.abs(v - th[i]![j]!) > 1e-3));
          return expectNoLeak(() => {
            const b = toBatch(hostBatch(c.shape, c.n, c.dataSeed));
            const p1 = toParams(def, th);
            const p2 = toParams(rdef, ph);
            const f1 = forward(def, p1, b.x);
            const f2 = forward(rdef, p2, b.x);
            const ok = allClose(f2.output, f1.output, { rtol: 1e-3, atol: 1e-4 });
            tf.dispose([b.x, b.y, ...p1, ...p2, f1.output, ...f1.inputs, ...f1.denseInputs, ...f1.denseOutputs, f2.output, ...f2.inputs, ...f2.denseInputs, ...f2.denseOutputs]);
            return ok && differs;
          });
        }),
        { numRuns: 25 },
      );
    });
  }
});
