/**
 * `createEstimator(expr, def)`: a running estimate of any curvature expression. The expression is
 * compiled once into a tree of nodes; the estimator's state holds each node's state (latest
 * estimates, running averages, L-BFGS pairs) and the current operator, built on demand and kept
 * until the next update/refresh.
 *
 * Running averages (exactly as tfjs's optimizers for diagonal estimates):
 *   ema(decay, debias): v ← v·decay + e·(1 − decay) (`tf.add(tf.mul(v, decay), tf.mul(e, 1 − decay))`,
 *     v₀ = 0); the operator is v / (1 − decayᵗ) with decayᵗ a float32 scalar tensor multiplied by
 *     decay once per update (tfjs's accBeta), or v itself without debiasing.
 *   sum(init): v ← v + e, v₀ = init (diag: `tf.fill(shape, init)`; dense: init·I; kfac: √init·I per factor).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef, Params } from '../model/types.js';
import { CurvatureError, type CurvatureContext, type CurvatureExpr, type Estimator, type SolveOptions } from './types.js';
import { atomSpec, describeAtom, type AtomSpec } from './atoms.js';
import {
  addInit,
  combine,
  describeStructure,
  disposeEstimate,
  divideEstimate,
  estimateOp,
  freshEstimate,
  refreshEstimate,
  scaleEstimate,
  structureSpec,
  type Estimate,
  type StructureSpec,
} from './estimate.js';
import { paramShapes } from './samples.js';
import type { Op, Shapes } from './operator.js';
import { borrowed, powerOp, scaleOp, sumOp } from './algebra.js';
import { identityOp } from './structures/diag.js';
import { lbfgsOp, type SecantPair } from './structures/lbfgs.js';
import * as V from './vec.js';

interface Node<S> {
  readonly description: string;
  /** True when built operators borrow the state (matrix-free atoms): they must be rebuilt after every update. */
  readonly live?: boolean;
  init(): S;
  /** Folds ctx in; returns the new state (the old one must not be used afterwards). */
  update(s: S, ctx: CurvatureContext): S;
  refresh(s: S): S;
  /** A fresh operator (its own tensors, or a borrowed view of the state's). */
  build(s: S): Op;
  dispose(s: S): void;
}

type AnyNode = Node<unknown>;

/** Nodes whose estimates can be averaged. */
interface EstimateNode extends Node<{ est: Estimate | undefined }> {
  readonly kind: 'estimate';
  fresh(ctx: CurvatureContext, hint?: Estimate): Estimate;
}

const noEstimate = (description: string): never => {
  throw new CurvatureError(`${description}: no estimate yet (call update with a context first)`);
};

function estimateNode(structure: StructureSpec, atom: AtomSpec, shapes: Shapes): EstimateNode {
  const description = describeStructure(structure, describeAtom(atom));
  const fresh = (ctx: CurvatureContext, hint?: Estimate) => freshEstimate(structure, atom, ctx, hint);
  return {
    kind: 'estimate',
    description,
    live: structure.name === 'matrix_free',
    fresh,
    init: () => ({ est: undefined }),
    update: (s, ctx) => {
      const est = fresh(ctx, s.est);
      disposeEstimate(s.est);
      return { est };
    },
    refresh: (s) => s,
    build: (s) => {
      if (!s.est) return noEstimate(description);
      return s.est.kind === 'op' ? borrowed(s.est.op) : estimateOp(s.est, shapes, description);
    },
    dispose: (s) => disposeEstimate(s.est),
  };
}

function identityNode(shapes: Shapes): AnyNode {
  return { description: 'identity', init: () => null, update: (s) => s, refresh: (s) => s, build: () => identityOp(shapes), dispose: () => undefined };
}

interface LbfgsState {
  readonly pairs: readonly SecantPair[];
  readonly prevParams: Params | undefined;
  readonly prevGrad: Params | undefined;
}

function lbfgsNode(memory: number, shapes: Shapes): Node<LbfgsState> {
  const description = `lbfgs(memory: ${memory})`;
  return {
    description,
    init: () => ({ pairs: [], prevParams: undefined, prevGrad: undefined }),
    update: (s, ctx) => {
      const params = V.clone(ctx.params);
      const grad = V.clone(ctx.gradient());
      let pairs = [...s.pairs];
      if (s.prevParams && s.prevGrad) {
        pairs.push({ s: V.sub(params, s.prevParams), y: V.sub(grad, s.prevGrad) });
        if (pairs.length > memory) {
          const old = pairs.slice(0, pairs.length - memory);
          old.forEach((p) => (V.dispose(p.s), V.dispose(p.y)));
          pairs = pairs.slice(pairs.length - memory);
        }
      }
      V.dispose(s.prevParams);
      V.dispose(s.prevGrad);
      return { pairs, prevParams: params, prevGrad: grad };
    },
    refresh: (s) => s,
    build: (s) => lbfgsOp(s.pairs, shapes, description),
    dispose: (s) => {
      s.pairs.forEach((p) => (V.dispose(p.s), V.dispose(p.y)));
      V.dispose(s.prevParams);
      V.dispose(s.prevGrad);
    },
  };
}

