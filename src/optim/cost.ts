/**
 * A static cost model of a plan on a model: the numbers an optimizer keeps between steps and the
 * floating-point operations one step costs, with curvature estimates and refreshes amortized over
 * their cadences. Pure arithmetic on layer sizes — nothing is allocated — so `explain` can print
 * it for any built-in problem. Counts are estimates (a multiply-add is 2 FLOPs; a symmetric
 * eigendecomposition ≈ 9n³, a Cholesky factorization n³/3, an SPD inverse n³), the same
 * conventions the engine's operators use in `flops()`.
 */
import type { CurvatureExpr } from '../curvature/types.js';
import type { ModelDef } from '../model/types.js';
import type { Plan } from './plan.js';

export interface CostItem {
  readonly what: string;
  readonly flops: number;
}

export interface MemoryItem {
  readonly what: string;
  readonly numbers: number;
}

export interface CostEstimate {
  readonly numParams: number;
  readonly batchSize: number;
  /** FLOPs per step, refreshes and estimates amortized over their cadences. */
  readonly flopsPerStep: number;
  readonly flops: readonly CostItem[];
  /** Numbers kept between steps (parameters included). */
  readonly memory: number;
  readonly memoryItems: readonly MemoryItem[];
}

interface Layer {
  readonly nIn: number;
  readonly nOut: number;
}

interface Sizes {
  readonly layers: readonly Layer[];
  /** Σ in·out over dense layers: one multiply-add per weight and example in a forward pass. */
  readonly weights: number;
  readonly params: number;
  readonly outputs: number;
  readonly batch: number;
}

function sizesOf(def: ModelDef, batch: number): Sizes {
  const layers: Layer[] = [];
  let outputs = def.inputDim;
  for (const l of def.layers) {
    if (l.kind === 'dense') {
      layers.push({ nIn: l.inDim, nOut: l.outDim });
      outputs = l.outDim;
    } else if (l.kind === 'fixed_linear') {
      outputs = l.matrix[0]?.length ?? outputs;
    }
  }
  const weights = layers.reduce((s, l) => s + l.nIn * l.nOut, 0);
  const params = layers.reduce((s, l) => s + l.nIn * l.nOut + l.nOut, 0);
  return { layers, weights, params, outputs, batch };
}

/** One forward pass, one backward pass with weight gradients, one R-op (jvp) pass. */
const forwardFlops = (s: Sizes) => 2 * s.batch * s.weights;
const backwardFlops = (s: Sizes) => 4 * s.batch * s.weights;
/** A Gauss-Newton / Fisher product Jᵀ H J v: a jvp plus a backward. */
const ggnProductFlops = (s: Sizes) => forwardFlops(s) * 2 + backwardFlops(s);
/** A Hessian product: R-op through forward and backward (about twice a GGN product). */
const hessianProductFlops = (s: Sizes) => 2 * ggnProductFlops(s);

type Shape = 'matrix-free' | 'full' | 'block_diag' | 'diag' | 'kfac' | 'ekfac' | 'lowrank' | 'lbfgs' | 'identity';

interface TermCost {
  readonly estimate: number; // per estimate
  readonly refresh: number; // per refresh
  readonly solve: number; // per solve / product
  readonly memory: number;
  readonly shape: Shape;
}

/** How many backward passes an atom's statistics need per estimate. */
function atomPasses(name: string, args: Readonly<Record<string, unknown>>, s: Sizes): number {
  switch (name) {
    case 'fisher': {
      const k = typeof args['sampled'] === 'number' ? (args['sampled'] as number) : 0;
      return k > 0 ? k : s.outputs; // exact: one pass per column of the output-Hessian square root
    }
    case 'ggn':
      return s.outputs;
    case 'empirical_fisher':
    case 'gradient_covariance':
      return 0; // per-example gradients come from the ordinary backward pass
    default:
      return 0;
  }
}

function kfacFactorSizes(s: Sizes): { nA: number; nG: number }[] {
  return s.layers.map((l) => ({ nA: l.nIn + 1, nG: l.nOut }));
}

