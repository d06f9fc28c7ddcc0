/**
 * Structured estimates: what one context contributes to a structure over an atom, in a form that
 * running averages (ema, sum) can combine linearly, and the operator over an estimate.
 *   diag: tensors (tfjs ops chosen for bit-compatibility with tfjs's Adam/RMSProp/Adagrad)
 *   kfac: host float64 factors A, G per layer (averaged factor-wise, as K-FAC does)
 *   ekfac: factors + scaling in a basis kept by the running estimate (re-estimated every update,
 *          basis recomputed at refresh, George et al. 2018)
 *   full / block_diag: host float64 blocks
 *   lowrank: not averageable; op: matrix-free operators (not averageable).
 */
import * as tf from '@tensorflow/tfjs';
import { tidy } from './vec.js';
import type { Params } from '../model/types.js';
import { CurvatureError, type CurvatureContext } from './types.js';
import { atomOperator, atomOuter, describeAtom, type AtomSpec } from './atoms.js';
import { disposeOuter, outerBlocks, outerDiag, paramShapes } from './samples.js';
import { numParamsOf, type Op, type Shapes } from './operator.js';
import { diagOp } from './structures/diag.js';
import {
  disposeFactorTensors,
  factorsToHost,
  kfacFactorsOf,
  kfacFactorTensorsOf,
  kfacOp,
  type BiasMode,
  type KfacFactors,
  type KfacFactorTensors,
  addEyeScaled,
  linScaled,
  scaleScaled,
} from './structures/kfac.js';
import { ekfacBasis, ekfacOp, ekfacScaling, rebase, type Ekfac } from './structures/ekfac.js';
import { blockDiagOp, blocksOfDense, layerBlocks, type Block } from './structures/dense.js';
import { lowRankFromOuter, lowRankFromProducts, lowRankOp, MAX_GRAM, type LowRank } from './structures/lowrank.js';
import * as V from './vec.js';

export type StructureSpec =
  | { readonly name: 'matrix_free' }
  | { readonly name: 'diag' }
  | { readonly name: 'full' }
  | { readonly name: 'block_diag' }
  | { readonly name: 'kfac'; readonly bias: BiasMode }
  | { readonly name: 'ekfac'; readonly bias: BiasMode }
  | { readonly name: 'lowrank'; readonly rank: number };

export function structureSpec(name: string, args: Readonly<Record<string, unknown>>): StructureSpec {
  switch (name) {
    case 'diag':
    case 'full':
    case 'block_diag':
      return { name };
    case 'kfac':
    case 'ekfac': {
      const bias = args['bias'] ?? 'homogeneous';
      if (bias !== 'separate' && bias !== 'homogeneous') throw new CurvatureError(`${name}(bias): expected 'separate' or 'homogeneous', got ${String(bias)}`);
      return { name, bias };
    }
    case 'lowrank': {
      const rank = args['rank'] ?? args['0'];
      if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 1) throw new CurvatureError(`lowrank(rank): expected a positive integer, got ${String(rank)}`);
      return { name, rank };
    }
    default:
      throw new CurvatureError(`unknown curvature structure '${name}' (known: full, block_diag, diag, kfac, ekfac, lowrank)`);
  }
}

export const describeStructure = (s: StructureSpec, inner: string): string => {
  switch (s.name) {
    case 'matrix_free':
      return inner;
    case 'kfac':
    case 'ekfac':
      return `${s.name}(${inner}, bias: ${s.bias})`;
    case 'lowrank':
      return `lowrank(${inner}, rank: ${s.rank})`;
    default:
      return `${s.name}(${inner})`;
  }
};

export type Estimate =
  | { readonly kind: 'diag'; readonly d: Params; readonly nonNegative: boolean }
  | { readonly kind: 'kfac'; readonly f: KfacFactorTensors }
  | { readonly kind: 'ekfac'; readonly f: KfacFactors; readonly e: Ekfac }
  | { readonly kind: 'blocks'; readonly structure: 'full' | 'block_diag'; readonly blocks: readonly Block[] }
  | { readonly kind: 'lowrank'; readonly lr: LowRank }
  | { readonly kind: 'op'; readonly op: Op };

