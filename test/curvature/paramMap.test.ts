/**
 * Curvature of models with dense-layer paramMaps. The engine is not told the relation: it gets the
 * mapped model at φ, and every atom (Fisher exact / sampled, GGN, empirical Fisher, gradient
 * covariance, outer(gradient), Hessian) and every structure built from the true per-example
 * gradients (full, block_diag, diag, lowrank) must equal Tᵀ C T of the unmapped model at θ = T φ.
 * K-FAC / EKFAC register a layer by its inputs and output gradients, so they are the SAME as the
 * unmapped model's (kron(A, G) of the layer statistics) and NOT Tᵀ K T: they are not invariant.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as M from '../../src/model/index.js';
import type { Batch, Params } from '../../src/model/types.js';
import { createContext, structured, type AtomSpec, type OwnedContext, type StructureSpec } from '../../src/curvature/index.js';
import { atomOperator } from '../../src/curvature/atoms.js';
import { kfacDense, oracle, type Problem } from './helpers.js';
import { applyT, conjugate, mappedModels, randomPhi, type MappedModel } from '../model/paramMapFixtures.js';
import { relErr } from '../model/host.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Pair {
  m: MappedModel;
  params: Params;
  theta: Params;
  batch: Batch;
  ctx: OwnedContext;
  ctx0: OwnedContext;
  dispose(): void;
}

function pair(m: MappedModel, seed: number, n = 5): Pair {
  const phi = randomPhi(m, seed, 0.8);
  const params = M.fromFloat64(m.def, phi);
  const theta = M.fromFloat64(m.base, applyT(m, phi));
  const { x, y } = (() => {
    const rng = M.makeRng(seed + 3);
    const out = M.outputDim(m.def);
    const xs = Array.from({ length: n }, () => Array.from({ length: m.def.inputDim }, () => rng.normal()));
    const ys = Array.from({ length: n }, () => {
      if (m.def.likelihood === 'gaussian') return Array.from({ length: out }, () => rng.normal());
      if (m.def.likelihood === 'bernoulli') return Array.from({ length: out }, () => rng.int(2));
      const c = rng.int(out);
      return Array.from({ length: out }, (_, k) => (k === c ? 1 : 0));
    });
    return { x: xs, y: ys };
  })();
  const batch = { x: tf.tensor2d(x), y: tf.tensor2d(y) };
  // Same seed: sampled Fisher draws the same labels from the same predictive distribution.
  const ctx = createContext(m.def, params, batch, { seed: 11 });
  const ctx0 = createContext(m.base, theta, batch, { seed: 11 });
  return {
    m,
    params,
    theta,
    batch,
    ctx,
    ctx0,
    dispose: () => {
      ctx.dispose();
      ctx0.dispose();
      tf.dispose([...params, ...theta, batch.x, batch.y]);
    },
  };
}

const dense = (op: { toDense(): Float64Array; dispose(): void }): Float64Array => {
  const d = op.toDense();
  op.dispose();
  return d;
};

/** Keeps the diagonal blocks (per dense layer) of a P×P matrix, zero elsewhere. */
function blockPart(def: M.ModelDef, C: Float64Array): Float64Array {
  const P = M.numParams(def);
  const out = new Float64Array(P * P);
  const info = M.paramInfo(def);
  for (let l = 0; l < info.length; l += 2) {
    const off = info[l]!.offset;
    const size = info[l]!.size + info[l + 1]!.size;
    for (let i = off; i < off + size; i++) for (let j = off; j < off + size; j++) out[i * P + j] = C[i * P + j]!;
  }
  return out;
}

function diagPart(P: number, C: Float64Array): Float64Array {
  const out = new Float64Array(P * P);
  for (let i = 0; i < P; i++) out[i * P + i] = C[i * P + i]!;
  return out;
}

const atoms: [string, AtomSpec][] = [
  ['fisher(exact)', { name: 'fisher', sampled: 0 }],
  ['fisher(sampled: 2)', { name: 'fisher', sampled: 2 }],
  ['ggn', { name: 'ggn' }],
  ['empirical_fisher', { name: 'empirical_fisher' }],
  ['gradient_covariance(centered)', { name: 'gradient_covariance', centered: true }],
  ['outer(gradient)', { name: 'outer' }],
  ['hessian', { name: 'hessian' }],
];

const TOL = 2e-4;

