/**
 * Curvature atoms (DESIGN §2) evaluated at one context, as matrix-free operators or as sums of
 * outer products (which every structure can be computed from).
 *   fisher(exact)        = (1/N) Σₙ Σ_c s sᵀ, s = Jₙᵀ Sₙ[:, c], Sₙ Sₙᵀ = Hₙ   (= GGN here)
 *   fisher(sampled: k)   = (1/(kN)) Σₙ Σᵢ gₙᵢ gₙᵢᵀ, gₙᵢ = ∇ℓ(yₙᵢ), yₙᵢ ~ p(·|xₙ) from the seed
 *   empirical_fisher     = (1/N) Σₙ gₙ gₙᵀ (data labels)
 *   gradient_covariance  = (1/N) Σₙ (gₙ − ḡ)(gₙ − ḡ)ᵀ (centered) or the empirical Fisher (not)
 *   outer(gradient)      = ḡ ḡᵀ (the batch gradient)
 *   ggn                  = (1/N) Σ Jₙᵀ Hₙ Jₙ (products via the model's ggnVectorProduct)
 *   hessian              = ∇²L (products via the model's hessianVectorProduct)
 *   identity, lbfgs(memory) (the latter kept by the estimator from consecutive contexts).
 */
import * as tf from '@tensorflow/tfjs';
import * as M from '../model/index.js';
import type { Batch, ForwardPass, Params } from '../model/types.js';
import { CurvatureError, type CurvatureContext, type CurvatureExpr } from './types.js';
import { empiricalSamples, fisherExactSamples, fisherSampledSamples, gradientOuter } from './context.js';
import { cloneOuter, disposeOuter, outerMv, paramShapes, type OuterProducts } from './samples.js';
import { numParamsOf, type Op, type Shapes } from './operator.js';
import { matrixFreeOp } from './structures/free.js';
import { identityOp } from './structures/diag.js';

export type AtomSpec =
  | { readonly name: 'identity' }
  | { readonly name: 'fisher'; readonly sampled: number } // 0 = exact
  | { readonly name: 'empirical_fisher' }
  | { readonly name: 'outer' }
  | { readonly name: 'ggn' }
  | { readonly name: 'hessian' }
  | { readonly name: 'gradient_covariance'; readonly centered: boolean }
  | { readonly name: 'lbfgs'; readonly memory: number };

const ATOMS = ['identity', 'fisher', 'empirical_fisher', 'outer', 'ggn', 'hessian', 'gradient_covariance', 'lbfgs'];

/** Reads an Atom expression's name and arguments (accepting the language's spellings). */
export function atomSpec(e: Extract<CurvatureExpr, { _tag: 'Atom' }>): AtomSpec {
  const a = e.args;
  switch (e.name) {
    case 'identity':
    case 'empirical_fisher':
    case 'ggn':
    case 'hessian':
      return { name: e.name };
    case 'outer': {
      const of = a['of'] ?? a['0'] ?? 'gradient';
      if (of !== 'gradient') throw new CurvatureError(`outer(${String(of)}): only outer(gradient) is defined`);
      return { name: 'outer' };
    }
    case 'fisher': {
      const exact = a['exact'] === true || a['type'] === 'exact' || a['0'] === 'exact';
      const sampled = a['sampled'];
      if (exact || sampled === undefined || sampled === 0) {
        if (!exact && sampled === undefined && Object.keys(a).length > 0) throw new CurvatureError(`fisher: expected fisher(exact) or fisher(sampled: k), got arguments ${JSON.stringify(a)}`);
        return { name: 'fisher', sampled: 0 };
      }
      if (typeof sampled !== 'number' || !Number.isInteger(sampled) || sampled < 1) throw new CurvatureError(`fisher(sampled: k) needs a positive integer k, got ${String(sampled)}`);
      return { name: 'fisher', sampled };
    }
    case 'gradient_covariance': {
      const c = a['centered'] ?? a['0'] ?? true;
      if (typeof c !== 'boolean') throw new CurvatureError(`gradient_covariance(centered): expected a boolean, got ${String(c)}`);
      return { name: 'gradient_covariance', centered: c };
    }
    case 'lbfgs': {
      const m = a['memory'] ?? a['0'] ?? 10;
      if (typeof m !== 'number' || !Number.isInteger(m) || m < 1) throw new CurvatureError(`lbfgs(memory): expected a positive integer, got ${String(m)}`);
      return { name: 'lbfgs', memory: m };
    }
    default:
      throw new CurvatureError(`unknown curvature atom '${e.name}' (known: ${ATOMS.join(', ')})`);
  }
}

