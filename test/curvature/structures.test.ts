import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { beforeAll, describe, expect, it } from 'vitest';
import * as C from '../../src/curvature/index.js';
import * as M from '../../src/model/index.js';
import { symmetricEigen, symmetricPower, tryKroneckerFactoredInverse } from '../../src/solvers/index.js';
import { kfacOp } from '../../src/curvature/structures/kfac.js';
import { expectClose, kfacDense, kron, matVec, noLeak, oracle, randomVector, smallProblem, type Oracle, type Problem } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const fisherExact: C.AtomSpec = { name: 'fisher', sampled: 0 };
const empirical: C.AtomSpec = { name: 'empirical_fisher' };

const diagOf = (D: Float64Array, P: number) => {
  const out = new Float64Array(P * P);
  for (let i = 0; i < P; i++) out[i * P + i] = D[i * P + i]!;
  return out;
};
const blockDiagOf = (D: Float64Array, o: Oracle) => {
  const P = o.P;
  const out = new Float64Array(P * P);
  for (const l of o.layers) {
    const size = l.inDim * l.outDim + l.outDim;
    for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) out[(l.offset + i) * P + l.offset + j] = D[(l.offset + i) * P + l.offset + j]!;
  }
  return out;
};

/** Checks mv, toDense and (C + λI)·solve(v) = v against a dense oracle. */
function checkOperator(op: C.Op, dense: Float64Array, def: M.ModelDef, lambda: number, options?: C.SolveOptions, tol = 2e-4): void {
  const v = randomVector(def, 17);
  const y = op.mv(v.params);
  expectClose(M.toFloat64(y), matVec(dense, v.host), tol, `${op.description} mv`);
  expectClose(op.toDense(), dense, tol, `${op.description} toDense`);
  const { x } = op.solve(v.params, lambda, options);
  const xh = M.toFloat64(x);
  const back = matVec(dense, xh).map((t, i) => t + lambda * xh[i]!);
  expectClose(back, v.host, 1e-3, `${op.description} (C+λI)·solve(v) = v`);
  tf.dispose([...y, ...x, ...v.params]);
}