export const disposeEstimate = (e: Estimate | undefined): void => {
  if (!e) return;
  if (e.kind === 'diag') V.dispose(e.d);
  else if (e.kind === 'kfac') disposeFactorTensors(e.f);
  else if (e.kind === 'op') e.op.dispose();
};

const dimensionFree = (what: string, atom: AtomSpec): never => {
  throw new CurvatureError(`${what}(${describeAtom(atom)}) is not available: ${describeAtom(atom)} is known only through products here; use full(·) or block_diag(·), or a Fisher/GGN atom`);
};

/** One context's estimate of `structure(atom)`; `hint` is the running estimate (ekfac reuses its basis). */
export function freshEstimate(structure: StructureSpec, atom: AtomSpec, ctx: CurvatureContext, hint?: Estimate): Estimate {
  const shapes = paramShapes(ctx.def);
  const description = describeStructure(structure, describeAtom(atom));
  if (atom.name === 'lbfgs') throw new CurvatureError(`${description}: lbfgs is handled by the estimator`);
  if (atom.name === 'identity' && structure.name !== 'matrix_free') {
    throw new CurvatureError(`${description}: the identity needs no structure; write identity`);
  }
  switch (structure.name) {
    case 'matrix_free':
      return { kind: 'op', op: atomOperator(atom, ctx) };
    case 'diag': {
      const s = atomOuter(atom, ctx);
      if (!s) {
        // Known only through products (the Hessian): its diagonal is probed with the P basis vectors,
        // the same products block_diag(·) and full(·) use. Entries may be negative (not a Gram matrix).
        const op = atomOperator(atom, ctx);
        try {
          const n = numParamsOf(shapes);
          const M = op.toDense();
          const dh = new Float64Array(n);
          for (let i = 0; i < n; i++) dh[i] = M[i * n + i]!;
          return { kind: 'diag', d: V.fromHost(shapes, dh), nonNegative: false };
        } finally {
          op.dispose();
        }
      }
      try {
        return { kind: 'diag', d: outerDiag(s), nonNegative: true };
      } finally {
        disposeOuter(s);
      }
    }
    case 'kfac':
    case 'ekfac': {
      const s = atomOuter(atom, ctx);
      if (!s) return dimensionFree(structure.name, atom);
      try {
        if (s.kind !== 'samples') throw new CurvatureError(`${description}: outer(gradient) is not a sum of per-example Kronecker products; use diag or lowrank`);
        // kfac keeps its factors on the backend (host copies only when an operator is built)
        if (structure.name === 'kfac') return { kind: 'kfac', f: kfacFactorTensorsOf(s, structure.bias) };
        const f = kfacFactorsOf(s, structure.bias);
        const basis = hint?.kind === 'ekfac' ? hint.e.layers : ekfacBasis(f, description);
        return { kind: 'ekfac', f, e: ekfacScaling(s, structure.bias, basis) };
      } finally {
        disposeOuter(s);
      }
    }
    case 'block_diag':
    case 'full': {
      const s = structure.name === 'block_diag' ? atomOuter(atom, ctx) : undefined;
      if (s) {
        try {
          const dense = outerBlocks(s);
          const layout = layerBlocks(shapes);
          return { kind: 'blocks', structure: 'block_diag', blocks: layout.map((b, i) => ({ ...b, M: dense[i]! })) };
        } finally {
          disposeOuter(s);
        }
      }
      const op = atomOperator(atom, ctx);
      try {
        const M = op.toDense();
        const n = numParamsOf(shapes);
        return structure.name === 'full'
          ? { kind: 'blocks', structure: 'full', blocks: [{ offset: 0, size: n, M }] }
          : { kind: 'blocks', structure: 'block_diag', blocks: blocksOfDense(M, shapes) };
      } finally {
        op.dispose();
      }
    }
    case 'lowrank': {
      const s = atomOuter(atom, ctx);
      try {
        const rows = !s ? Infinity : s.kind === 'vectors' ? s.vectors.length : s.g[0]!.shape[0] * s.g[0]!.shape[1];
        if (s && rows <= MAX_GRAM) {
          const diag = outerDiag(s);
          const dh = V.toHost(diag);
          V.dispose(diag);
          return { kind: 'lowrank', lr: lowRankFromOuter(s, structure.rank, dh, description) };
        }
        const op = atomOperator(atom, ctx);
        try {
          let dh: Float64Array | undefined;
          if (s) {
            const diag = outerDiag(s);
            dh = V.toHost(diag);
            V.dispose(diag);
          }
          return { kind: 'lowrank', lr: lowRankFromProducts(shapes, (v) => op.mv(v), structure.rank, dh, ctx.seed, description) };
        } finally {
          op.dispose();
        }
      } finally {
        if (s) disposeOuter(s);
      }
    }
  }
}

