/**
 * K-FAC (Martens & Grosse 2015) with DESIGN §3's conventions. Per dense layer:
 *   A = (1/N) Σ a aᵀ (bias 'separate') or Ā = (1/N) Σ ā āᵀ, ā = [a; 1] (bias 'homogeneous'),
 *   G = w Σ_r g_r g_rᵀ over the sample set's columns (w = 1/N exact, 1/(kN) sampled, 1/N empirical).
 * In geodesic's [in, out] row-major layout the W block is kron(A, G): (A⊗G) vec(V) = vec(A V G);
 * with 'separate' the bias block is G, with 'homogeneous' the joint [W; b] block is kron(Ā, G).
 * Factors live on the host in float64 (small: in² + out² per layer). A refresh computes only what
 * its damping mode needs, through src/solvers: the eigenbases (kroneckerFactorsEigen) for exact
 * damping, the two damped SPD inverses (kroneckerFactoredInverse) for factored damping; products
 * run in tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from '../vec.js';
import * as E from 'fp-ts/lib/Either.js';
import type { Params } from '../../model/types.js';
import {
  kroneckerFactorsEigen,
  kroneckerFactoredSolve,
  kroneckerInverseGrid,
  kroneckerSolve,
  kroneckerSolveWithGrid,
  symmetricPowerWithReport,
  SolverException,
  tryKroneckerFactoredInverses,
  type KroneckerEigen,
  type KroneckerFactoredInverse,
} from '../../solvers/index.js';
import { CurvatureError } from '../types.js';
import { checkLambda, chooseSolver, numParamsOf, probe, report, type Op, type Shapes } from '../operator.js';
import { cgSolve } from './free.js';
import type { SampleSet } from '../samples.js';

export type BiasMode = 'separate' | 'homogeneous';

export interface KfacLayerFactors {
  /** Input factor, nA×nA row-major (nA = in, or in + 1 when homogeneous). */
  readonly A: Float64Array;
  readonly G: Float64Array;
  readonly nA: number;
  readonly nG: number;
}

export interface KfacFactors {
  readonly bias: BiasMode;
  readonly layers: readonly KfacLayerFactors[];
}

/**
 * A symmetric factor kept on the tfjs backend (float32, owned by whoever holds it), with its
 * scalar scale carried as a number: the matrix is scale · t, or, with a border (the homogeneous
 * coordinate of Ā), scale · [[t, vᵀ], [v, c]] — so Ā is never assembled on the backend (a concat of
 * an in×in matrix costs as much as a third of its product on wasm); the host copy assembles it.
 */
export interface ScaledFactor {
  readonly t: tf.Tensor2D;
  readonly border?: { readonly v: tf.Tensor2D; readonly c: number };
  readonly scale: number;
  /** Dimension of the whole factor (t's plus one with a border). */
  readonly n: number;
}

export const disposeScaled = (p: ScaledFactor): void => tf.dispose([p.t, ...(p.border ? [p.border.v] : [])]);

/** a·p + b·q (new tensors; the scales are folded into the multipliers). */
export const linScaled = (p: ScaledFactor, a: number, q: ScaledFactor, b: number): ScaledFactor => {
  const ca = a * p.scale;
  const cb = b * q.scale;
  const lin = (x: tf.Tensor2D, y: tf.Tensor2D) => tidy(() => tf.add(tf.mul(x, ca), tf.mul(y, cb)) as tf.Tensor2D);
  const t = lin(p.t, q.t);
  if (!p.border || !q.border) return { t, scale: 1, n: p.n };
  return { t, border: { v: lin(p.border.v, q.border.v), c: ca * p.border.c + cb * q.border.c }, scale: 1, n: p.n };
};

/** s·p (shares p's data through tf.clone). */
export const scaleScaled = (p: ScaledFactor, s: number): ScaledFactor => ({
  t: tf.clone(p.t),
  ...(p.border ? { border: { v: tf.clone(p.border.v), c: p.border.c } } : {}),
  scale: p.scale * s,
  n: p.n,
});