describe.each(['categorical', 'gaussian', 'bernoulli'] as const)('structures equal their dense matrices (%s head)', (head) => {
  let p: Problem;
  let o: Oracle;
  beforeAll(() => {
    p = smallProblem(head, 31 + head.length);
    o = oracle(p);
    p.ctx.forward();
    p.ctx.gradient();
  });

  it('diag of fisher(exact), ggn, empirical_fisher, gradient_covariance, outer(gradient)', () => {
    const cases: [C.AtomSpec, Float64Array][] = [
      [fisherExact, o.ggn],
      [{ name: 'ggn' }, o.ggn],
      [empirical, o.ef],
      [{ name: 'gradient_covariance', centered: true }, o.cov],
      [{ name: 'outer' }, o.outer],
    ];
    for (const [atom, dense] of cases) {
      noLeak(() => {
        const op = C.structured({ name: 'diag' }, atom, p.ctx);
        expect(op.structure).toBe('diag');
        checkOperator(op, diagOf(dense, o.P), p.def, 0.05);
        op.dispose();
      });
    }
  });

  it('diag(hessian): the diagonal of the Hessian (probed by products; the Hessian itself is checked against finite differences in atoms.test.ts)', () => {
    const hess = C.hessian(p.ctx);
    const H = hess.toDense();
    hess.dispose();
    noLeak(() => {
      const op = C.structured({ name: 'diag' }, { name: 'hessian' }, p.ctx);
      expect(op.structure).toBe('diag');
      const d = diagOf(H, o.P);
      let minDiag = Infinity;
      for (let i = 0; i < o.P; i++) minDiag = Math.min(minDiag, d[i * o.P + i]!);
      checkOperator(op, d, p.def, Math.max(0, -minDiag) + 0.5); // entries may be negative: damp past them
      op.dispose();
    });
  });

  it('block_diag and full of fisher(exact), empirical_fisher, gradient_covariance and hessian', () => {
    const hess = C.hessian(p.ctx);
    const H = hess.toDense();
    hess.dispose();
    const cases: [C.AtomSpec, Float64Array][] = [
      [fisherExact, o.ggn],
      [empirical, o.ef],
      [{ name: 'gradient_covariance', centered: true }, o.cov],
      [{ name: 'hessian' }, H],
    ];
    for (const [atom, dense] of cases) {
      noLeak(() => {
        const bd = C.structured({ name: 'block_diag' }, atom, p.ctx);
        // the Hessian is indefinite: damp it enough to make the solve well posed
        let lam = 0.05;
        if (atom.name === 'hessian') {
          const e = symmetricEigen(H, o.P);
          if (E.isLeft(e)) throw new Error(e.left.message);
          lam = Math.max(0, -e.right.values[0]!) + 0.5;
        }
        checkOperator(bd, blockDiagOf(dense, o), p.def, lam, { solver: 'cholesky' });
        bd.dispose();
        const full = C.structured({ name: 'full' }, atom, p.ctx);
        checkOperator(full, dense, p.def, lam, { solver: 'eigen' });
        full.dispose();
      });
    }
  });

  it.each(['separate', 'homogeneous'] as const)('kfac (bias %s) equals kron(A, G) with exact and empirical G; exact and factored solves', (bias) => {
    for (const [atom, source] of [[fisherExact, 'exact'], [empirical, 'empirical']] as const) {
      noLeak(() => {
        const op = C.structured({ name: 'kfac', bias }, atom, p.ctx);
        const K = kfacDense(o, bias, source);
        checkOperator(op, K, p.def, 0.01);
        op.dispose();
      });
    }
    // factors directly
    const f = C.kfacFactors(p.ctx, { bias, source: 'exact' });
    f.layers.forEach((l, i) => {
      expectClose(l.A, bias === 'homogeneous' ? o.layers[i]!.Ah : o.layers[i]!.A, 1e-5, 'A');
      expectClose(l.G, o.layers[i]!.G, 2e-4, 'G');
    });
    // factored (π-corrected) damping against its closed form per layer: (A + π√λ I)⁻¹ V (G + √λ/π I)⁻¹
    const lambda = 0.01;
    noLeak(() => {
      const op = C.structured({ name: 'kfac', bias }, fisherExact, p.ctx);
      const v = randomVector(p.def, 5);
      const { x } = op.solve(v.params, lambda, { damping: 'factored' });
      const xh = M.toFloat64(x);
      for (const l of o.layers) {
        const G = l.G;
        const blocks: [Float64Array, number, number, number][] =
          bias === 'homogeneous' ? [[l.Ah, l.inDim + 1, l.offset, 0]] : [[l.A, l.inDim, l.offset, 0], [Float64Array.of(1), 1, l.offset + l.inDim * l.outDim, 0]];
        for (const [A, nA, off] of blocks) {
          const trA = Array.from({ length: nA }, (_, i) => A[i * nA + i]!).reduce((s, t) => s + t, 0) / nA;
          const trG = Array.from({ length: l.outDim }, (_, i) => G[i * l.outDim + i]!).reduce((s, t) => s + t, 0) / l.outDim;
          const pi = Math.sqrt(trA / trG);
          const Ad = Float64Array.from(A);
          for (let i = 0; i < nA; i++) Ad[i * nA + i] = Ad[i * nA + i]! + pi * Math.sqrt(lambda);
          const Gd = Float64Array.from(G);
          for (let i = 0; i < l.outDim; i++) Gd[i * l.outDim + i] = Gd[i * l.outDim + i]! + Math.sqrt(lambda) / pi;
          const Kd = kron(Ad, nA, Gd, l.outDim);
          const n = nA * l.outDim;
          const xs = xh.subarray(off, off + n);
          expectClose(matVec(Kd, Float64Array.from(xs)), v.host.subarray(off, off + n), 1e-3, 'factored damping');
        }
      }
      tf.dispose([...x, ...v.params]);
      op.dispose();
    });
  });

  it.each(['separate', 'homogeneous'] as const)('ekfac (bias %s): K-FAC eigenbasis with the exact second moment in it', (bias) => {
    noLeak(() => {
      const op = C.structured({ name: 'ekfac', bias }, empirical, p.ctx);
      // Oracle: Q = blockdiag(Q_A ⊗ Q_G), S = diag(Qᵀ EF Q) per block, E = Q diag(S) Qᵀ.
      const P = o.P;
      const Edense = new Float64Array(P * P);
      for (const l of o.layers) {
        const parts: [Float64Array, number, number][] =
          bias === 'homogeneous' ? [[l.Ah, l.inDim + 1, l.offset]] : [[l.A, l.inDim, l.offset], [Float64Array.of(1), 1, l.offset + l.inDim * l.outDim]];
        const eg = symmetricEigen(l.Gemp, l.outDim);
        if (E.isLeft(eg)) throw new Error('eig');
        for (const [A, nA, off] of parts) {
          const ea = symmetricEigen(A, nA);
          if (E.isLeft(ea)) throw new Error('eig');
          const Q = kron(ea.right.vectors, nA, eg.right.vectors, l.outDim); // columns are q_A ⊗ q_G
          const n = nA * l.outDim;
          const block = new Float64Array(n * n);
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) block[i * n + j] = o.ef[(off + i) * P + off + j]!;
          const S = new Float64Array(n);
          for (let c = 0; c < n; c++) {
            const q = Float64Array.from({ length: n }, (_, i) => Q[i * n + c]!);
            const bq = matVec(block, q);
            S[c] = q.reduce((s, qi, i) => s + qi * bq[i]!, 0);
          }
          for (let i = 0; i < n; i++)
            for (let j = 0; j < n; j++) {
              let s = 0;
              for (let c = 0; c < n; c++) s += Q[i * n + c]! * S[c]! * Q[j * n + c]!;
              Edense[(off + i) * P + off + j] = s;
            }
        }
      }
      checkOperator(op, Edense, p.def, 0.01);
      op.dispose();
    });
  });

  it('lowrank(rank) + diagonal: top eigenpairs plus the residual diagonal; woodbury solve', () => {
    noLeak(() => {
      const rank = 3;
      const op = C.structured({ name: 'lowrank', rank }, empirical, p.ctx);
      const P = o.P;
      const e = symmetricEigen(o.ef, P);
      if (E.isLeft(e)) throw new Error('eig');
      const L = new Float64Array(P * P);
      for (let c = P - rank; c < P; c++) {
        const mu = e.right.values[c]!;
        for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) L[i * P + j] = L[i * P + j]! + mu * e.right.vectors[i * P + c]! * e.right.vectors[j * P + c]!;
      }
      for (let i = 0; i < P; i++) L[i * P + i] = L[i * P + i]! + Math.max(o.ef[i * P + i]! - L[i * P + i]!, 0);
      checkOperator(op, L, p.def, 0.01, undefined, 5e-4);
      op.dispose();
    });
    // through products (randomized range finder) for the Hessian: with rank = P the range is the
    // whole space, so U Uᵀ is exactly the Hessian's positive part (negative eigenvalues dropped)
    noLeak(() => {
      const hess = C.hessian(p.ctx);
      const H = hess.toDense();
      hess.dispose();
      const P = o.P;
      const e = symmetricEigen(H, P);
      if (E.isLeft(e)) throw new Error('eig');
      const Hplus = new Float64Array(P * P);
      for (let c = 0; c < P; c++) {
        const mu = e.right.values[c]!;
        if (mu <= 0) continue;
        for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) Hplus[i * P + j] = Hplus[i * P + j]! + mu * e.right.vectors[i * P + c]! * e.right.vectors[j * P + c]!;
      }
      const op = C.structured({ name: 'lowrank', rank: P }, { name: 'hessian' }, p.ctx);
      expect(op.structure).toBe('lowrank');
      expectClose(op.toDense(), Hplus, 2e-3, 'lowrank(hessian) by range finder');
      op.dispose();
    });
  });
});

