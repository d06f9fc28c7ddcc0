/**
 * The predicted invariance table (docs/theory.md §3–§4), derived mechanically from a Plan — never
 * from a measurement. Each rule cites the transformation law it applies.
 */
import type { CurvatureExpr } from '../curvature/types.js';
import type { Plan } from '../optim/plan.js';
import { lossScaleMode } from './planning.js';
import { PARAM_MAP_REALISATION, type Family } from './reparam.js';

export interface Prediction {
  /** true: invariant; false: not invariant; undefined: the family cannot be realised for this plan. */
  readonly invariant: boolean | undefined;
  readonly reason: string;
}

/** Added multiples of the identity no larger than this are treated like the vanishing damping λ_test
 * (they are the ε of Adam/RMSProp, which the theory ignores). */
export const NEGLIGIBLE_IDENTITY = 1e-6;
/** Smallest loss multiplier the loss-scale family draws (arbLossScale). */
export const MIN_LOSS_SCALE = 0.05;

/** The invariance property's tolerance on the gap (properties/invariance.ts). */
export const INVARIANCE_TOLERANCE = 0.25;
/** Largest cond(T) each family draws: elementwise scales in [¼, 4]; linear T with cond 16; layer-affine
 * the Kronecker product of Ω̄ (cond 16, widened by the offset ω) and Φ (cond 16): ≥ 16². */
export const MAX_COND_T: Readonly<Record<'elementwise' | 'layer-affine' | 'linear', number>> = { elementwise: 16, linear: 16, 'layer-affine': 256 };

/** Steps each invariance case runs (properties/invariance.ts); every step is compared. */
export const INVARIANCE_STEPS = 3;

/** Largest parameter count of the generated invariance models (one dense layer, 4 → 3). */
export const MAX_TEST_PARAMS = 4 * 3 + 3;

type Verdict = { readonly ok: true } | { readonly ok: false; readonly why: string };
const OK: Verdict = { ok: true };
const no = (why: string): Verdict => ({ ok: false, why });
const both = (a: Verdict, b: Verdict): Verdict => (a.ok ? b : a);

const COVARIANT_ATOMS = new Set(['fisher', 'ggn', 'hessian', 'empirical_fisher', 'outer']);

/** Identity multiples v·I that a Sum or sum(init: v) adds, when v is negligible. */
function negligibleIdentity(e: CurvatureExpr): boolean {
  if (e._tag === 'Scale') return e.of._tag === 'Atom' && e.of.name === 'identity' && Math.abs(e.factor) <= NEGLIGIBLE_IDENTITY;
  return false;
}

/** Is the preconditioner C covariant (C_φ = TᵀCT) for the maps a family realises? (§3) */
function covariant(e: CurvatureExpr, family: Exclude<Family, 'loss-scale'>): Verdict {
  switch (e._tag) {
    case 'Atom':
      if (e.name === 'identity') return no('identity: covariant only for orthogonal T');
      if (e.name === 'lbfgs') return no('lbfgs: initial matrix γI and a gradient-step start are not covariant');
      if (e.name === 'gradient_covariance')
        return no('gradient_covariance (centered): g = mean gₙ is not in its range, so the λ→0 step is dominated by λ⁻¹·(Euclidean projection of g), not covariant');
      if (COVARIANT_ATOMS.has(e.name)) return OK;
      return no(`unknown atom ${e.name}`);
    case 'Scale':
      return covariant(e.of, family);
    case 'Sum':
      return e.terms.filter((t) => !negligibleIdentity(t)).reduce<Verdict>((v, t) => both(v, covariant(t, family)), OK);
    case 'Power':
      return e.exponent === 1 ? covariant(e.of, family) : no(`power ${e.exponent}: (TᵀCT)^p ≠ Tᵀ C^p T unless p = 1`);
    case 'Transform':
      if (e.name === 'sqrt') return no('sqrt (power ½): the wrong power for covariance (§3, Adam)');
      if (e.name === 'sum') {
        const init = Number(e.args['init'] ?? 0);
        return Math.abs(init) > NEGLIGIBLE_IDENTITY ? no(`sum(init: ${init}) adds ${init}·I, not covariant`) : covariant(e.of, family);
      }
      return covariant(e.of, family); // ema: a linear average of covariant estimates
    case 'Structure': {
      const inner = covariant(e.of, family);
      if (!inner.ok) return inner;
      switch (e.name) {
        case 'full':
        case 'block_diag':
        case 'matrix_free':
          return OK; // every family acts within one layer's block
        case 'diag':
          return family === 'elementwise' ? OK : no('diag(TᵀCT) = T diag(C) T only for diagonal T');
        case 'kfac': {
          const bias = String(e.args['bias'] ?? 'separate');
          if (family === 'elementwise')
            return PARAM_MAP_REALISATION === 'kronecker' ? OK : no('a non-rank-one diagonal D is not a Kronecker map: Aₗ ⊗ Gₗ does not stay Kronecker');
          if (family === 'linear' && PARAM_MAP_REALISATION === 'param-map') return no('a general map of a layer’s parameters is not Kronecker: Aₗ ⊗ Gₗ is not covariant');
          return bias === 'homogeneous' ? OK : no('bias block kept separate: the input offset ω mixes W and b, the preconditioner is block-diagonal between them');
        }
        case 'ekfac':
          return no('eigenbases of A, G are not covariant under non-orthogonal maps');
        case 'lowrank': {
          const rank = Number(e.args['rank'] ?? 0);
          return rank >= MAX_TEST_PARAMS ? OK : no(`lowrank(rank ${rank}) truncates by Euclidean eigenvectors`);
        }
        default:
          return no(`unknown structure ${e.name}`);
      }
    }
  }
}

