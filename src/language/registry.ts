/**
 * The whole vocabulary of the optimizer language, in one place: every clause and every component
 * with its arguments (types, ranges, defaults), a one-line meaning, the update it stands for, and the
 * paper it comes from. The checker, `explain`, docs/language.md and the compiler all read this table.
 */

/** Which namespace a component lives in. A clause accepts components of some kinds. */
export type Kind =
  | 'atom'
  | 'structure'
  | 'transform'
  | 'damping'
  | 'solver'
  | 'step'
  | 'momentum'
  | 'averaging'
  | 'cadence'
  | 'gradient'
  | 'schedule'
  | 'nonfinite';

export const kindTitle: Readonly<Record<Kind, string>> = {
  atom: 'curvature atom',
  structure: 'curvature structure',
  transform: 'curvature transform',
  damping: 'damping',
  solver: 'solver',
  step: 'step rule',
  momentum: 'momentum',
  averaging: 'averaging',
  cadence: 'cadence',
  gradient: 'gradient transform',
  schedule: 'schedule',
  nonfinite: 'non-finite policy',
};

/** A numeric range; bounds are inclusive unless marked exclusive. */
export interface Range {
  readonly min?: number;
  readonly max?: number;
  readonly minExclusive?: boolean;
  readonly maxExclusive?: boolean;
  readonly integer?: boolean;
}

export type ArgType =
  | {
      readonly kind: 'number';
      readonly range: Range;
      /** Names accepted in place of a number, and the number each stands for (`fisher(exact)`). */
      readonly keywords?: Readonly<Record<string, number>>;
      /** A schedule (constant, step, exponential, inverse_time, cosine) may be given instead. */
      readonly schedulable?: boolean;
    }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'curvature' };

export interface ArgSpec {
  readonly name: string;
  readonly type: ArgType;
  /** Absent: the argument is required. */
  readonly default?: number | boolean | string;
  readonly doc: string;
}

export interface ComponentSpec {
  readonly kind: Kind;
  readonly name: string;
  readonly args: readonly ArgSpec[];
  /** One line: what it is. */
  readonly doc: string;
  /** The update or matrix it stands for, in plain mathematical text. */
  readonly math: string;
  /** The paper (or textbook) it comes from; empty for plain bookkeeping (`none`, `auto`). */
  readonly reference: string;
}

export interface ClauseSpec {
  readonly name: string;
  readonly kinds: readonly Kind[];
  readonly doc: string;
  /** The value used when a block (and its parents) does not write the clause, as source text. */
  readonly defaultText: string;
  /** The clause holds a `|>` chain of components (gradient). */
  readonly chain?: boolean;
}

// ---- argument helpers ------------------------------------------------------------------------

const num = (range: Range, extra: { keywords?: Record<string, number>; schedulable?: boolean } = {}): ArgType => ({
  kind: 'number',
  range,
  ...extra,
});
const positive: Range = { min: 0, minExclusive: true };
const nonNegative: Range = { min: 0 };
const unitOpen: Range = { min: 0, max: 1, minExclusive: true, maxExclusive: true };
const decayRange: Range = { min: 0, max: 1, maxExclusive: true };
const count: Range = { min: 1, integer: true };
const curvatureArg: ArgSpec = { name: 'of', type: { kind: 'curvature' }, doc: 'the curvature it wraps' };
const biasArg: ArgSpec = {
  name: 'bias',
  type: { kind: 'enum', values: ['homogeneous', 'separate'] },
  default: 'homogeneous',
  doc: 'fold the bias into the input factor (ā = [a; 1]) or give it its own block',
};

// ---- components --------------------------------------------------------------------------------