describe('paramMap: curvature atoms and structures are the true curvature in φ (Tᵀ C T)', () => {
  mappedModels().forEach((m, mi) => {
    it(`${m.name}: every atom (dense) equals Tᵀ C₀ T and differs from C₀`, () => {
      const before = tf.memory().numTensors;
      const p = pair(m, 40 + mi);
      for (const [name, atom] of atoms) {
        const C = dense(atomOperator(atom, p.ctx));
        const C0 = dense(atomOperator(atom, p.ctx0));
        const want = conjugate(m, C0);
        expect(relErr(C, want), name).toBeLessThan(TOL);
        expect(relErr(C, C0), `${name} should change under the map`).toBeGreaterThan(1e-2);
      }
      p.dispose();
      expect(tf.memory().numTensors).toBe(before); // contexts memoize forward/gradient until disposed
    });

    it(`${m.name}: full / block_diag / diag / lowrank structures equal those of Tᵀ C₀ T`, () => {
      const before = tf.memory().numTensors;
      const p = pair(m, 50 + mi);
      const P = m.P;
      const sourceAtoms: [string, AtomSpec][] = [
        ['fisher(exact)', { name: 'fisher', sampled: 0 }],
        ['empirical_fisher', { name: 'empirical_fisher' }],
        ['gradient_covariance(centered)', { name: 'gradient_covariance', centered: true }],
      ];
      for (const [name, atom] of sourceAtoms) {
        const want = conjugate(m, dense(atomOperator(atom, p.ctx0)));
        const check = (s: StructureSpec, expected: Float64Array) => {
          const got = dense(structured(s, atom, p.ctx));
          expect(relErr(got, expected), `${s.name}(${name})`).toBeLessThan(TOL);
        };
        check({ name: 'full' }, want);
        check({ name: 'block_diag' }, blockPart(m.def, want));
        check({ name: 'diag' }, diagPart(P, want));
        // Rank ≥ the number of outer products: the low-rank part is the whole matrix (Gram route).
        const rows = atom.name === 'fisher' ? 5 * M.outputDim(m.def) : 5;
        check({ name: 'lowrank', rank: rows }, want);
      }
      // Exact GGN diag / block_diag (fisher-exact sample set) also equal the ggn atom's.
      const ggn = conjugate(m, dense(atomOperator({ name: 'ggn' }, p.ctx0)));
      expect(relErr(dense(structured({ name: 'diag' }, { name: 'ggn' }, p.ctx)), diagPart(P, ggn))).toBeLessThan(TOL);
      expect(relErr(dense(structured({ name: 'block_diag' }, { name: 'ggn' }, p.ctx)), blockPart(m.def, ggn))).toBeLessThan(TOL);
      p.dispose();
      expect(tf.memory().numTensors).toBe(before); // contexts memoize forward/gradient until disposed
    });

    it(`${m.name}: kfac / ekfac keep the layer statistics: kron(A, G) of the layer, not Tᵀ K T`, () => {
      const before = tf.memory().numTensors;
      const p = pair(m, 60 + mi);
      const prob0: Problem = { def: m.base, params: p.theta, batch: p.batch, ctx: p.ctx0, dispose: () => undefined };
      const o = oracle(prob0);
      const fisher: AtomSpec = { name: 'fisher', sampled: 0 };
      for (const bias of ['separate', 'homogeneous'] as const) {
        const K = dense(structured({ name: 'kfac', bias }, fisher, p.ctx));
        const K0 = dense(structured({ name: 'kfac', bias }, fisher, p.ctx0));
        expect(relErr(K, kfacDense(o, bias, 'exact')), `kfac ${bias} vs kron(A, G) of the layer stats`).toBeLessThan(TOL);
        expect(relErr(K, K0)).toBeLessThan(TOL);
        // Not the reparametrized K-FAC matrix: K-FAC is not invariant to these maps.
        expect(relErr(K, conjugate(m, K0)), `kfac ${bias} must not equal Tᵀ K T`).toBeGreaterThan(1e-2);
        const EK = dense(structured({ name: 'ekfac', bias }, fisher, p.ctx));
        const EK0 = dense(structured({ name: 'ekfac', bias }, fisher, p.ctx0));
        expect(relErr(EK, EK0)).toBeLessThan(TOL);
        expect(relErr(EK, conjugate(m, EK0))).toBeGreaterThan(1e-2);
      }
      // while the Fisher itself transforms: the two disagree on the mapped model.
      const F = dense(atomOperator(fisher, p.ctx));
      expect(relErr(F, conjugate(m, o.ggn))).toBeLessThan(TOL);
      p.dispose();
      expect(tf.memory().numTensors).toBe(before); // contexts memoize forward/gradient until disposed
    });
  });
});
