import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, activeBackend } from '../../src/backend/select.js';
import { activationGrad, loadNative, uninstallNativeKernels, type NativeAddon } from '../../src/backend/native.js';
import { timesDerivative } from '../../src/model/activation.js';
import { lcgData as data, maxRelErr } from './helpers.js';

/** Relative error with the floor 1e-3 for near-zero references. */
const err = (x: Float32Array, ref: Float32Array) => maxRelErr(x, ref, 1e-3);

/** Number of positions where two arrays differ bit-for-bit (NaN counts as different). */
function mismatches(x: Float32Array, y: Float32Array): number {
  let c = x.length === y.length ? 0 : Math.max(x.length, y.length);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (!(x[i] === y[i])) c++;
  return c;
}

async function on(name: 'cpu' | 'native', f: () => tf.Tensor): Promise<Float32Array> {
  if (name === 'cpu') await tf.setBackend('cpu');
  else await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const t = tf.tidy(f);
  const v = (await t.data()) as Float32Array;
  t.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return v;
}

const loaded = loadNative();
const addon: NativeAddon | null = loaded.ok ? loaded.addon : null;
const isas = addon === null ? [] : ['avx512', 'avx2', 'generic'].filter((i) => addon.setIsa(i));
const bestIsa = isas[0] ?? 'generic';