/** p + r·I (new tensors). */
export const addEyeScaled = (p: ScaledFactor, r: number): ScaledFactor => {
  const m = p.t.shape[0];
  const t = tidy(() => tf.add(tf.mul(p.t, p.scale), tf.mul(tf.eye(m), r)) as tf.Tensor2D);
  if (!p.border) return { t, scale: 1, n: p.n };
  return { t, border: { v: tidy(() => tf.mul(p.border!.v, p.scale) as tf.Tensor2D), c: p.scale * p.border.c + r }, scale: 1, n: p.n };
};

/** Host float64 copy of the whole factor (the scaling fused with the float32 → float64 copy). */
export const scaledToHost = (p: ScaledFactor): Float64Array => {
  const d = p.t.dataSync();
  const s = p.scale;
  if (!p.border) {
    const out = new Float64Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = d[i]! * s;
    return out;
  }
  const m = p.t.shape[0];
  const n = m + 1;
  const v = p.border.v.dataSync();
  const out = new Float64Array(n * n);
  for (let i = 0; i < m; i++) {
    const ri = i * n;
    const rd = i * m;
    for (let j = 0; j < m; j++) out[ri + j] = d[rd + j]! * s;
    out[ri + m] = v[i]! * s;
    out[m * n + i] = v[i]! * s;
  }
  out[m * n + m] = p.border.c * s;
  return out;
};

/** Homogeneous inputs ā = [a, 1]. */
export const homogeneous = (a: tf.Tensor2D): tf.Tensor2D => tidy(() => tf.concat([a, tf.ones([a.shape[0], 1])], 1) as tf.Tensor2D);

/**
 * K-FAC factors kept on the tfjs backend (float32), as a running estimate holds them: the per-step
 * statistics and their running averages never leave the backend; the host float64 copy is made
 * when an operator is built (at a refresh).
 */
export interface KfacFactorTensors {
  readonly bias: BiasMode;
  readonly layers: readonly { readonly A: ScaledFactor; readonly G: ScaledFactor }[];
}

export const disposeFactorTensors = (f: KfacFactorTensors): void => f.layers.forEach((l) => (disposeScaled(l.A), disposeScaled(l.G)));

/**
 * K-FAC factors of a sample set on the backend (not centered; no N×P or P×P intermediate): one
 * symmetric product aᵀa and one gᵀg per layer (the native backend computes XᵀX of one tensor on
 * half the blocks), plus Σa for the homogeneous border (N·Ā = [[aᵀa, Σa], [Σaᵀ, N]]); the 1/N and
 * w scalings are carried as numbers.
 */
export function kfacFactorTensorsOf(s: SampleSet, bias: BiasMode): KfacFactorTensors {
  if (s.centered) throw new CurvatureError('kfac of a centered gradient covariance is not Kronecker-factored; use diag, block_diag, lowrank or full');
  const layers = s.a.map((a, l) => {
    const n = a.shape[0];
    const inn = a.shape[1];
    const At = tf.matMul(a, a, true, false) as tf.Tensor2D;
    const A: ScaledFactor =
      bias === 'homogeneous'
        ? { t: At, border: { v: tf.sum(a, 0, true) as tf.Tensor2D, c: n }, scale: 1 / n, n: inn + 1 }
        : { t: At, scale: 1 / n, n: inn };
    const g = s.g[l]!;
    const [m, nn, out] = g.shape;
    const Gt = tidy(() => {
      const gf = tf.reshape(g, [m * nn, out]) as tf.Tensor2D;
      return tf.matMul(gf, gf, true, false);
    }) as tf.Tensor2D;
    return { A, G: { t: Gt, scale: s.weight, n: out } };
  });
  return { bias, layers };
}

