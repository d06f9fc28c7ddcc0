import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../../src/model/types.js';
import {
  denseLayers,
  flattenParams,
  fromFloat64,
  initParams,
  modelDefProblems,
  numParams,
  outputDim,
  paramInfo,
  toFloat64,
  unflattenParams,
} from '../../src/model/layout.js';
import { lossAndGradient } from '../../src/model/objective.js';
import { disposeBackward, disposeForward } from '../../src/model/network.js';
import { mnistAutoencoderDef } from '../../src/problems/registry.js';
import { randomVector } from './host.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const def: ModelDef = {
  inputDim: 3,
  likelihood: 'gaussian',
  layers: [
    { kind: 'dense', inDim: 3, outDim: 4 },
    { kind: 'activation', fn: 'relu' },
    { kind: 'fixed_linear', matrix: [[1, 0], [0, 1], [1, 1], [0, 0]] },
    { kind: 'dense', inDim: 2, outDim: 5 },
  ],
};

describe('parameter layout', () => {
  it('paramInfo: W [in,out] then b per dense layer, contiguous offsets', () => {
    const info = paramInfo(def);
    expect(info.map((p) => [p.name, p.shape, p.offset, p.size, p.layerIndex, p.role])).toEqual([
      ['dense0/W', [3, 4], 0, 12, 0, 'weight'],
      ['dense0/b', [4], 12, 4, 0, 'bias'],
      ['dense1/W', [2, 5], 16, 10, 3, 'weight'],
      ['dense1/b', [5], 26, 5, 3, 'bias'],
    ]);
    expect(numParams(def)).toBe(31);
    expect(outputDim(def)).toBe(5);
    expect(denseLayers(def)).toEqual([
      { inDim: 3, outDim: 4, layerIndex: 0, denseIndex: 0 },
      { inDim: 2, outDim: 5, layerIndex: 3, denseIndex: 1 },
    ]);
  });

  it('flatten/unflatten and float64 host copies round-trip exactly, without leaks', () => {
    const a = randomVector(31, 1).map(Math.fround);
    const before = tf.memory().numTensors;
    const p = fromFloat64(def, a);
    expect(toFloat64(p)).toEqual(a);
    const flat = flattenParams(p);
    expect(Array.from(flat.dataSync())).toEqual(Array.from(a));
    const back = unflattenParams(def, flat);
    expect(back.map((t) => t.shape)).toEqual(paramInfo(def).map((i) => i.shape));
    expect(toFloat64(back)).toEqual(a);
    // Row-major: W[i][o] sits at i*out + o.
    expect((p[0]!.arraySync() as number[][])[1]![2]).toBe(a[1 * 4 + 2]);
    tf.dispose([...p, flat, ...back]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => fromFloat64(def, new Float64Array(3))).toThrow(/3 entries, model has 31 parameters/);
  });

  it('initParams: deterministic Glorot-uniform weights, zero biases', () => {
    const p1 = initParams(def, 7);
    const p2 = initParams(def, 8);
    const p3 = initParams(def, 7);
    expect(toFloat64(p1)).toEqual(toFloat64(p3));
    expect(toFloat64(p2)).not.toEqual(toFloat64(p1));
    const limit = Math.sqrt(6 / (3 + 4));
    const w = toFloat64([p1[0]!]);
    expect(w.every((v) => Math.abs(v) <= limit)).toBe(true);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(limit / 2);
    expect(toFloat64([p1[1]!]).every((v) => v === 0)).toBe(true);
    tf.dispose([...p1, ...p2, ...p3]);
  });

  it('modelDefProblems reports every structural problem', () => {
    const bad: ModelDef = {
      inputDim: 3,
      likelihood: 'gaussian',
      layers: [
        { kind: 'dense', inDim: 4, outDim: 2 },
        { kind: 'fixed_linear', matrix: [[1, 2], [3]] },
      ],
    };
    const problems = modelDefProblems(bad);
    expect(problems).toEqual([
      'layer 0 (dense) expects inDim 4 but receives width 3',
      'layer 1 (fixed_linear) matrix rows must have equal, positive length',
    ]);
    expect(() => numParams(bad)).toThrow(/invalid ModelDef: layer 0/);
    expect(modelDefProblems(def)).toEqual([]);
  });

  it('the 784-…-784 autoencoder: one gradient at batch 8 is finite and leaves no tensor behind', () => {
    const params = initParams(mnistAutoencoderDef, 1);
    const x = tf.randomUniform([8, 784], 0, 1, 'float32', 2) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const r = lossAndGradient(mnistAutoencoderDef, params, { x, y: x });
    expect(Number.isFinite(r.loss.dataSync()[0]!)).toBe(true);
    expect(r.gradient.length).toBe(16);
    expect(r.backward.denseOutputGrads.map((g) => g.shape[1])).toEqual([1000, 500, 250, 30, 250, 500, 1000, 784]);
    tf.dispose([r.loss, ...r.gradient]);
    disposeForward(r.forward);
    disposeBackward(r.backward);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...params, x]);
  });
});