function structureCost(name: string, of: CurvatureExpr, args: Readonly<Record<string, unknown>>, s: Sizes, exactDamping: boolean): TermCost {
  const atom = of._tag === 'Atom' ? of : of._tag === 'Transform' && of.of._tag === 'Atom' ? of.of : undefined;
  const passes = atom === undefined ? 0 : atomPasses(atom.name, atom.args, s);
  const perPass = 2 * s.batch * s.weights; // backward to pre-activations only
  const P = s.params;
  // outer(gradient) is built from the batch gradient alone: g², or g gᵀ.
  const rankOne = atom?.name === 'outer' || atom?.name === 'identity';
  switch (name) {
    case 'full':
      return { estimate: rankOne ? P * P : passes * perPass + s.batch * P * P * 2, refresh: (P * P * P) / 3, solve: 2 * P * P, memory: P * P, shape: 'full' };
    case 'block_diag': {
      const blocks = s.layers.map((l) => l.nIn * l.nOut + l.nOut);
      const sq = blocks.reduce((t, b) => t + b * b, 0);
      const cube = blocks.reduce((t, b) => t + b * b * b, 0);
      return { estimate: rankOne ? sq : passes * perPass + 2 * s.batch * sq, refresh: cube / 3, solve: 2 * sq, memory: sq, shape: 'block_diag' };
    }
    case 'diag':
      // diag(hessian) is probed with the P basis vectors: P Hessian products (src/curvature/estimate.ts).
      if (atom?.name === 'hessian') return { estimate: P * hessianProductFlops(s), refresh: 0, solve: 2 * P, memory: P, shape: 'diag' };
      return { estimate: rankOne ? 2 * P : passes * perPass + 2 * s.batch * P, refresh: 0, solve: 2 * P, memory: P, shape: 'diag' };
    case 'kfac':
    case 'ekfac': {
      const f = kfacFactorSizes(s);
      const factorProducts = f.reduce((t, { nA, nG }) => t + 2 * s.batch * (nA * nA + nG * nG), 0);
      const storage = f.reduce((t, { nA, nG }) => t + 2 * (nA * nA + nG * nG), 0);
      const eig = f.reduce((t, { nA, nG }) => t + 9 * (nA ** 3 + nG ** 3), 0);
      const inverse = f.reduce((t, { nA, nG }) => t + nA ** 3 + nG ** 3, 0);
      const apply = f.reduce((t, { nA, nG }) => t + 2 * (nA * nA * nG + nA * nG * nG), 0);
      const ekfacScaling = name === 'ekfac' ? 2 * s.batch * P + apply : 0;
      return {
        estimate: passes * perPass + factorProducts + ekfacScaling,
        refresh: name === 'ekfac' || exactDamping ? eig : inverse,
        // A V G costs `apply`; an eigenbasis solve rotates in and out (twice that), a factored
        // solve multiplies by the two damped factor inverses (once).
        solve: exactDamping || name === 'ekfac' ? 2 * apply : apply,
        memory: storage + (name === 'ekfac' ? P : 0),
        shape: name,
      };
    }
    case 'lowrank': {
      const k = typeof args['rank'] === 'number' ? (args['rank'] as number) : 10;
      return { estimate: passes * perPass + 4 * s.batch * P * k, refresh: 2 * P * k * k + k ** 3, solve: 4 * P * k, memory: (k + 1) * P, shape: 'lowrank' };
    }
    default:
      return { estimate: 0, refresh: 0, solve: 0, memory: 0, shape: 'matrix-free' };
  }
}

function termCost(c: CurvatureExpr, s: Sizes, exactDamping: boolean, cgIters: number): TermCost {
  switch (c._tag) {
    case 'Atom': {
      const P = s.params;
      switch (c.name) {
        case 'identity':
          return { estimate: 0, refresh: 0, solve: P, memory: 0, shape: 'identity' };
        case 'lbfgs': {
          const m = typeof c.args['memory'] === 'number' ? (c.args['memory'] as number) : 10;
          return { estimate: 4 * P, refresh: 0, solve: 4 * m * P, memory: 2 * m * P, shape: 'lbfgs' };
        }
        case 'hessian':
          return { estimate: 0, refresh: 0, solve: cgIters * hessianProductFlops(s), memory: 4 * P, shape: 'matrix-free' };
        case 'outer':
          return { estimate: 0, refresh: 0, solve: cgIters * 4 * P, memory: P, shape: 'matrix-free' };
        case 'empirical_fisher':
        case 'gradient_covariance':
          return { estimate: 2 * s.batch * P, refresh: 0, solve: cgIters * 4 * s.batch * P, memory: s.batch * P, shape: 'matrix-free' };
        default:
          return { estimate: 0, refresh: 0, solve: cgIters * ggnProductFlops(s), memory: 4 * P, shape: 'matrix-free' };
      }
    }
    case 'Structure':
      return structureCost(c.name, c.of, c.args, s, exactDamping);
    case 'Scale':
    case 'Power':
      return termCost(c.of, s, exactDamping, cgIters);
    case 'Transform': {
      const inner = termCost(c.of, s, exactDamping, cgIters);
      // A running average keeps one more copy of the estimate.
      return c.name === 'sqrt' ? inner : { ...inner, memory: inner.memory * 2 };
    }
    case 'Sum': {
      const parts = c.terms.map((t) => termCost(t, s, exactDamping, cgIters));
      return {
        estimate: parts.reduce((t, p) => t + p.estimate, 0),
        refresh: parts.reduce((t, p) => t + p.refresh, 0),
        // A sum of structures is solved by CG over the sum's products.
        solve: parts.every((p) => p.shape === 'diag' || p.shape === 'identity')
          ? parts.reduce((t, p) => t + p.solve, 0)
          : cgIters * parts.reduce((t, p) => t + p.solve, 0),
        memory: parts.reduce((t, p) => t + p.memory, 0),
        shape: parts.every((p) => p.shape === 'diag' || p.shape === 'identity') ? 'diag' : 'matrix-free',
      };
    }
  }
}