export const describeAtom = (a: AtomSpec): string => {
  switch (a.name) {
    case 'fisher':
      return a.sampled === 0 ? 'fisher(exact)' : `fisher(sampled: ${a.sampled})`;
    case 'outer':
      return 'outer(gradient)';
    case 'gradient_covariance':
      return `gradient_covariance(centered: ${a.centered})`;
    case 'lbfgs':
      return `lbfgs(memory: ${a.memory})`;
    default:
      return a.name;
  }
};

/** The atom as a sum of outer products, when it is one (fisher, ggn, empirical, covariance, outer). */
export function atomOuter(a: AtomSpec, ctx: CurvatureContext): OuterProducts | undefined {
  switch (a.name) {
    case 'fisher':
      return a.sampled === 0 ? fisherExactSamples(ctx) : fisherSampledSamples(ctx, a.sampled);
    case 'ggn':
      return fisherExactSamples(ctx);
    case 'empirical_fisher':
      return empiricalSamples(ctx, false);
    case 'gradient_covariance':
      return empiricalSamples(ctx, a.centered);
    case 'outer':
      return gradientOuter(ctx);
    default:
      return undefined;
  }
}

const cloneForward = (fp: ForwardPass): ForwardPass => ({
  output: tf.clone(fp.output),
  inputs: fp.inputs.map((t) => tf.clone(t)),
  denseInputs: fp.denseInputs.map((t) => tf.clone(t)),
  denseOutputs: fp.denseOutputs.map((t) => tf.clone(t)),
});

/** An operator over an outer-product set (owns `s`). */
export function outerOp(s: OuterProducts, shapes: Shapes, description: string): Op {
  const P = numParamsOf(shapes);
  const rows = s.kind === 'vectors' ? s.vectors.length : s.g[0]!.shape[0] * s.g[0]!.shape[1];
  return matrixFreeOp(shapes, description, (v) => outerMv(s, v), { memory: s.kind === 'vectors' ? rows * P : 0, mvFlops: 4 * rows * P }, () => disposeOuter(s));
}

/** The atom at one context as a matrix-free operator (identity as s·I). Not for lbfgs (estimator state). */
export function atomOperator(a: AtomSpec, ctx: CurvatureContext): Op {
  const shapes = paramShapes(ctx.def);
  const description = describeAtom(a);
  const P = numParamsOf(shapes);
  switch (a.name) {
    case 'identity':
      return identityOp(shapes);
    case 'ggn': {
      const params = ctx.params.map((t) => tf.clone(t));
      const fp = cloneForward(ctx.forward());
      const n = fp.output.shape[0];
      return matrixFreeOp(shapes, description, (v) => M.ggnVectorProduct(ctx.def, params, fp, v), { memory: 0, mvFlops: 6 * n * P }, () => {
        tf.dispose([...params, fp.output, ...fp.inputs, ...fp.denseInputs, ...fp.denseOutputs]);
      });
    }
    case 'hessian': {
      const params: Params = ctx.params.map((t) => tf.clone(t));
      const batch: Batch = { x: tf.clone(ctx.batch.x), y: tf.clone(ctx.batch.y) };
      const n = batch.x.shape[0];
      return matrixFreeOp(shapes, description, (v) => M.hessianVectorProduct(ctx.def, params, batch, v), { memory: 0, mvFlops: 8 * n * P }, () => {
        tf.dispose([...params, batch.x, batch.y]);
      });
    }
    case 'lbfgs':
      throw new CurvatureError('lbfgs(memory) is built from secant pairs of consecutive steps: use createEstimator');
    default: {
      const s = atomOuter(a, ctx)!;
      return outerOp(s, shapes, description);
    }
  }
}

export { cloneOuter };