/** Exponent k with C ↦ c^k C under L ↦ cL, or a reason it is not homogeneous (§3, loss scaling). */
function lossExponent(e: CurvatureExpr, kFisher: number): number | string {
  switch (e._tag) {
    case 'Atom':
      switch (e.name) {
        case 'fisher':
          return kFisher;
        case 'identity':
          return 0;
        case 'ggn':
        case 'hessian':
        case 'lbfgs':
          return 1;
        case 'empirical_fisher':
        case 'gradient_covariance':
        case 'outer':
          return 2;
        default:
          return `unknown atom ${e.name}`;
      }
    case 'Scale':
      return lossExponent(e.of, kFisher);
    case 'Structure':
      return lossExponent(e.of, kFisher);
    case 'Sum': {
      // An added ε·I is negligible against a term scaling as c^k only if ε ≤ NEGLIGIBLE_IDENTITY·c_min^k
      // (RMSProp's ε inside the square root is not, for c = 0.05: ε = 1e-7 vs c²g² ~ 1e-7).
      const isIdentity = (t: CurvatureExpr) => (t._tag === 'Atom' && t.name === 'identity') || (t._tag === 'Scale' && t.of._tag === 'Atom' && t.of.name === 'identity');
      const rest = e.terms.filter((t) => !isIdentity(t)).map((t) => lossExponent(t, kFisher));
      const bad = rest.find((k) => typeof k === 'string');
      if (bad !== undefined) return bad;
      const ks = [...new Set(rest as number[])];
      if (ks.length > 1) return `a sum of terms scaling as c^${ks.join(', c^')}`;
      const k = ks[0] ?? 0;
      for (const t of e.terms.filter(isIdentity)) {
        const w = t._tag === 'Scale' ? Math.abs(t.factor) : 1;
        if (k !== 0 && w > NEGLIGIBLE_IDENTITY * MIN_LOSS_SCALE ** k) return `the added ${w}·I does not scale with c^${k} and is not negligible for c = ${MIN_LOSS_SCALE}`;
      }
      return k;
    }
    case 'Power': {
      const k = lossExponent(e.of, kFisher);
      return typeof k === 'string' ? k : k * e.exponent;
    }
    case 'Transform': {
      const k = lossExponent(e.of, kFisher);
      if (typeof k === 'string') return k;
      if (e.name === 'sqrt') return k / 2;
      if (e.name === 'sum') {
        const init = Number(e.args['init'] ?? 0);
        return Math.abs(init) > NEGLIGIBLE_IDENTITY && k !== 0 ? `sum(init: ${init}): the initial accumulator does not scale with c^${k}` : k;
      }
      return k;
    }
  }
}