interface EmaState {
  readonly avg: Estimate | undefined;
  /** decayᵗ as a float32 scalar (tfjs's accBeta). */
  readonly acc: tf.Scalar;
  readonly t: number;
}

function emaNode(child: EstimateNode, decay: number, debias: boolean, shapes: Shapes): Node<EmaState> {
  if (!(decay >= 0 && decay < 1)) throw new CurvatureError(`ema(decay): expected 0 ≤ decay < 1, got ${decay}`);
  const description = `${child.description} |> ema(decay: ${decay}, debias: ${debias})`;
  return {
    description,
    init: () => ({ avg: undefined, acc: tf.scalar(1), t: 0 }),
    update: (s, ctx) => {
      const e = child.fresh(ctx, s.avg);
      // v₀ = 0, so the first update is 0·decay + e·(1 − decay) = e·(1 − decay) exactly.
      const avg = s.avg ? combine(s.avg, decay, e, 1 - decay, description) : scaleEstimate(e, 1 - decay, description);
      disposeEstimate(e);
      disposeEstimate(s.avg);
      const acc = tf.mul(s.acc, decay) as tf.Scalar;
      s.acc.dispose();
      return { avg, acc, t: s.t + 1 };
    },
    refresh: (s) => (s.avg ? { ...s, avg: refreshEstimate(s.avg, description) } : s),
    build: (s) => {
      if (!s.avg) return noEstimate(description);
      if (!debias) return estimateOp(s.avg, shapes, description);
      const c = tf.sub(1, s.acc) as tf.Scalar;
      const debiased = divideEstimate(s.avg, c, 1 - decay ** s.t, description);
      c.dispose();
      try {
        return estimateOp(debiased, shapes, description);
      } finally {
        disposeEstimate(debiased);
      }
    },
    dispose: (s) => {
      disposeEstimate(s.avg);
      s.acc.dispose();
    },
  };
}

function sumNode(child: EstimateNode, init: number, shapes: Shapes): Node<{ acc: Estimate | undefined }> {
  if (!Number.isFinite(init)) throw new CurvatureError(`sum(init): expected a finite number, got ${init}`);
  const description = `${child.description} |> sum(init: ${init})`;
  return {
    description,
    init: () => ({ acc: undefined }),
    update: (s, ctx) => {
      const e = child.fresh(ctx, s.acc);
      const acc = s.acc ? combine(s.acc, 1, e, 1, description) : addInit(e, init, description);
      disposeEstimate(e);
      disposeEstimate(s.acc);
      return { acc };
    },
    refresh: (s) => (s.acc ? { acc: refreshEstimate(s.acc, description) } : s),
    build: (s) => (s.acc ? estimateOp(s.acc, shapes, description) : noEstimate(description)),
    dispose: (s) => disposeEstimate(s.acc),
  };
}

function scaleNode(c: number, child: AnyNode): AnyNode {
  return { ...child, description: `${c} * ${child.description}`, build: (s) => scaleOp(c, child.build(s)) };
}

function powerNode(p: number, child: AnyNode): AnyNode {
  return { ...child, description: p === 0.5 ? `sqrt(${child.description})` : `(${child.description})^${p}`, build: (s) => powerOp(child.build(s), p) };
}

function sumOfNodes(children: readonly AnyNode[]): AnyNode {
  return {
    description: children.map((c) => c.description).join(' + '),
    live: children.some((c) => c.live === true),
    init: () => children.map((c) => c.init()),
    update: (s, ctx) => children.map((c, i) => c.update((s as unknown[])[i], ctx)),
    refresh: (s) => children.map((c, i) => c.refresh((s as unknown[])[i])),
    build: (s) => {
      const ops: Op[] = [];
      try {
        children.forEach((c, i) => ops.push(c.build((s as unknown[])[i])));
      } catch (e) {
        ops.forEach((o) => o.dispose());
        throw e;
      }
      return sumOp(ops);
    },
    dispose: (s) => children.forEach((c, i) => c.dispose((s as unknown[])[i])),
  };
}

const num = (args: Readonly<Record<string, unknown>>, key: string, dflt: number | undefined, what: string): number => {
  const v = args[key] ?? args['0'] ?? dflt;
  if (typeof v !== 'number') throw new CurvatureError(`${what}: expected a number for '${key}', got ${String(v)}`);
  return v;
};