/** The cost of one step of `plan` on `def` with minibatches of `batchSize` examples. */
export function estimateCost(plan: Plan, def: ModelDef, batchSize: number): CostEstimate {
  const s = sizesOf(def, batchSize);
  const P = s.params;
  const exactDamping = plan.damping._tag !== 'factored';
  const cgIters = plan.engineSolver === 'cg' || plan.solver === 'cg' ? (plan.cg?.maxIters ?? 100) : 1;
  const curvature = plan.preconditioned ? termCost(plan.curvature, s, exactDamping, cgIters) : undefined;

  const flops: CostItem[] = [{ what: 'loss and gradient (forward + backward)', flops: forwardFlops(s) + backwardFlops(s) }];
  if (curvature !== undefined) {
    if (curvature.estimate > 0) flops.push({ what: `curvature estimate (every ${plan.estimateEvery}, amortized)`, flops: curvature.estimate / plan.estimateEvery });
    if (curvature.refresh > 0) flops.push({ what: `inverse / decomposition refresh (every ${plan.refreshEvery}, amortized)`, flops: curvature.refresh / plan.refreshEvery });
    flops.push({ what: `solve (C + λI)⁻¹g (${plan.solver})`, flops: curvature.solve });
  }
  const products =
    (plan.step._tag === 'kl' || plan.step._tag === 'kl_trust' || plan.step._tag === 'quadratic_model' ? 1 : 0) +
    (plan.momentum._tag === 'quadratic_model' ? 2 : 0) +
    (plan.damping._tag === 'levenberg_marquardt' ? 1 / plan.damping.every : 0);
  if (products > 0) flops.push({ what: 'exact curvature products for KL / quadratic model / ρ', flops: products * ggnProductFlops(s) });
  if (plan.damping._tag === 'levenberg_marquardt') flops.push({ what: `loss at θ+Δ for ρ (every ${plan.damping.every}, amortized)`, flops: forwardFlops(s) / plan.damping.every });
  if (plan.step._tag === 'line_search') flops.push({ what: 'line search (forward passes, up to max_iters)', flops: plan.step.maxIters * forwardFlops(s) });
  flops.push({ what: 'vector updates (gradient transforms, momentum, averaging, apply)', flops: 10 * P });

  const memoryItems: MemoryItem[] = [{ what: 'parameters', numbers: P }];
  if (curvature !== undefined && curvature.memory > 0) memoryItems.push({ what: 'curvature state (estimates, factors, inverses)', numbers: curvature.memory });
  const vectors =
    plan.gradient.filter((g) => g._tag === 'ema').length +
    (plan.momentum._tag === 'none' ? 0 : 1) +
    (plan.averaging._tag === 'none' ? 0 : 1);
  if (vectors > 0) memoryItems.push({ what: 'gradient EMA, momentum and averaged parameters', numbers: vectors * P });

  return {
    numParams: P,
    batchSize,
    flopsPerStep: flops.reduce((t, f) => t + f.flops, 0),
    flops,
    memory: memoryItems.reduce((t, m) => t + m.numbers, 0),
    memoryItems,
  };
}

const si = (x: number): string => {
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [v, u] of units) if (Math.abs(x) >= v) return `${(x / v).toPrecision(3)}${u}`;
  return x.toPrecision(3);
};

/** Text for `explain`. */
export function renderCost(c: CostEstimate, problem: string): string {
  const lines = [
    `cost per step on ${problem} (P = ${c.numParams.toLocaleString('en-US')} parameters, batch ${c.batchSize}):`,
    `  ≈ ${si(c.flopsPerStep)}FLOP per step`,
    ...c.flops.map((f) => `    ${si(f.flops).padStart(7)}FLOP  ${f.what}`),
    `  memory ≈ ${si(c.memory)} numbers (${si(c.memory * 4)}B in float32)`,
    ...c.memoryItems.map((m) => `    ${si(m.numbers).padStart(7)}  ${m.what}`),
  ];
  return lines.join('\n') + '\n';
}