describe.skipIf(addon === null)('native kernels (wasm + C++) equal the cpu backend', () => {
  beforeAll(async () => {
    const choice = await selectBackend('native');
    expect(choice.name).toBe('native');
    expect(activeBackend()).toBe('native');
  });
  afterAll(() => {
    addon?.setIsa(bestIsa);
    uninstallNativeKernels();
  });

  for (const isa of isas) {
    it(`matMul, every transpose and batch broadcast (${isa})`, async () => {
      expect(addon!.setIsa(isa)).toBe(true);
      expect(addon!.info().isa).toBe(isa);
      // Sizes straddle the micro-tiles and the cache blocks (KC ≤ 256) so edges are exercised.
      const shapes: Array<[number, number, number]> = [[3, 2, 1], [37, 29, 300], [70, 130, 513]];
      const batches: Array<[number[], number[]]> = [[[], []], [[2], [2]], [[1], [3]], [[3], [1]]];
      for (const [m, n, k] of shapes)
        for (const [ba, bb] of batches)
          for (const ta of [false, true])
            for (const tb of [false, true]) {
              const aShape = [...ba, ...(ta ? [k, m] : [m, k])], bShape = [...bb, ...(tb ? [n, k] : [k, n])];
              const f = () => tf.matMul(tf.tensor(data(tf.util.sizeFromShape(aShape), 1), aShape), tf.tensor(data(tf.util.sizeFromShape(bShape), 2), bShape), ta, tb);
              expect(err(await on('native', f), await on('cpu', f)), JSON.stringify({ isa, m, n, k, ba, bb, ta, tb })).toBeLessThan(1e-5);
            }
    });

    it(`XᵀX and XXᵀ of one tensor (symmetric path) (${isa})`, async () => {
      addon!.setIsa(isa);
      for (const [rows, cols] of [[50, 130], [201, 97], [3, 1], [150, 331]] as const)
        for (const batch of [[], [2]])
          for (const ta of [true, false]) {
            const shape = [...batch, rows, cols];
            const f = () => {
              const x = tf.tensor(data(tf.util.sizeFromShape(shape), 50 + rows), shape);
              return tf.matMul(x, x, ta, !ta);
            };
            expect(err(await on('native', f), await on('cpu', f)), JSON.stringify({ isa, shape, ta })).toBeLessThan(1e-5);
          }
    });

    it(`fused matMul with bias and activation (${isa})`, async () => {
      addon!.setIsa(isa);
      const m = 33, n = 40, k = 17;
      for (const batch of [1, 2])
        for (const ta of [false, true])
          for (const tb of [false, true])
            for (const biasShape of [null, [n], [1, n]])
              for (const activation of ['linear', 'relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu'] as const) {
                const aShape = [batch, ...(ta ? [k, m] : [m, k])], bShape = [batch, ...(tb ? [n, k] : [k, n])];
                const f = () =>
                  tf.fused.matMul({
                    a: tf.tensor3d(data(tf.util.sizeFromShape(aShape), 3, 4), aShape as [number, number, number]),
                    b: tf.tensor3d(data(tf.util.sizeFromShape(bShape), 4), bShape as [number, number, number]),
                    transposeA: ta, transposeB: tb,
                    bias: biasShape === null ? undefined : tf.tensor(data(n, 5, 4), biasShape),
                    activation, leakyreluAlpha: 0.1,
                  });
                expect(err(await on('native', f), await on('cpu', f)), JSON.stringify({ isa, batch, ta, tb, biasShape, activation })).toBeLessThan(2e-5);
              }
    });

    it(`activations and their derivatives (${isa})`, async () => {
      addon!.setIsa(isa);
      // Wide range: both branches of tanh (|x| < 0.625), softplus's three regimes, saturation.
      const x = Float32Array.from([...data(997, 6, 60), 0, -0, 1e-8, -1e-8, 0.6249, 0.6251, -14, -13.9, 13.9, 14, 88, -88, 100, -100]);
      const tanhExact = Float32Array.from(x, (v) => Math.tanh(v));
      const sigExact = Float32Array.from(x, (v) => 1 / (1 + Math.exp(-v)));
      for (const [op, exact] of [['tanh', tanhExact], ['sigmoid', sigExact], ['softplus', null], ['relu', null]] as const) {
        const f = () => (tf as unknown as Record<string, (t: tf.Tensor) => tf.Tensor>)[op]!(tf.tensor1d(x));
        const got = await on('native', f);
        const ref = await on('cpu', f);
        for (let i = 0; i < x.length; i++) {
          const r = exact !== null ? exact[i]! : ref[i]!;
          expect(Math.abs(got[i]! - r), `${op}(${x[i]})`).toBeLessThanOrEqual(2e-7 + 4e-7 * Math.abs(r));
        }
        const dy = data(x.length, 7);
        const g = () => {
          const t = tf.tensor1d(x);
          const saved = op === 'tanh' || op === 'sigmoid' ? (tf as unknown as Record<string, (t: tf.Tensor) => tf.Tensor>)[op]!(t) : t;
          return activationGrad(op, saved, tf.tensor1d(dy));
        };
        expect(err(await on('native', g), await on('cpu', g)), `${op}'`).toBeLessThan(1e-5);
        // the model's backward and R-operator use the same fused kernel (registered under the
        // name src/model/activation.ts defines; the cpu backend has none and multiplies)
        const z = () => tf.tensor2d(x.subarray(0, 1000), [40, 25]);
        const v = () => timesDerivative(op, z(), (tf as unknown as Record<string, (t: tf.Tensor) => tf.Tensor>)[op]!(z()), tf.tensor2d(dy.subarray(0, 1000), [40, 25]));
        expect(err(await on('native', v), await on('cpu', v)), `timesDerivative ${op}`).toBeLessThan(1e-5);
      }
    });
  }

  it('fmaPeak: the in-register FMA probe runs on every pool thread and reports a rate', () => {
    if (addon === null) return;
    const r = addon.fmaPeak(1e5);
    expect(r.threads).toBe(addon.info().threads);
    expect(r.seconds).toBeGreaterThan(0);
    expect(r.gflops).toBeGreaterThan(0);
    expect(Number.isFinite(r.gflops)).toBe(true);
  });

  it('Sqrt: bit-equal to the cpu backend on every ISA (negative inputs give NaN, -0 gives -0), below and above the native threshold', async () => {
    for (const isa of isas) {
      addon!.setIsa(isa);
      // 70000 > the native threshold (2^14) and > one pool chunk (2^15) with a ragged tail; 1000 stays on wasm
      for (const n of [1000, 70_000]) {
        const a = data(n, 11, 4);
        const x = Float32Array.from(a, (v, i) => (i % 97 === 0 ? -v * v : i % 89 === 0 ? -0 : v * v));
        const f = () => tf.sqrt(tf.tensor1d(x));
        const got = await on('native', f), ref = await on('cpu', f);
        let bad = -1;
        for (let i = 0; i < ref.length && bad < 0; i++) if (!Object.is(got[i], ref[i]) && !(Number.isNaN(got[i]) && Number.isNaN(ref[i]))) bad = i;
        expect(bad, JSON.stringify({ isa, n, at: bad, got: got[bad], ref: ref[bad] })).toBe(-1);
      }
    }
    addon!.setIsa(bestIsa);
  });

  it('Sum over leading / trailing / other axes, keepDims', async () => {
    const shape = [6, 50, 70];
    const x = data(6 * 50 * 70, 8);
    for (const axis of [0, [0, 1], 2, [1, 2], 1, [0, 2], [0, 1, 2], -1])
      for (const keepDims of [false, true]) {
        const f = () => tf.sum(tf.tensor(x, shape), axis, keepDims);
        const got = await on('native', f), ref = await on('cpu', f);
        expect(got.length).toBe(ref.length);
        expect(err(got, ref), JSON.stringify({ axis, keepDims })).toBeLessThan(1e-5);
      }
  });

  it('gradients of a tanh MLP (784-64-30 shapes scaled down) match the cpu backend', async () => {
    const N = 40, sizes = [50, 64, 32, 10];
    const f = () => {
      const x = tf.tensor2d(data(N * sizes[0]!, 11), [N, sizes[0]!]);
      const ws = sizes.slice(1).map((s, i) => tf.tensor2d(data(sizes[i]! * s, 12 + i, 0.5), [sizes[i]!, s]));
      const bs = sizes.slice(1).map((s, i) => tf.tensor1d(data(s, 20 + i, 0.1)));
      const loss = (...p: tf.Tensor[]) => {
        let h: tf.Tensor = x;
        for (let l = 0; l < ws.length; l++) {
          const z = tf.add(tf.matMul(h, p[l]!), p[ws.length + l]!);
          h = l < ws.length - 1 ? tf.tanh(z) : z;
        }
        return tf.mean(tf.sum(tf.square(h), 1));
      };
      const grads = tf.grads(loss)([...ws, ...bs]);
      return tf.concat(grads.map((g) => g.flatten()));
    };
    expect(err(await on('native', f), await on('cpu', f))).toBeLessThan(2e-5);
  });

  it('does not leak wasm memory over repeated kernel calls', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor2d(data(48 * 64, 30), [48, 64]), b = tf.tensor2d(data(48 * 32, 31), [48, 32]);
    const step = () => tf.tidy(() => tf.sum(tf.tanh(tf.matMul(a, b, true, false).matMul(b, false, true))));
    step().dispose();
    const before = tf.memory();
    for (let i = 0; i < 20; i++) step().dispose();
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    tf.dispose([a, b]);
  });

  it('the thread pool gives identical results over many back-to-back parallel regions', () => {
    // 3 chunks of 2^15 per call, so every call is a parallel region; any task lost or run twice
    // (a late worker claiming a task of a later region) would change some output.
    const n = 70000, x = data(n, 40, 8), y = new Float32Array(n), first = new Float32Array(n);
    addon!.unary(4, x, first);
    for (let r = 0; r < 300; r++) {
      y.fill(NaN);
      addon!.unary(r % 2 === 0 ? 4 : 3, x, y);
      if (r % 2 === 0) expect(mismatches(y, first)).toBe(0);
      else expect(y.every((v) => v > 0 && v < 1)).toBe(true); // sigmoid range; NaN fails
    }
    const A = data(300 * 200, 41), B = data(200 * 250, 42), C1 = new Float32Array(300 * 250), C2 = new Float32Array(300 * 250);
    addon!.gemm(A, B, C1, null, 1, 300, 250, 200, false, false, 0, 0, 0, 0);
    for (let r = 0; r < 50; r++) {
      C2.fill(NaN);
      addon!.gemm(A, B, C2, null, 1, 300, 250, 200, false, false, 0, 0, 0, 0);
      expect(mismatches(C2, C1)).toBe(0);
    }
  });

  it('rejects arrays that are too short instead of reading past them', () => {
    expect(() => addon!.gemm(new Float32Array(3), new Float32Array(4), new Float32Array(4), null, 1, 2, 2, 2, false, false, 0, 0, 0, 0)).toThrow(/too short/);
    expect(() => addon!.unary(4, new Float32Array(8), new Float32Array(4))).toThrow(/too short/);
  });
});