/** a·x + b·y for estimates of the same structure (tf ops `tf.add(tf.mul(x, a), tf.mul(y, b))` for diag). */
export function combine(x: Estimate, a: number, y: Estimate, b: number, what: string): Estimate {
  const lin = (p: Float64Array, q: Float64Array) => p.map((v, i) => a * v + b * q[i]!);
  if (x.kind === 'diag' && y.kind === 'diag') {
    return { kind: 'diag', d: x.d.map((t, i) => tidy(() => tf.add(tf.mul(t, a), tf.mul(y.d[i]!, b)))), nonNegative: x.nonNegative && y.nonNegative && a >= 0 && b >= 0 };
  }
  if (x.kind === 'kfac' && y.kind === 'kfac') {
    // on the backend: a·x + b·y with the factors' scales folded into the two multipliers
    return { kind: 'kfac', f: { bias: x.f.bias, layers: x.f.layers.map((l, i) => ({ A: linScaled(l.A, a, y.f.layers[i]!.A, b), G: linScaled(l.G, a, y.f.layers[i]!.G, b) })) } };
  }
  if (x.kind === 'ekfac' && y.kind === 'ekfac') {
    return {
      kind: 'ekfac',
      f: combineFactors(x.f, y.f, lin),
      e: { bias: x.e.bias, layers: x.e.layers.map((l, i) => ({ ...l, S: lin(l.S, y.e.layers[i]!.S), Sb: lin(l.Sb, y.e.layers[i]!.Sb) })) },
    };
  }
  if (x.kind === 'blocks' && y.kind === 'blocks') return { kind: 'blocks', structure: x.structure, blocks: x.blocks.map((bl, i) => ({ ...bl, M: lin(bl.M, y.blocks[i]!.M) })) };
  return notAverageable(what, x);
}

const combineFactors = (x: KfacFactors, y: KfacFactors, lin: (p: Float64Array, q: Float64Array) => Float64Array): KfacFactors => ({
  bias: x.bias,
  layers: x.layers.map((l, i) => ({ ...l, A: lin(l.A, y.layers[i]!.A), G: lin(l.G, y.layers[i]!.G) })),
});

const notAverageable = (what: string, e: Estimate): never => {
  throw new CurvatureError(
    `${what}: ${e.kind === 'op' ? 'a matrix-free curvature' : e.kind === 'lowrank' ? 'a low-rank approximation' : 'this estimate'} cannot be averaged; average a structure (diag, kfac, ekfac, block_diag, full) instead`,
  );
};