function compile(expr: CurvatureExpr, shapes: Shapes): AnyNode {
  switch (expr._tag) {
    case 'Atom': {
      const a = atomSpec(expr);
      if (a.name === 'identity') return identityNode(shapes);
      if (a.name === 'lbfgs') return lbfgsNode(a.memory, shapes) as AnyNode;
      return estimateNode({ name: 'matrix_free' }, a, shapes) as AnyNode;
    }
    case 'Structure': {
      if (expr.of._tag !== 'Atom') throw new CurvatureError(`${expr.name}(…) must wrap a curvature atom (e.g. ${expr.name}(fisher(exact))), got a ${expr.of._tag}`);
      const a = atomSpec(expr.of);
      if (a.name === 'lbfgs') throw new CurvatureError(`${expr.name}(lbfgs): the L-BFGS matrix is used as is; write lbfgs(memory) without a structure`);
      return estimateNode(structureSpec(expr.name, expr.args), a, shapes) as AnyNode;
    }
    case 'Sum':
      return sumOfNodes(expr.terms.map((t) => compile(t, shapes)));
    case 'Scale':
      return scaleNode(expr.factor, compile(expr.of, shapes));
    case 'Power':
      return powerNode(expr.exponent, compile(expr.of, shapes));
    case 'Transform': {
      if (expr.name === 'sqrt') return powerNode(0.5, compile(expr.of, shapes));
      if (expr.name === 'ema' || expr.name === 'sum') {
        const child = compile(expr.of, shapes) as Partial<EstimateNode>;
        if (child.kind !== 'estimate' || expr.of._tag !== 'Structure') {
          throw new CurvatureError(`${expr.name}(…) averages structured estimates: apply it to diag(·), kfac(·), ekfac(·), block_diag(·) or full(·), not to ${child.description}`);
        }
        const est = child as EstimateNode;
        if (expr.name === 'ema') {
          const debias = expr.args['debias'] ?? false;
          if (typeof debias !== 'boolean') throw new CurvatureError(`ema(debias): expected a boolean, got ${String(debias)}`);
          return emaNode(est, num(expr.args, 'decay', undefined, 'ema(decay)'), debias, shapes) as AnyNode;
        }
        return sumNode(est, num(expr.args, 'init', 0, 'sum(init)'), shapes) as AnyNode;
      }
      throw new CurvatureError(`unknown curvature transform '${expr.name}' (known: ema, sum, sqrt)`);
    }
  }
}

export interface EstimatorState {
  readonly node: unknown;
  /** The operator (mutable cache): built at `refresh`, or on first request when none exists. */
  op: Op | undefined;
  /** Whether `op` was built by `refresh` (then it survives updates until the next refresh). */
  readonly refreshed?: boolean;
}

export interface CurvatureEstimator extends Estimator<EstimatorState> {
  readonly description: string;
}

/**
 * A running estimator of `expr` for models of shape `def`.
 *
 * Cadence semantics: `update` folds new statistics into the state; `refresh` rebuilds the operator
 * from the state and precomputes its decompositions. Between refreshes `operator(state)` returns the
 * operator of the last refresh (stale by design, as K-FAC's inverses under `refresh = every(n)`);
 * without a refresh since the last update it is built from the current state on first request
 * (so an estimator that is never refreshed is always current). Matrix-free
 * atoms (products on the current batch) are always current: their operator is rebuilt after each
 * update.
 */
export function createEstimator(expr: CurvatureExpr, def: ModelDef): CurvatureEstimator {
  const shapes = paramShapes(def);
  const root = compile(expr, shapes);
  const dropOp = (s: EstimatorState) => {
    s.op?.dispose();
    s.op = undefined;
  };
  return {
    description: root.description,
    init: () => ({ node: root.init(), op: undefined }),
    update: (s, ctx) => {
      if (root.live || !s.refreshed) dropOp(s);
      const op = s.op;
      s.op = undefined; // ownership moves to the new state
      return { node: root.update(s.node, ctx), op, refreshed: op !== undefined };
    },
    refresh: (s, lambda: number, options?: SolveOptions) => {
      dropOp(s);
      const node = root.refresh(s.node);
      const op = root.build(node);
      try {
        op.prepare?.(lambda, options);
      } catch (e) {
        op.dispose();
        throw e;
      }
      return { node, op, refreshed: true };
    },
    operator: (s) => {
      if (!s.op) s.op = root.build(s.node);
      return s.op;
    },
    dispose: (s) => {
      dropOp(s);
      root.dispose(s.node);
    },
  };
}

/** Evaluates `expr` at a single context (no running state); the caller owns the operator. */
export function curvatureAt(expr: CurvatureExpr, ctx: CurvatureContext): Op {
  const shapes = paramShapes(ctx.def);
  const root = compile(expr, shapes);
  const s0 = root.init();
  const s1 = root.update(s0, ctx);
  const built = root.build(s1);
  // Keep the state alive as long as the operator (borrowed matrix-free estimates live in it).
  return { ...built, dispose: () => (built.dispose(), root.dispose(s1)) };
}