function predictLossScale(plan: Plan): Prediction {
  const mode = lossScaleMode(plan);
  if ('error' in mode) return { invariant: undefined, reason: mode.error };
  const kF = mode.mode === 'context' ? 0 : 1; // the step rules' F: the distribution's Fisher, or the GGN of the scaled loss
  for (const t of plan.gradient) {
    if (t._tag === 'weight_decay') return { invariant: false, reason: 'weight decay adds λθ, which does not scale with c' };
    if (t._tag === 'clip') return { invariant: false, reason: 'gradient clipping by a fixed norm does not scale with c' };
  }
  if (plan.preconditioned && plan.curvature._tag === 'Atom' && plan.curvature.name === 'lbfgs')
    return { invariant: false, reason: 'lbfgs: the first step is a gradient step, Δ ↦ cΔ' };
  const k = plan.preconditioned ? lossExponent(plan.curvature, kF) : 0;
  if (typeof k === 'string') return { invariant: false, reason: `curvature not homogeneous in c: ${k}` };
  const a = 1 - k; // direction d = C⁻¹g ↦ c^a d
  const dirText = `d = C⁻¹g ↦ c^${a}·d`;
  // The step rule scales the momentum's output p; with quadratic-model momentum p = αd + μδ itself
  // scales as c^{1−k_F} (the (α, μ) minimise gᵀu + ½uᵀFu), whatever d does.
  const pExp = plan.momentum._tag === 'quadratic_model' ? 1 - kF : a;
  const pText = plan.momentum._tag === 'quadratic_model' ? `quadratic-model momentum: p ↦ c^${pExp}·p` : dirText;
  if (plan.momentum._tag === 'quadratic_model' && plan.step._tag !== 'kl_trust' && plan.step._tag !== 'kl') {
    return pExp === 0 ? { invariant: true, reason: `${pText}` } : { invariant: false, reason: `${pText}, then ${plan.step._tag}` };
  }
  switch (plan.step._tag) {
    case 'lr':
      return a === 0 ? { invariant: true, reason: `${dirText}, fixed η` } : { invariant: false, reason: `${dirText} with a fixed η` };
    case 'line_search':
      return a === 0 ? { invariant: true, reason: `${dirText}; Armijo's test scales by c on both sides` } : { invariant: false, reason: `${dirText}; the line search starts at t = ${plan.step.initial}` };
    case 'kl':
      return kF === 0 ? { invariant: true, reason: 'kl(ε): ½ΔᵀFΔ = ε with F unchanged' } : { invariant: false, reason: 'kl(ε) normalised with the scaled GGN: Δ ↦ c^{-1/2}Δ' };
    case 'kl_trust':
      // Clipped, ½ΔᵀFΔ = r with F unchanged would be invariant; but whether the clip is active depends
      // on the model: the unclipped KL scales by c², and on the generated models it can be as small as
      // ~0.1 at c = 1 (measured), so for small c the clip is inactive and p ↦ c^{pExp}·p shows.
      return pExp === 0
        ? { invariant: true, reason: `${pText}; clip or not, the same` }
        : { invariant: false, reason: `${pText}; the KL clip (radius ${plan.step.radius._tag === 'constant' ? plan.step.radius.value : plan.step.radius.initial}) is inactive for small c on some models` };
    case 'quadratic_model':
      return kF === 1 ? { invariant: true, reason: 'α = gᵀd/dᵀGd with G ↦ cG: Δ invariant' } : { invariant: false, reason: 'α = gᵀd/dᵀFd with F unchanged: Δ ↦ cΔ' };
  }
}

/** Predicted invariance of `plan` under `family` (docs/theory.md §4). */
export function predictInvariance(plan: Plan, family: Family): Prediction {
  if (family === 'loss-scale') return predictLossScale(plan);
  for (const t of plan.gradient) {
    if (t._tag === 'weight_decay') return { invariant: false, reason: 'weight decay adds λθ: Euclidean, not covariant' };
    if (t._tag === 'clip') return { invariant: false, reason: 'clipping by ‖g‖₂: a Euclidean norm' };
  }
  if (!plan.preconditioned) return { invariant: false, reason: 'Δ = −ηg with g ↦ Tᵀg: covariant only for orthogonal T' };
  const v = covariant(plan.curvature, family);
  if (!v.ok) return { invariant: false, reason: v.why };
  if (plan.solver === 'cg') {
    const cg = plan.cg ?? { maxIters: 0, tol: 0 };
    if (cg.maxIters < MAX_TEST_PARAMS) return { invariant: false, reason: `truncated CG (${cg.maxIters} < P iterations): Krylov spaces are not covariant` };
    // Each step's truncation error is up to cond(T)²·τ relative (the residual test is Euclidean in
    // each parametrization), and the K compared steps each add theirs: K·cond(T)²·τ (docs/theory.md §3).
    const k = MAX_COND_T[family];
    const bound = INVARIANCE_STEPS * k * k * cg.tol;
    if (bound > INVARIANCE_TOLERANCE)
      return { invariant: false, reason: `CG stops at a Euclidean residual ‖r‖ ≤ ${cg.tol}‖g‖: the truncation error over ${INVARIANCE_STEPS} steps, up to K·cond(T)²·τ = ${bound.toPrecision(2)}, exceeds the tolerance` };
  }
  return { invariant: true, reason: plan.solver === 'cg' ? 'covariant curvature; CG runs to convergence (max_iters ≥ P)' : 'covariant curvature; step, momentum and averaging rules are invariant' };
}

export const symbol = (p: boolean | undefined): string => (p === undefined ? 'n/a' : p ? '✓' : '✗');