/** s·x (for diag exactly `tf.mul(d, s)`). */
export function scaleEstimate(x: Estimate, s: number, what: string): Estimate {
  const sc = (p: Float64Array) => p.map((v) => v * s);
  switch (x.kind) {
    case 'diag':
      return { kind: 'diag', d: x.d.map((t) => tf.mul(t, s)), nonNegative: x.nonNegative && s >= 0 };
    case 'kfac': {
      // s·(A ⊗ G) with each factor scaled by s (as the host version did); tf.clone shares the data
      return { kind: 'kfac', f: { bias: x.f.bias, layers: x.f.layers.map((l) => ({ A: scaleScaled(l.A, s), G: scaleScaled(l.G, s) })) } };
    }
    case 'ekfac':
      return {
        kind: 'ekfac',
        f: { bias: x.f.bias, layers: x.f.layers.map((l) => ({ ...l, A: sc(l.A), G: sc(l.G) })) },
        e: { bias: x.e.bias, layers: x.e.layers.map((l) => ({ ...l, S: sc(l.S), Sb: sc(l.Sb) })) },
      };
    case 'blocks':
      return { kind: 'blocks', structure: x.structure, blocks: x.blocks.map((b) => ({ ...b, M: sc(b.M) })) };
    default:
      return notAverageable(what, x);
  }
}

/** x + init·I (for diag exactly `tf.add(tf.fill(shape, init), d)`, Adagrad's accumulator start; for kfac √init·I per factor). */
export function addInit(x: Estimate, init: number, what: string): Estimate {
  const addEye = (M: Float64Array, n: number, c: number) => {
    const out = Float64Array.from(M);
    for (let i = 0; i < n; i++) out[i * n + i] = out[i * n + i]! + c;
    return out;
  };
  switch (x.kind) {
    case 'diag':
      return { kind: 'diag', d: x.d.map((t) => tidy(() => tf.add(tf.fill(t.shape, init), t))), nonNegative: x.nonNegative && init >= 0 };
    case 'blocks':
      return { kind: 'blocks', structure: x.structure, blocks: x.blocks.map((b) => ({ ...b, M: addEye(b.M, b.size, init) })) };
    case 'kfac': {
      // Factors are accumulated separately; each starts at √init·I so the Kronecker product starts at init·I.
      const r = Math.sqrt(init);
      return { kind: 'kfac', f: { bias: x.f.bias, layers: x.f.layers.map((l) => ({ A: addEyeScaled(l.A, r), G: addEyeScaled(l.G, r) })) } };
    }
    default:
      return notAverageable(what, x);
  }
}

/** Divides by c (for diag exactly `tf.div(d, c)` with c a scalar tensor or number). */
export function divideEstimate(x: Estimate, c: tf.Scalar, cHost: number, what: string): Estimate {
  if (x.kind === 'diag') return { kind: 'diag', d: x.d.map((t) => tf.div(t, c)), nonNegative: x.nonNegative };
  return scaleEstimate(x, 1 / cHost, what);
}

/** For a running ekfac estimate: recompute the basis from the averaged factors and express S in it. */
export function refreshEstimate(x: Estimate, what: string): Estimate {
  if (x.kind !== 'ekfac') return x;
  const basis = ekfacBasis(x.f, what);
  return { kind: 'ekfac', f: x.f, e: rebase(x.e, basis) };
}

/** A fresh operator over an estimate (the estimate keeps its own tensors). */
export function estimateOp(x: Estimate, shapes: Shapes, description: string): Op {
  switch (x.kind) {
    case 'diag':
      return diagOp(V.clone(x.d), description, x.nonNegative);
    case 'kfac':
      return kfacOp(factorsToHost(x.f), shapes, description);
    case 'ekfac':
      return ekfacOp(x.e, shapes, description);
    case 'blocks':
      return blockDiagOp(x.blocks, shapes, description, x.structure);
    case 'lowrank':
      return lowRankOp(x.lr, shapes, description);
    case 'op':
      throw new CurvatureError(`${description}: internal: a matrix-free estimate is used directly`);
  }
}