export const components: readonly ComponentSpec[] = [
  // curvature atoms
  {
    kind: 'atom', name: 'identity', args: [],
    doc: 'the identity matrix: no curvature, the step follows the (transformed) gradient',
    math: 'I', reference: 'Cauchy 1847 (gradient descent)',
  },
  {
    kind: 'atom', name: 'fisher',
    args: [{
      name: 'sampled', type: num(count, { keywords: { exact: 0 } }), default: 0,
      doc: '`exact` (stored as 0): the expectation over the model\'s outputs; k ≥ 1: Monte-Carlo with k labels sampled from the model',
    }],
    doc: 'Fisher information of the model\'s predictive distribution',
    math: 'F = (1/N) Σᵢ E_{y∼p(·|xᵢ)}[∇log p ∇log pᵀ]', reference: 'Amari 1998, Natural gradient works efficiently in learning',
  },
  {
    kind: 'atom', name: 'empirical_fisher', args: [],
    doc: 'mean of per-example gradient outer products at the data labels',
    math: 'F_emp = (1/N) Σᵢ gᵢ gᵢᵀ', reference: 'Kunstner, Hennig & Balles 2019, Limitations of the empirical Fisher approximation',
  },
  {
    kind: 'atom', name: 'outer',
    args: [{ name: 'of', type: { kind: 'enum', values: ['gradient'] }, default: 'gradient', doc: 'the vector whose outer product is taken: the minibatch gradient (after weight_decay and clip, before ema)' }],
    doc: 'outer product of the batch gradient, as Adam and Shampoo accumulate it',
    math: 'g gᵀ', reference: 'Kingma & Ba 2015, Adam; Gupta, Koren & Singer 2018, Shampoo',
  },
  {
    kind: 'atom', name: 'ggn', args: [],
    doc: 'generalized Gauss-Newton matrix (equals the Fisher for categorical, gaussian and bernoulli likelihoods)',
    math: 'G = (1/N) Σᵢ Jᵢᵀ H_L Jᵢ', reference: 'Schraudolph 2002, Fast curvature matrix-vector products',
  },
  {
    kind: 'atom', name: 'hessian', args: [],
    doc: 'Hessian of the mean loss (may be indefinite: pair it with damping)',
    math: 'H = ∇²L(θ)', reference: 'Pearlmutter 1994, Fast exact multiplication by the Hessian',
  },
  {
    kind: 'atom', name: 'gradient_covariance',
    args: [{ name: 'centered', type: { kind: 'boolean' }, default: true, doc: 'subtract the mean gradient (true covariance) or not (uncentered second moment)' }],
    doc: 'covariance of per-example gradients, TONGA\'s metric',
    math: 'Σ = (1/N) Σᵢ (gᵢ − ḡ)(gᵢ − ḡ)ᵀ', reference: 'Le Roux, Manzagol & Bengio 2008, Topmoumoute online natural gradient (TONGA)',
  },
  {
    kind: 'atom', name: 'lbfgs',
    args: [{ name: 'memory', type: num(count), default: 10, doc: 'number of (step, gradient change) pairs kept' }],
    doc: 'L-BFGS inverse-Hessian approximation from the last m steps (used alone, with solver lbfgs_two_loop)',
    math: 'H⁻¹ ≈ two-loop recursion over {(sₖ, yₖ)}', reference: 'Liu & Nocedal 1989, On the limited memory BFGS method',
  },
  // structures
  {
    kind: 'structure', name: 'full', args: [curvatureArg],
    doc: 'the explicit dense P×P matrix of a curvature', math: 'C', reference: 'Amari 1998 (exact natural gradient)',
  },
  {
    kind: 'structure', name: 'block_diag', args: [curvatureArg],
    doc: 'one dense block per layer, cross-layer terms dropped', math: 'diag(C₁, …, C_L)', reference: 'Martens & Grosse 2015, §3 (block-diagonal approximation)',
  },
  {
    kind: 'structure', name: 'diag', args: [curvatureArg],
    doc: 'the diagonal of a curvature', math: 'Diag(C)', reference: 'LeCun, Bottou, Orr & Müller 1998, Efficient BackProp',
  },
  {
    kind: 'structure', name: 'kfac', args: [curvatureArg, biasArg],
    doc: 'Kronecker factors per dense layer: input second moments A and pre-activation gradient moments G',
    math: 'diag(A₁ ⊗ G₁, …, A_L ⊗ G_L)', reference: 'Martens & Grosse 2015, Optimizing neural networks with Kronecker-factored approximate curvature',
  },
  {
    kind: 'structure', name: 'ekfac', args: [curvatureArg, biasArg],
    doc: 'K-FAC eigenbasis with per-coordinate rescaling re-estimated in that basis',
    math: '(Q_A ⊗ Q_G) diag(s) (Q_A ⊗ Q_G)ᵀ', reference: 'George, Laurent, Bouthillier, Ballas & Vincent 2018, EKFAC',
  },
  {
    kind: 'structure', name: 'lowrank',
    args: [curvatureArg, { name: 'rank', type: num(count), default: 10, doc: 'number of leading directions kept' }],
    doc: 'rank-r approximation plus its diagonal remainder',
    math: 'U Uᵀ + D', reference: 'Le Roux, Manzagol & Bengio 2008 (TONGA low-rank + diagonal)',
  },
  // curvature transforms
  {
    kind: 'transform', name: 'ema',
    args: [
      curvatureArg,
      { name: 'decay', type: num(decayRange), default: 0.95, doc: 'weight β of the previous average' },
      { name: 'debias', type: { kind: 'boolean' }, default: false, doc: 'divide by 1 − βᵗ (Adam\'s bias correction)' },
    ],
    doc: 'exponential moving average over steps, starting from 0',
    math: 'S ← β S + (1 − β) C;  C̄ = S / (1 − βᵗ) if debias else S', reference: 'Martens & Grosse 2015, §5; Kingma & Ba 2015',
  },
  {
    kind: 'transform', name: 'sum',
    args: [curvatureArg, { name: 'init', type: num(nonNegative), default: 0, doc: 'initial value, times the identity' }],
    doc: 'running sum over steps (Adagrad\'s accumulator)',
    math: 'S₀ = init·I;  S ← S + C', reference: 'Duchi, Hazan & Singer 2011, Adagrad',
  },
  {
    kind: 'transform', name: 'sqrt', args: [curvatureArg],
    doc: 'matrix square root (C ^ 0.5), as Adam, RMSProp and Adagrad use', math: 'C^½', reference: 'Duchi, Hazan & Singer 2011',
  },
  // damping
  { kind: 'damping', name: 'none', args: [], doc: 'no damping: λ = 0', math: 'λ = 0', reference: '' },
  {
    kind: 'damping', name: 'tikhonov',
    args: [{ name: 'lambda', type: num(nonNegative, { schedulable: true }), doc: 'λ added to the diagonal' }],
    doc: 'fixed (or scheduled) Tikhonov damping', math: 'C + λI', reference: 'Tikhonov 1963; Martens 2010, §4.1',
  },
  {
    kind: 'damping', name: 'levenberg_marquardt',
    args: [
      { name: 'initial', type: num(positive), default: 1, doc: 'starting λ' },
      { name: 'decrease', type: num(unitOpen), default: 2 / 3, doc: 'factor applied to λ when ρ > upper' },
      { name: 'increase', type: num({ min: 1, minExclusive: true }), default: 1.5, doc: 'factor applied to λ when ρ < lower' },
      { name: 'every', type: num(count), default: 1, doc: 'adapt λ every n steps' },
      { name: 'lower', type: num(unitOpen), default: 0.25, doc: 'ρ below this increases λ' },
      { name: 'upper', type: num(unitOpen), default: 0.75, doc: 'ρ above this decreases λ' },
    ],
    doc: 'λ adapted by the reduction ratio ρ of actual to predicted loss decrease',
    math: 'ρ = (L(θ + Δ) − L(θ)) / (q(Δ) − q(0));  λ ← λ·decrease if ρ > upper, λ·increase if ρ < lower',
    reference: 'Moré 1978; Martens 2010, Deep learning via Hessian-free optimization, §4.1',
  },
  {
    kind: 'damping', name: 'factored',
    args: [{ name: 'lambda', type: num(nonNegative, { schedulable: true }), doc: 'λ split between the Kronecker factors' }],
    doc: 'π-corrected Tikhonov damping of each Kronecker factor (needs kfac)',
    math: '(A + π√λ I) ⊗ (G + (√λ/π) I),  π² = (tr A / dim A) / (tr G / dim G)',
    reference: 'Martens & Grosse 2015, §6.3',
  },
  // solvers
  { kind: 'solver', name: 'auto', args: [], doc: 'chosen from the curvature\'s structure (see chooseSolver)', math: 'see explain', reference: '' },
  { kind: 'solver', name: 'cholesky', args: [], doc: 'dense (per block) Cholesky factorization of C + λI', math: '(C + λI) = L Lᵀ', reference: 'Golub & Van Loan 2013, §4.2' },
  { kind: 'solver', name: 'eigen', args: [], doc: 'eigendecomposition; needed for powers other than 1', math: 'C = Q Λ Qᵀ;  (C^p + λI)⁻¹ = Q (Λ^p + λ)⁻¹ Qᵀ', reference: 'Golub & Van Loan 2013, §8' },
  {
    kind: 'solver', name: 'cg',
    args: [
      { name: 'max_iters', type: num(count), default: 100, doc: 'iteration cap (truncation)' },
      { name: 'tol', type: num(positive), default: 1e-4, doc: 'stop when ‖r‖ ≤ tol·‖g‖' },
    ],
    doc: 'truncated conjugate gradient on matrix-vector products', math: 'solve (C + λI) d = g by CG', reference: 'Hestenes & Stiefel 1952; Martens 2010',
  },
  { kind: 'solver', name: 'kronecker', args: [], doc: 'invert each Kronecker factor (eigen of the factors when damping or powers require)', math: '(A ⊗ G)⁻¹ = A⁻¹ ⊗ G⁻¹', reference: 'Martens & Grosse 2015, §6' },
  { kind: 'solver', name: 'woodbury', args: [], doc: 'Woodbury identity for low-rank plus diagonal', math: '(D + UUᵀ)⁻¹ = D⁻¹ − D⁻¹U(I + UᵀD⁻¹U)⁻¹UᵀD⁻¹', reference: 'Woodbury 1950; Le Roux et al. 2008' },
  { kind: 'solver', name: 'lbfgs_two_loop', args: [], doc: 'L-BFGS two-loop recursion (needs the lbfgs curvature)', math: 'd = H_m g by two loops over the memory', reference: 'Nocedal 1980, Updating quasi-Newton matrices with limited storage' },
  // step rules
  {
    kind: 'step', name: 'lr',
    args: [{ name: 'eta', type: num(positive, { schedulable: true }), doc: 'learning rate η' }],
    doc: 'fixed (or scheduled) learning rate', math: 'Δ = −η d', reference: 'Robbins & Monro 1951',
  },
  {
    kind: 'step', name: 'kl',
    args: [{ name: 'epsilon', type: num(positive, { schedulable: true }), doc: 'KL divergence of every step' }],
    doc: 'constant-speed natural gradient: every step moves the model by the same KL',
    math: 'Δ = −α d,  α = √(2ε / dᵀFd)  (so ½ΔᵀFΔ = ε)', reference: 'Pascanu & Bengio 2013, Revisiting natural gradient for deep networks',
  },
  {
    kind: 'step', name: 'kl_trust',
    args: [
      { name: 'radius', type: num(positive, { schedulable: true }), doc: 'largest KL of a step' },
      { name: 'lr', type: num(positive, { schedulable: true }), default: 1, doc: 'learning rate before clipping' },
    ],
    doc: 'learning rate clipped so that the step\'s KL stays within a trust radius',
    math: 'Δ = −α d,  α = min(η, √(2r / dᵀFd))  (so ½ΔᵀFΔ ≤ r)', reference: 'Ba, Grosse & Martens 2017, Distributed second-order optimization using K-FAC',
  },
  {
    kind: 'step', name: 'line_search',
    args: [
      { name: 'condition', type: { kind: 'enum', values: ['armijo'] }, default: 'armijo', doc: 'acceptance test (sufficient decrease)' },
      { name: 'c1', type: num(unitOpen), default: 1e-4, doc: 'sufficient-decrease constant' },
      { name: 'shrink', type: num(unitOpen), default: 0.5, doc: 'backtracking factor' },
      { name: 'initial', type: num(positive), default: 1, doc: 'first trial step length' },
      { name: 'max_iters', type: num(count), default: 20, doc: 'trials before giving up (the step is then rejected)' },
    ],
    doc: 'backtracking line search on the minibatch loss',
    math: 'α = initial·shrinkᵏ, smallest k with L(θ − αd) ≤ L(θ) − c1·α·gᵀd', reference: 'Armijo 1966; Nocedal & Wright 2006, §3.1',
  },
  {
    kind: 'step', name: 'quadratic_model', args: [],
    doc: 'step length minimizing the local quadratic model along d',
    math: 'α = gᵀd / dᵀ(C̄ + λI)d  (C̄: the curvature\'s unstructured atom)', reference: 'Martens & Grosse 2015, §6.4',
  },
  // momentum
  { kind: 'momentum', name: 'none', args: [], doc: 'no momentum', math: 'θ ← θ + Δ', reference: '' },
  {
    kind: 'momentum', name: 'heavy_ball',
    args: [{ name: 'mu', type: num(decayRange, { schedulable: true }), doc: 'momentum μ' }],
    doc: 'heavy-ball momentum on the direction (tfjs momentum optimizer)',
    math: 'v ← μ v + d;  θ ← θ − η v  (with step lr(η); otherwise v ← μ v + Δ, θ ← θ + v)', reference: 'Polyak 1964',
  },
  {
    kind: 'momentum', name: 'nesterov',
    args: [{ name: 'mu', type: num(decayRange, { schedulable: true }), doc: 'momentum μ' }],
    doc: 'Nesterov momentum (tfjs momentum optimizer with useNesterov)',
    math: 'v ← μ v + d;  θ ← θ − η (d + μ v)', reference: 'Nesterov 1983; Sutskever, Martens, Dahl & Hinton 2013',
  },
  {
    kind: 'momentum', name: 'quadratic_model', args: [],
    doc: 'step length and momentum chosen jointly by the quadratic model (K-FAC)',
    math: '(α, μ) = argmin q(α Δ + μ δ_prev);  δ = α Δ + μ δ_prev;  θ ← θ + δ', reference: 'Martens & Grosse 2015, §7',
  },
  // averaging
  { kind: 'averaging', name: 'none', args: [], doc: 'evaluate the last iterate', math: 'θ̄ = θ', reference: '' },
  {
    kind: 'averaging', name: 'polyak',
    args: [{ name: 'from', type: num({ min: 0, integer: true }), default: 0, doc: 'first step included in the average' }],
    doc: 'uniform average of the iterates from a given step (evaluated parameters)',
    math: 'θ̄ = mean of θ_t for t ≥ from', reference: 'Polyak & Juditsky 1992, Acceleration of stochastic approximation by averaging',
  },
  {
    kind: 'averaging', name: 'ema',
    args: [{ name: 'decay', type: num(decayRange), doc: 'weight β of the previous average' }],
    doc: 'exponential moving average of the iterates (evaluated parameters)',
    math: 'θ̄ ← β θ̄ + (1 − β) θ', reference: 'Ruppert 1988; Martens & Grosse 2015, §13',
  },
  // cadence
  {
    kind: 'cadence', name: 'every',
    args: [{ name: 'n', type: num(count), doc: 'period in steps' }],
    doc: 'do it on steps 0, n, 2n, …', math: 't mod n = 0', reference: 'Martens & Grosse 2015, §8',
  },
  // gradient transforms
  { kind: 'gradient', name: 'minibatch', args: [], doc: 'the plain minibatch gradient (identity; may start a chain)', math: 'g = ∇L_batch(θ)', reference: 'Robbins & Monro 1951' },
  {
    kind: 'gradient', name: 'weight_decay',
    args: [{ name: 'lambda', type: num(nonNegative, { schedulable: true }), doc: 'L2 coefficient' }],
    doc: 'L2 regularization added to the gradient', math: 'g ← g + λθ', reference: 'Krogh & Hertz 1992, A simple weight decay can improve generalization',
  },
  {
    kind: 'gradient', name: 'clip',
    args: [{ name: 'norm', type: num(positive), doc: 'largest gradient norm' }],
    doc: 'rescale the gradient to a maximum global norm', math: 'g ← g · min(1, c / ‖g‖)', reference: 'Pascanu, Mikolov & Bengio 2013, On the difficulty of training RNNs',
  },
  {
    kind: 'gradient', name: 'ema',
    args: [
      { name: 'decay', type: num(decayRange), default: 0.9, doc: 'weight β of the previous average' },
      { name: 'debias', type: { kind: 'boolean' }, default: false, doc: 'divide by 1 − βᵗ' },
    ],
    doc: 'exponential moving average of the gradient, starting from 0 (Adam\'s first moment)',
    math: 'm ← β m + (1 − β) g;  g ← m / (1 − βᵗ) if debias else m', reference: 'Kingma & Ba 2015, Adam',
  },
  // schedules
  {
    kind: 'schedule', name: 'constant',
    args: [{ name: 'value', type: num({}), doc: 'the value at every step' }],
    doc: 'the same value at every step', math: 'x_t = value', reference: '',
  },
  {
    kind: 'schedule', name: 'step',
    args: [
      { name: 'initial', type: num({}), doc: 'value at step 0' },
      { name: 'factor', type: num(positive), default: 0.1, doc: 'multiplier applied every `every` steps' },
      { name: 'every', type: num(count), doc: 'period in steps' },
    ],
    doc: 'piecewise-constant decay', math: 'x_t = initial · factor^⌊t / every⌋', reference: 'Krizhevsky, Sutskever & Hinton 2012',
  },
  {
    kind: 'schedule', name: 'exponential',
    args: [
      { name: 'initial', type: num({}), doc: 'value at step 0' },
      { name: 'decay', type: num(positive), default: 0.99, doc: 'multiplier per step' },
    ],
    doc: 'exponential decay', math: 'x_t = initial · decayᵗ', reference: '',
  },
  {
    kind: 'schedule', name: 'inverse_time',
    args: [
      { name: 'initial', type: num({}), doc: 'value at step 0' },
      { name: 'decay', type: num(nonNegative), default: 1e-3, doc: 'rate of decay' },
    ],
    doc: 'inverse-time decay (Robbins-Monro)', math: 'x_t = initial / (1 + decay · t)', reference: 'Robbins & Monro 1951',
  },
  {
    kind: 'schedule', name: 'cosine',
    args: [
      { name: 'initial', type: num({}), doc: 'value at step 0' },
      { name: 'steps', type: num(count), doc: 'length of the decay' },
      { name: 'final', type: num({}), default: 0, doc: 'value from step `steps` on' },
    ],
    doc: 'cosine decay', math: 'x_t = final + ½(initial − final)(1 + cos(π·min(t, steps)/steps))', reference: 'Loshchilov & Hutter 2017, SGDR',
  },
  // non-finite policy
  {
    kind: 'nonfinite', name: 'reject',
    args: [{ name: 'max_failures', type: num(count), default: 10, doc: 'consecutive rejected steps before the run stops' }],
    doc: 'discard a step whose loss, gradient or update is NaN/Inf; after max_failures in a row, stop with the last good parameters',
    math: 'θ ← θ if any non-finite value', reference: '',
  },
];