describe('kfac on a single linear layer with a gaussian head', () => {
  it('equals kron(A, I) = the exact Fisher', () => {
    const def: M.ModelDef = { inputDim: 3, layers: [{ kind: 'dense', inDim: 3, outDim: 2 }], likelihood: 'gaussian' };
    const rng = M.makeRng(3);
    const params = M.fromFloat64(def, new Float64Array(M.numParams(def)).map(() => rng.normal()));
    const x = tf.tensor2d(Array.from({ length: 15 }, () => rng.normal()), [5, 3]);
    const y = tf.tensor2d(Array.from({ length: 10 }, () => rng.normal()), [5, 2]);
    const ctx = C.createContext(def, params, { x, y });
    for (const bias of ['separate', 'homogeneous'] as const) {
      const k = C.structured({ name: 'kfac', bias }, fisherExact, ctx);
      const f = C.fisherExact(ctx);
      const K = k.toDense();
      const F = f.toDense();
      if (bias === 'homogeneous') expectClose(K, F, 1e-5, 'kfac = fisher');
      else {
        // separate bias drops the W–b cross terms: compare the diagonal blocks only
        const P = 8;
        for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) if ((i < 6) === (j < 6)) expect(Math.abs(K[i * P + j]! - F[i * P + j]!)).toBeLessThan(1e-5);
      }
      // and the W block is kron(A, I)
      const xa = x.arraySync() as number[][];
      const A = new Float64Array(9);
      for (const r of xa) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) A[i * 3 + j] = A[i * 3 + j]! + (r[i]! * r[j]!) / 5;
      const KA = kron(A, 3, Float64Array.of(1, 0, 0, 1), 2);
      for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) expect(Math.abs(K[i * 8 + j]! - KA[i * 6 + j]!)).toBeLessThan(1e-5);
      k.dispose();
      f.dispose();
    }
    ctx.dispose();
    tf.dispose([...params, x, y]);
  });
});