/** Host float64 factors from backend factors (does not dispose them). */
export const factorsToHost = (f: KfacFactorTensors): KfacFactors => ({
  bias: f.bias,
  layers: f.layers.map((l) => ({ A: scaledToHost(l.A), G: scaledToHost(l.G), nA: l.A.n, nG: l.G.n })),
});

/** K-FAC factors of a sample set, host float64 (not centered; no N×P or P×P intermediate). */
export function kfacFactorsOf(s: SampleSet, bias: BiasMode): KfacFactors {
  const t = kfacFactorTensorsOf(s, bias);
  try {
    return factorsToHost(t);
  } finally {
    disposeFactorTensors(t);
  }
}

const solverError = (what: string, e: unknown): never => {
  if (e instanceof SolverException) throw new CurvatureError(`${what}: ${e.message}`);
  throw e;
};

/** The bias block's eigen-structure as a Kronecker problem with the 1×1 factor [1] (so factored damping applies too). */
const biasEigen = (eig: KroneckerEigen): KroneckerEigen => {
  const QA = tf.keep(tf.ones([1, 1]) as tf.Tensor2D);
  const sA = tf.keep(tf.ones([1]) as tf.Tensor1D);
  return {
    nA: 1,
    nG: eig.nG,
    QA,
    QG: eig.QG,
    sA,
    sG: eig.sG,
    valuesA: Float64Array.of(1),
    valuesG: eig.valuesG,
    traceA: 1,
    traceG: eig.traceG,
    warnings: [],
    dispose: () => tf.dispose([QA, sA]),
  };
};

const ONE = Float64Array.of(1);

/** Splits / joins a layer's (W, b) for the homogeneous layout [W; b]. */
export const joinWb = (W: tf.Tensor, b: tf.Tensor): tf.Tensor2D => tf.concat([W as tf.Tensor2D, tf.reshape(b, [1, -1])], 0) as tf.Tensor2D;
export const splitWb = (J: tf.Tensor2D): [tf.Tensor, tf.Tensor] => {
  const inn = J.shape[0] - 1;
  return [tf.slice(J, [0, 0], [inn, -1]), tf.reshape(tf.slice(J, [inn, 0], [1, -1]), [-1])];
};