// ---- clauses ---------------------------------------------------------------------------------

export const clauses: readonly ClauseSpec[] = [
  { name: 'curvature', kinds: ['atom', 'structure', 'transform'], doc: 'the matrix C that preconditions the gradient (an expression of the curvature algebra)', defaultText: 'identity' },
  { name: 'estimate', kinds: ['cadence'], doc: 'how often the curvature is re-estimated', defaultText: 'every(1)' },
  { name: 'refresh', kinds: ['cadence'], doc: 'how often inverses / decompositions of the curvature are recomputed', defaultText: 'every(1)' },
  { name: 'damping', kinds: ['damping'], doc: 'what is added to C before solving', defaultText: 'none' },
  { name: 'solver', kinds: ['solver'], doc: 'how d = (C + λI)⁻¹ g is computed', defaultText: 'auto' },
  { name: 'step', kinds: ['step'], doc: 'how far to move along the direction d', defaultText: 'lr(1e-3)' },
  { name: 'momentum', kinds: ['momentum'], doc: 'how past steps are reused', defaultText: 'none' },
  { name: 'averaging', kinds: ['averaging'], doc: 'which parameters are evaluated', defaultText: 'none' },
  { name: 'gradient', kinds: ['gradient'], doc: 'the gradient g as a |> chain of transforms, applied left to right', defaultText: 'minibatch', chain: true },
  { name: 'on_nonfinite', kinds: ['nonfinite'], doc: 'what happens when a loss, gradient or step is NaN or Inf', defaultText: 'reject(max_failures: 10)' },
];