describe('kfac factored damping refresh (all blocks in one batch)', () => {
  const diag = (...d: number[]) => {
    const n = d.length;
    const M = new Float64Array(n * n);
    d.forEach((v, i) => (M[i * n + i] = v));
    return M;
  };
  const indefinite = Float64Array.from([1, 0, 0, -0.5]); // tr > 0, but A + π√λI stays indefinite for small λ
  const lambda = 1e-4;
  const shapesOf = (layers: { nA: number; nG: number }[]) => layers.flatMap(({ nA, nG }) => [{ shape: [nA, nG] }, { shape: [nG] }]);

  it('the first failing block in layer order names the error (as block by block); nothing leaks', () => {
    const layers = [
      { A: diag(1, 2, 3), nA: 3, G: diag(1, 2), nG: 2 },
      { A: indefinite, nA: 2, G: diag(2, 1, 1), nG: 3 },
      { A: diag(4, 1), nA: 2, G: new Float64Array(4), nG: 2 }, // zero trace: fails too, later
    ];
    const op = kfacOp({ bias: 'separate', layers }, shapesOf(layers), 'kfac test');
    const first = tryKroneckerFactoredInverse(indefinite, 2, layers[1]!.G, 3, lambda);
    expect(E.isLeft(first)).toBe(true);
    const expected = E.isLeft(first) ? `kfac test: factored damping: layer 1: ${first.left.message}` : '';
    noLeak(() => {
      let thrown: unknown;
      try {
        op.prepare?.(lambda, { damping: 'factored' });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(C.CurvatureError);
      expect((thrown as Error).message).toBe(expected);
    });
    op.dispose();
  });

  it('a failing bias block is named "(bias)"; a valid refresh keeps its tensors until dispose', () => {
    // G is indefinite (eigenvalue −0.02); whether a block survives depends on the damping √λ/π it gets
    const G = Float64Array.from([1, 0, 0, -0.02]);
    const layers = [{ A: diag(100, 100), nA: 2, G, nG: 2 }];
    // W: π = sqrt(100 / 0.49) ≈ 14.3, G + √λ/π I = G + 0.0007 I: indefinite as well → the W block fails first
    const op = kfacOp({ bias: 'separate', layers }, shapesOf(layers), 'kfac test');
    expect(() => op.prepare?.(lambda, { damping: 'factored' })).toThrow(/^kfac test: factored damping: layer 0: kronecker factor G/);
    op.dispose();
    // with A tiny, π is small and √λ/π large: the W block is fine, the bias block (π_b = sqrt(1 / 0.49)) is not
    const layers2 = [{ A: diag(1e-6, 1e-6), nA: 2, G, nG: 2 }];
    const op2 = kfacOp({ bias: 'separate', layers: layers2 }, shapesOf(layers2), 'kfac test');
    const before = tf.memory().numTensors;
    expect(() => op2.prepare?.(lambda, { damping: 'factored' })).toThrow(/^kfac test: factored damping: layer 0 \(bias\): kronecker factor G/);
    expect(tf.memory().numTensors).toBe(before);
    op2.dispose();
    const ok = [{ A: diag(1, 2), nA: 2, G: diag(3, 1), nG: 2 }];
    const op3 = kfacOp({ bias: 'separate', layers: ok }, shapesOf(ok), 'kfac test');
    op3.prepare?.(lambda, { damping: 'factored' });
    expect(tf.memory().numTensors).toBe(before + 4); // W: left, right; bias: left, right
    op3.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('algebra laws', () => {
  let p: Problem;
  beforeAll(() => {
    // N = 24 > every factor's size, so the factors (and blocks) are positive definite
    p = smallProblem('gaussian', 77, { inp: 3, hidden: 4, out: 3, n: 24 }); // categorical G's are singular (Σ_c ∂ℓ/∂f_c = 0)
    p.ctx.forward();
    p.ctx.gradient(); // memoizes the context's backward pass, which empirical statistics share
  });
  it.each([
    ['diag', { name: 'diag' } as C.StructureSpec],
    ['kfac', { name: 'kfac', bias: 'homogeneous' } as C.StructureSpec],
    ['ekfac', { name: 'ekfac', bias: 'separate' } as C.StructureSpec],
    ['block_diag', { name: 'block_diag' } as C.StructureSpec],
    ['full', { name: 'full' } as C.StructureSpec],
  ])('(C^a)^b = C^(ab) and C^p matches the dense power (%s)', (_n, s) => {
    noLeak(() => {
      const base = C.structured(s, empirical, p.ctx);
      // Kronecker structures are not closed under shifts: use them as they are (positive definite here)
      const shifted = s.name === 'kfac' || s.name === 'ekfac' ? base : C.sumOp([base, C.scaleOp(0.5, C.identity(p.def))]);
      const D = shifted.toDense();
      const P = Math.sqrt(D.length);
      const a = 0.5;
      const b = -2;
      const pa = shifted.power(a);
      const pab = pa.power(b);
      const direct = shifted.power(a * b);
      expectClose(pab.toDense(), direct.toDense(), 2e-4, '(C^a)^b vs C^(ab)');
      if (s.name !== 'kfac' && s.name !== 'ekfac') {
        // structures closed under shifts: compare with the dense matrix power
        const ref = symmetricPower(D, P, a * b);
        if (E.isLeft(ref)) throw new Error(ref.left.message);
        expectClose(direct.toDense(), ref.right, 2e-4, 'C^(ab) vs dense power');
      }
      [pa, pab, direct, shifted].forEach((o) => o.dispose());
    });
  });

  it('kfac^p equals the dense power of kron(A, G) blocks', () => {
    noLeak(() => {
      const k = C.structured({ name: 'kfac', bias: 'homogeneous' }, empirical, p.ctx);
      const D = k.toDense();
      const kp = k.power(-0.5);
      const o = oracle(p);
      // per-layer dense power of the block, with the block's eigenvalues floored (the block is only PSD)
      const Kp = kp.toDense();
      const P = o.P;
      for (const l of o.layers) {
        const n = (l.inDim + 1) * l.outDim;
        const B = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) B[i * n + j] = D[(l.offset + i) * P + l.offset + j]!;
        const ref = symmetricPower(B, n, -0.5);
        if (E.isLeft(ref)) throw new Error(ref.left.message);
        const got = new Float64Array(n * n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) got[i * n + j] = Kp[(l.offset + i) * P + l.offset + j]!;
        expectClose(got, ref.right, 5e-3, 'kfac^-1/2 block');
      }
      k.dispose();
      kp.dispose();
    });
  });

  it('sum and scalar multiple: mv, toDense and solve of 2·diag(F) + kfac(F) + 0.1·I', () => {
    noLeak(() => {
      const d = C.structured({ name: 'diag' }, fisherExact, p.ctx);
      const k = C.structured({ name: 'kfac', bias: 'separate' }, fisherExact, p.ctx);
      const Dd = d.toDense();
      const Dk = k.toDense();
      const sum = C.sumOp([C.scaleOp(2, d), k, C.scaleOp(0.1, C.identity(p.def))]);
      const n = Math.sqrt(Dd.length);
      const ref = Dd.map((x, i) => 2 * x + Dk[i]! + (i % (n + 1) === 0 ? 0.1 : 0));
      checkOperator(sum, ref, p.def, 0.01);
      sum.dispose();
    });
  });

  it('powers are refused with a clear error where the structure has none', () => {
    const op = C.ggn(p.ctx);
    expect(() => op.power(0.5)).toThrow(C.CurvatureError);
    op.dispose();
    const lr = C.structured({ name: 'lowrank', rank: 2 }, empirical, p.ctx);
    expect(() => lr.power(2)).toThrow(/not closed under powers/);
    lr.dispose();
  });

  it('solver choices: auto picks by structure, incompatible solvers are refused', () => {
    const v = randomVector(p.def, 1);
    const pick = (op: C.Op, options?: C.SolveOptions) => {
      const r = op.solve(v.params, 0.1, options);
      tf.dispose([...r.x]);
      op.dispose();
      return r.report.solver;
    };
    expect(pick(C.structured({ name: 'kfac', bias: 'separate' }, fisherExact, p.ctx))).toBe('kronecker');
    expect(pick(C.structured({ name: 'lowrank', rank: 2 }, fisherExact, p.ctx))).toBe('woodbury');
    expect(pick(C.structured({ name: 'full' }, fisherExact, p.ctx))).toBe('cholesky');
    expect(pick(C.fisherExact(p.ctx))).toBe('cg');
    expect(pick(C.structured({ name: 'kfac', bias: 'separate' }, fisherExact, p.ctx), { solver: 'cg' })).toBe('cg');
    const k = C.structured({ name: 'diag' }, fisherExact, p.ctx);
    expect(() => k.solve(v.params, 0.1, { solver: 'kronecker' })).toThrow(/cannot solve/);
    k.dispose();
    tf.dispose([...v.params]);
  });
});