/** The K-FAC operator over host factors (takes ownership of nothing: factors are plain arrays). */
export function kfacOp(factors: KfacFactors, shapes: Shapes, description: string): Op {
  const n = numParamsOf(shapes);
  let tensors: { A: tf.Tensor2D; G: tf.Tensor2D }[] | undefined;
  const factorTensors = () => {
    if (!tensors) {
      tensors = factors.layers.map((f) => ({
        A: tf.keep(tf.tensor2d(Float32Array.from(f.A), [f.nA, f.nA])),
        G: tf.keep(tf.tensor2d(Float32Array.from(f.G), [f.nG, f.nG])),
      }));
    }
    return tensors;
  };
  let eigs: { w: KroneckerEigen; b?: KroneckerEigen }[] | undefined;
  const eigen = () => {
    if (!eigs) {
      const out: { w: KroneckerEigen; b?: KroneckerEigen }[] = [];
      try {
        for (const f of factors.layers) {
          const w = kroneckerFactorsEigen(f.A, f.nA, f.G, f.nG);
          tf.keep(w.QA), tf.keep(w.QG), tf.keep(w.sA), tf.keep(w.sG); // cached beyond any caller's tidy
          out.push(factors.bias === 'separate' ? { w, b: biasEigen(w) } : { w });
        }
      } catch (e) {
        out.forEach((x) => (x.w.dispose(), x.b?.dispose()));
        solverError(description, e);
      }
      eigs = out;
    }
    return eigs;
  };
  /**
   * Factored damping: (A + π√λI)⁻¹ and (G + √λ/π I)⁻¹ per block by SPD inverses (src/solvers
   * `tryKroneckerFactoredInverses`, all blocks in one batch; no eigendecomposition), cached per λ. With a separate bias the bias
   * block is kron([1], G) with its own π_b = sqrt(1 / (tr G / nG)).
   */
  let factored: { lambda: number; layers: { W: KroneckerFactoredInverse; b?: KroneckerFactoredInverse }[]; warnings: string[] } | undefined;
  const factoredInverses = (lambda: number) => {
    if (factored && factored.lambda === lambda) return factored;
    disposeFactored();
    // Every block's two damped SPD inverses in one batch (a native kernel runs them in parallel);
    // the first failing block, in layer order, names the error as a block-by-block refresh would.
    const blocks = factors.layers.flatMap((f, l) => [
      { A: f.A, nA: f.nA, G: f.G, nG: f.nG, what: `layer ${l}` },
      ...(factors.bias === 'separate' ? [{ A: ONE, nA: 1, G: f.G, nG: f.nG, what: `layer ${l} (bias)` }] : []),
    ]);
    const results = tryKroneckerFactoredInverses(blocks, lambda);
    const made: KroneckerFactoredInverse[] = [];
    for (const r of results) {
      if (E.isRight(r)) {
        tf.keep(r.right.left), tf.keep(r.right.right); // cached beyond any caller's tidy
        made.push(r.right);
      }
    }
    const failed = results.findIndex(E.isLeft);
    if (failed >= 0) {
      made.forEach((m) => m.dispose());
      const r = results[failed] as E.Left<{ message: string }>;
      throw new CurvatureError(`${description}: factored damping: ${blocks[failed]!.what}: ${r.left.message}`);
    }
    // no block failed: `made` holds every block's inverses, in `blocks` order
    let next = 0;
    const layers = factors.layers.map(() => {
      const W = made[next++]!;
      return factors.bias === 'separate' ? { W, b: made[next++]! } : { W };
    });
    factored = { lambda, layers, warnings: made.flatMap((m) => [...m.warnings]) };
    return factored;
  };
  const disposeFactored = () => {
    if (factored) factored.layers.forEach((l) => (l.W.dispose(), l.b?.dispose()));
    factored = undefined;
  };
  /** Exact damping at a refresh: the eigenbases and, for the refresh's λ, the inverse eigenvalue grids (kept). */
  let grids: { lambda: number; layers: { w: tf.Tensor2D; b?: tf.Tensor2D }[] } | undefined;
  const disposeGrids = () => {
    if (grids) grids.layers.forEach((g) => tf.dispose([g.w, ...(g.b ? [g.b] : [])]));
    grids = undefined;
  };
  const exactGrids = (lambda: number) => {
    const es = eigen();
    if (grids && grids.lambda === lambda) return;
    disposeGrids();
    const made: tf.Tensor[] = [];
    try {
      const layers = es.map((e) => {
        const w = tf.keep(kroneckerInverseGrid(e.w, lambda));
        made.push(w);
        if (!e.b) return { w };
        const b = tf.keep(kroneckerInverseGrid(e.b, lambda));
        made.push(b);
        return { w, b };
      });
      grids = { lambda, layers };
    } catch (e) {
      tf.dispose(made);
      solverError(description, e);
    }
  };
  const mv = (v: Params): Params =>
    tidy(() => {
      const ts = factorTensors(); // created with tf.keep: they outlive this tidy
      const out: tf.Tensor[] = [];
      ts.forEach(({ A, G }, l) => {
        const W = v[2 * l]!;
        const b = v[2 * l + 1]!;
        if (factors.bias === 'homogeneous') {
          out.push(...splitWb(tf.matMul(tf.matMul(A, joinWb(W, b)), G)));
        } else {
          out.push(tf.matMul(tf.matMul(A, W as tf.Tensor2D), G), tf.reshape(tf.matMul(tf.reshape(b, [1, -1]), G), [-1]));
        }
      });
      return out;
    });
  const memory = factors.layers.reduce((s, f) => s + f.nA * f.nA + f.nG * f.nG, 0);
  const mvFlops = factors.layers.reduce((s, f) => s + 2 * f.nA * f.nG * (f.nA + f.nG), 0);
  // eigendecompositions (exact damping; ≈ 9n³ each); factored damping needs ≈ n³ per SPD inverse
  const refreshFlops = factors.layers.reduce((s, f) => s + 9 * (f.nA ** 3 + f.nG ** 3), 0);
  return {
    structure: 'kfac',
    shapes,
    description,
    numParams: n,
    mv,
    solve: (v, lambda, options) => {
      checkLambda(lambda);
      const solver = chooseSolver(description, ['kronecker', 'cg'], options);
      const mode = options?.damping ?? 'exact';
      if (solver === 'cg') return cgSolve(mv, description, v, lambda, options);
      if (mode === 'factored') {
        const fi = factoredInverses(lambda);
        const x = tidy(() => {
          const out: tf.Tensor[] = [];
          fi.layers.forEach((li, l) => {
            const W = v[2 * l]! as tf.Tensor2D;
            const b = v[2 * l + 1]!;
            if (factors.bias === 'homogeneous') out.push(...splitWb(kroneckerFactoredSolve(li.W, joinWb(W, b))));
            else out.push(kroneckerFactoredSolve(li.W, W), tf.reshape(kroneckerFactoredSolve(li.b!, tf.reshape(b, [1, -1]) as tf.Tensor2D), [-1]));
          });
          return out;
        });
        return { x, report: report('kronecker', { warnings: [...fi.warnings] }) };
      }
      const es = eigen();
      const cached = grids && grids.lambda === lambda && mode === 'exact' ? grids.layers : undefined;
      try {
        const x = tidy(() => {
          const out: tf.Tensor[] = [];
          const solveOne = (e: KroneckerEigen, V: tf.Tensor2D, D: tf.Tensor2D | undefined) => (D ? kroneckerSolveWithGrid(e, V, D) : kroneckerSolve(e, V, lambda, mode));
          es.forEach((e, l) => {
            const W = v[2 * l]! as tf.Tensor2D;
            const b = v[2 * l + 1]!;
            const D = cached?.[l];
            if (factors.bias === 'homogeneous') out.push(...splitWb(solveOne(e.w, joinWb(W, b), D?.w)));
            else out.push(solveOne(e.w, W, D?.w), tf.reshape(solveOne(e.b!, tf.reshape(b, [1, -1]) as tf.Tensor2D, D?.b), [-1]));
          });
          return out;
        });
        return { x, report: report('kronecker', { warnings: es.flatMap((e) => e.w.warnings) }) };
      } catch (e) {
        return solverError(description, e);
      }
    },
    toDense: () => probe(description, shapes, mv),
    prepare: (lambda, options) => void (options?.damping === 'factored' ? factoredInverses(lambda) : exactGrids(lambda)),
    memory: () => memory,
    flops: () => ({ mv: mvFlops, solve: mvFlops, refresh: refreshFlops }),
    power: (p) => {
      const layers = factors.layers.map((f) => ({
        A: powerOf(description, f.A, f.nA, p),
        G: powerOf(description, f.G, f.nG, p),
        nA: f.nA,
        nG: f.nG,
      }));
      return kfacOp({ bias: factors.bias, layers }, shapes, p === 0.5 ? `sqrt(${description})` : `(${description})^${p}`);
    },
    dispose: () => {
      if (tensors) tensors.forEach((t) => tf.dispose([t.A, t.G]));
      if (eigs) eigs.forEach((x) => (x.w.dispose(), x.b?.dispose()));
      disposeGrids();
      disposeFactored();
      tensors = undefined;
      eigs = undefined;
    },
  };
}

export const powerOf = (description: string, M: Float64Array, n: number, p: number): Float64Array => {
  if (p === 1) return Float64Array.from(M);
  const r = symmetricPowerWithReport(M, n, p);
  if (E.isLeft(r)) throw new CurvatureError(`${description}^${p}: ${r.left.message}`);
  return r.right.matrix;
};