// ---- look-ups --------------------------------------------------------------------------------

export function findClause(name: string): ClauseSpec | undefined {
  return clauses.find((c) => c.name === name);
}

export function findComponent(kinds: readonly Kind[], name: string): ComponentSpec | undefined {
  return components.find((c) => kinds.includes(c.kind) && c.name === name);
}

export function componentsOf(kinds: readonly Kind[]): readonly ComponentSpec[] {
  return components.filter((c) => kinds.includes(c.kind));
}

export function mustFind(kind: Kind, name: string): ComponentSpec {
  const c = findComponent([kind], name);
  if (c === undefined) throw new Error(`registry has no ${kind} named ${name}`);
  return c;
}

/** Arguments as written by a user of the component: curvature wrappers take `of` separately. */
export function valueArgs(c: ComponentSpec): readonly ArgSpec[] {
  return c.args.filter((a) => a.type.kind !== 'curvature');
}

/** Human-readable range, e.g. "in [0, 1)", "an integer ≥ 1", "> 0". */
export function describeRange(r: Range): string {
  const parts: string[] = [];
  const fmt = (x: number): string => formatNumber(x);
  if (r.min !== undefined && r.max !== undefined) {
    parts.push(`in ${r.minExclusive ? '(' : '['}${fmt(r.min)}, ${fmt(r.max)}${r.maxExclusive ? ')' : ']'}`);
  } else if (r.min !== undefined) parts.push(`${r.minExclusive ? '>' : '≥'} ${fmt(r.min)}`);
  else if (r.max !== undefined) parts.push(`${r.maxExclusive ? '<' : '≤'} ${fmt(r.max)}`);
  if (r.integer) return parts.length > 0 ? `an integer ${parts[0]}` : 'an integer';
  return parts.length > 0 ? `a number ${parts[0]}` : 'a number';
}

export function inRange(r: Range, x: number): boolean {
  if (!Number.isFinite(x)) return false;
  if (r.integer && !Number.isInteger(x)) return false;
  if (r.min !== undefined && (r.minExclusive ? x <= r.min : x < r.min)) return false;
  if (r.max !== undefined && (r.maxExclusive ? x >= r.max : x > r.max)) return false;
  return true;
}

/** Numbers as the docs and `explain` print them: short, exact for the registry's defaults. */
export function formatNumber(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const short = Number(x.toPrecision(4));
  const s = String(short);
  return short === x ? s : `${s}…`;
}

export function describeType(t: ArgType): string {
  switch (t.kind) {
    case 'number': {
      const base = describeRange(t.range);
      const kw = t.keywords ? Object.keys(t.keywords).map((k) => ` or ${k}`).join('') : '';
      return `${base}${kw}${t.schedulable ? ' or a schedule' : ''}`;
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return t.values.map((v) => `"${v}"`).join(' or ');
    case 'curvature':
      return 'a curvature';
  }
}
