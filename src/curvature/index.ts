/**
 * Public surface of the curvature engine (see docs/engine.md).
 *
 * Running estimates: `createEstimator(expr, def)` (the Estimator contract of types.ts).
 * One-context operators, usable without estimators or specs:
 *   fisherExact(ctx), fisherSampled(ctx, k), empiricalFisher(ctx), outerGradient(ctx), ggn(ctx),
 *   hessian(ctx), gradientCovariance(ctx, centered), identity(def),
 *   structured(structure, atom, ctx) e.g. structured({name:'kfac', bias:'separate'}, {name:'fisher', sampled: 0}, ctx),
 *   kfacFactors(ctx, {bias, source}) (host float64 factors), curvatureAt(expr, ctx).
 * Every operator offers mv, solve, toDense, memory, flops, dispose (types.ts) and `power`.
 */
import type { ModelDef } from '../model/types.js';
import type { CurvatureContext } from './types.js';
import { atomOperator, atomOuter, type AtomSpec } from './atoms.js';
import { estimateOp, freshEstimate, describeStructure, disposeEstimate, type StructureSpec } from './estimate.js';
import { disposeOuter, paramShapes } from './samples.js';
import { identityOp } from './structures/diag.js';
import { kfacFactorsOf, type BiasMode, type KfacFactors } from './structures/kfac.js';
import { CurvatureError } from './types.js';
import { describeAtom } from './atoms.js';
import type { Op } from './operator.js';
import { borrowed } from './algebra.js';

export * from './types.js';
export type { Op, Structure } from './operator.js';
export type { AtomSpec } from './atoms.js';
export type { StructureSpec, Estimate } from './estimate.js';
export type { KfacFactors, KfacLayerFactors, BiasMode } from './structures/kfac.js';
export { createEstimator, curvatureAt, type CurvatureEstimator, type EstimatorState } from './estimator.js';
export { createContext, type OwnedContext } from './context.js';
export { scaleOp, sumOp, powerOp } from './algebra.js';

export const fisherExact = (ctx: CurvatureContext): Op => atomOperator({ name: 'fisher', sampled: 0 }, ctx);
export const fisherSampled = (ctx: CurvatureContext, k: number): Op => atomOperator({ name: 'fisher', sampled: k }, ctx);
export const empiricalFisher = (ctx: CurvatureContext): Op => atomOperator({ name: 'empirical_fisher' }, ctx);
export const outerGradient = (ctx: CurvatureContext): Op => atomOperator({ name: 'outer' }, ctx);
export const ggn = (ctx: CurvatureContext): Op => atomOperator({ name: 'ggn' }, ctx);
export const hessian = (ctx: CurvatureContext): Op => atomOperator({ name: 'hessian' }, ctx);
export const gradientCovariance = (ctx: CurvatureContext, centered = true): Op => atomOperator({ name: 'gradient_covariance', centered }, ctx);
export const identity = (def: ModelDef): Op => identityOp(paramShapes(def));

/** structure(atom) at one context, e.g. diag(ggn), kfac(fisher(sampled: 1)), lowrank(empirical_fisher, 5). */
export function structured(structure: StructureSpec, atom: AtomSpec, ctx: CurvatureContext): Op {
  const est = freshEstimate(structure, atom, ctx);
  if (est.kind === 'op') return est.op;
  try {
    return estimateOp(est, paramShapes(ctx.def), describeStructure(structure, describeAtom(atom)));
  } finally {
    disposeEstimate(est);
  }
}

/** K-FAC factors per dense layer (host float64): source 'exact' (S-columns), 'sampled' (k labels, default 1) or 'empirical'. */
export function kfacFactors(ctx: CurvatureContext, options: { bias: BiasMode; source: 'exact' | 'sampled' | 'empirical'; samples?: number }): KfacFactors {
  const atom: AtomSpec =
    options.source === 'exact' ? { name: 'fisher', sampled: 0 } : options.source === 'sampled' ? { name: 'fisher', sampled: options.samples ?? 1 } : { name: 'empirical_fisher' };
  const s = atomOuter(atom, ctx);
  if (!s || s.kind !== 'samples') throw new CurvatureError(`kfacFactors: no per-example statistics for ${describeAtom(atom)}`);
  try {
    return kfacFactorsOf(s, options.bias);
  } finally {
    disposeOuter(s);
  }
}

export { borrowed };
