/**
 * What a checked curvature expression is, structurally: which matrix class it belongs to, which
 * atoms it is built from, whether it defines a KL divergence; and, from that, the solver `auto`
 * picks. Pure functions over the Spec's `Curvature`; the checker, `explain` and the compiler share
 * them.
 */
import type { AtomName, Curvature } from './spec.js';

/**
 * The matrix class of a curvature, from most to least structured:
 * identity ⊂ diag ⊂ blockdiag ⊂ dense; kronecker ⊂ blockdiag; lowrank (+ diagonal) ⊂ dense;
 * matrixfree: only products C v are available; lbfgs: an implicit inverse, only usable alone.
 */
export type MatrixClass = 'identity' | 'diag' | 'kronecker' | 'blockdiag' | 'lowrank' | 'dense' | 'matrixfree' | 'lbfgs';

export const classDescription: Readonly<Record<MatrixClass, string>> = {
  identity: 'a multiple of the identity',
  diag: 'diagonal',
  kronecker: 'Kronecker-factored per layer',
  blockdiag: 'block-diagonal per layer',
  lowrank: 'low-rank plus diagonal',
  dense: 'an explicit dense matrix',
  matrixfree: 'matrix-free (products only)',
  lbfgs: 'an L-BFGS inverse approximation',
};

/** Curvature atoms from which a KL divergence between predictive distributions can be measured. */
export const fisherLike: readonly AtomName[] = ['fisher', 'empirical_fisher', 'ggn'];

/** Classes on which matrix powers (`^`, `sqrt`) and running statistics (`ema`, `sum`) are defined. */
export const explicitClasses: readonly MatrixClass[] = ['identity', 'diag', 'kronecker', 'blockdiag', 'dense'];

export function matrixClass(c: Curvature): MatrixClass {
  switch (c._tag) {
    case 'Atom':
      return c.name === 'identity' ? 'identity' : c.name === 'lbfgs' ? 'lbfgs' : 'matrixfree';
    case 'Structure':
      switch (c.name) {
        case 'full':
          return 'dense';
        case 'block_diag':
          return 'blockdiag';
        case 'diag':
          return 'diag';
        case 'kfac':
        case 'ekfac':
          return 'kronecker';
        case 'lowrank':
          return 'lowrank';
      }
      return 'dense';
    case 'Transform':
    case 'Scale':
    case 'Power':
      return matrixClass(c.of);
    case 'Sum':
      return c.terms.map(matrixClass).reduce(joinClass);
  }
}

/** The class of a sum of two curvatures. */
export function joinClass(a: MatrixClass, b: MatrixClass): MatrixClass {
  if (a === 'lbfgs' || b === 'lbfgs') return 'lbfgs';
  if (a === 'matrixfree' || b === 'matrixfree') return 'matrixfree';
  if (a === 'identity') return b;
  if (b === 'identity') return a;
  if (a === b) return a === 'kronecker' ? 'blockdiag' : a;
  const pair = new Set([a, b]);
  if (pair.has('dense')) return 'dense';
  if (pair.has('lowrank')) return pair.has('diag') ? 'lowrank' : 'dense';
  return 'blockdiag'; // diag, kronecker and blockdiag mixed
}

export function atomsOf(c: Curvature): readonly AtomName[] {
  switch (c._tag) {
    case 'Atom':
      return [c.name];
    case 'Sum':
      return c.terms.flatMap(atomsOf);
    default:
      return atomsOf(c.of);
  }
}

/** Whether the expression applies a matrix power other than 1 (`^ p`, `sqrt`). */
export function hasPower(c: Curvature): boolean {
  switch (c._tag) {
    case 'Atom':
      return false;
    case 'Power':
      return c.exponent !== 1 || hasPower(c.of);
    case 'Transform':
      return c.name === 'sqrt' || hasPower(c.of);
    case 'Sum':
      return c.terms.some(hasPower);
    default:
      return hasPower(c.of);
  }
}

/** Whether ½ΔᵀCΔ measures the KL of a step: built from Fisher-like atoms (identity terms allowed
 * as damping), with no powers and no running sums. Otherwise, the reason why not. */
export function klDefect(c: Curvature): string | undefined {
  const atoms = atomsOf(c);
  if (!atoms.some((a) => fisherLike.includes(a))) {
    const others = [...new Set(atoms)].join(', ');
    return `it is built from ${others}, not from ${fisherLike.join(', ')}`;
  }
  const foreign = atoms.filter((a) => a !== 'identity' && !fisherLike.includes(a));
  if (foreign.length > 0) return `it mixes in ${[...new Set(foreign)].join(', ')}`;
  if (hasPower(c)) return 'it takes a matrix power of the Fisher';
  if (hasTransform(c, 'sum')) return 'it accumulates with sum, which is not an estimate of the Fisher';
  return undefined;
}

function hasTransform(c: Curvature, name: 'ema' | 'sum' | 'sqrt'): boolean {
  switch (c._tag) {
    case 'Atom':
      return false;
    case 'Transform':
      return c.name === name || hasTransform(c.of, name);
    case 'Sum':
      return c.terms.some((t) => hasTransform(t, name));
    default:
      return hasTransform(c.of, name);
  }
}

/** The Kronecker structure (kfac or ekfac) a curvature is built on, looking through transforms,
 * scalings, powers and added identity terms; undefined if there is none. */
export function kroneckerStructure(c: Curvature): 'kfac' | 'ekfac' | undefined {
  switch (c._tag) {
    case 'Atom':
      return undefined;
    case 'Structure':
      return c.name === 'kfac' || c.name === 'ekfac' ? c.name : undefined;
    case 'Sum': {
      const found = c.terms.map(kroneckerStructure).filter((x) => x !== undefined);
      const rest = c.terms.filter((t) => kroneckerStructure(t) === undefined);
      return found.length === 1 && rest.every((t) => matrixClass(t) === 'identity') ? found[0] : undefined;
    }
    default:
      return kroneckerStructure(c.of);
  }
}

export type SolverName = 'cholesky' | 'eigen' | 'cg' | 'kronecker' | 'woodbury' | 'lbfgs_two_loop';

export interface SolverChoice {
  readonly solver: SolverName;
  readonly reason: string;
  /** What the solver keeps between refreshes, as a formula in P (parameters), layer sizes, r, m. */
  readonly storage: string;
}

/** The solver `solver = auto` stands for, and why. */
export function chooseSolver(c: Curvature): SolverChoice {
  const structural = structuralSolver(c);
  // The engine's algebra decides what can actually be solved: where the structural choice is not
  // among the engine's solvers for this operator (e.g. kfac + diag is kept as products only), `auto`
  // becomes the engine's first solver.
  const engine = engineShape(c);
  if (engine.solvers.length === 0 || engine.solvers.includes(structural.solver)) return structural;
  const solver = engine.solvers[0]!;
  return {
    solver,
    reason: `the engine builds ${engine.description}, which it solves with ${solver}${solver === 'cg' ? ' (truncated conjugate gradient on products C v)' : ''}`,
    storage: solver === 'cg' ? 'the terms\' own storage plus a few vectors of P numbers' : structural.storage,
  };
}

function structuralSolver(c: Curvature): SolverChoice {
  const cls = matrixClass(c);
  const power = hasPower(c);
  switch (cls) {
    case 'lbfgs':
      return { solver: 'lbfgs_two_loop', reason: 'the lbfgs curvature is an implicit inverse applied by the two-loop recursion', storage: '2·m·P numbers (m = memory)' };
    case 'identity':
    case 'diag':
      return {
        solver: power ? 'eigen' : 'cholesky',
        reason: `the curvature is ${classDescription[cls]}: solving ${power ? 'and taking powers are' : 'is'} elementwise`,
        storage: cls === 'identity' ? 'nothing' : 'P numbers',
      };
    case 'kronecker':
      return {
        solver: 'kronecker',
        reason: 'the curvature is Kronecker-factored: each layer\'s A ⊗ G is inverted through its small factors',
        storage: 'Σ_layers (in² + out²) numbers (factors and their inverses or eigenbases)',
      };
    case 'lowrank':
      return { solver: 'woodbury', reason: 'the curvature is low-rank plus diagonal: the Woodbury identity needs only an r×r solve', storage: '(r + 1)·P numbers' };
    case 'blockdiag':
    case 'dense':
      return {
        solver: power ? 'eigen' : 'cholesky',
        reason: power
          ? `the curvature is ${classDescription[cls]} and raised to a power: an eigendecomposition gives C^p`
          : `the curvature is ${classDescription[cls]}: a Cholesky factorization solves it exactly`,
        storage: cls === 'dense' ? 'P² numbers' : 'Σ_layers P_l² numbers',
      };
    case 'matrixfree':
      return { solver: 'cg', reason: 'the curvature is matrix-free: truncated conjugate gradient needs only products C v', storage: 'a few vectors of P numbers' };
  }
}

/**
 * What the curvature engine (src/curvature) builds from an expression, as far as the checker needs
 * it: the operator's structure after the engine's algebra, the solvers its solve accepts (the first
 * is what `solver = auto` becomes there) and whether it has a matrix power. A model of the engine's
 * rules, kept here because src/language imports nothing: structures wrap one atom; ema/sum average
 * a structure's estimate; s·C stays diagonal/identity, otherwise it is a scaled C (C's solvers and
 * powers); a sum folds identity terms into a shift, diagonal terms into a diagonal, diagonal and
 * block/full terms into one block matrix, a single other term plus a shift into that term shifted
 * (its solvers, no power), anything else into a products-only sum (cg, no power).
 * Agreement with the engine is tested in test/train/checker-engine.test.ts.
 */
export type EngineStructure = 'identity' | 'diag' | 'full' | 'block_diag' | 'kfac' | 'ekfac' | 'lowrank' | 'lbfgs' | 'matrix_free' | 'scaled' | 'shifted' | 'sum';

export interface EngineShape {
  readonly structure: EngineStructure;
  /** Solvers the engine's solve accepts for this operator; the first is `auto`'s. */
  readonly solvers: readonly SolverName[];
  /** Whether the operator has a matrix power (`^ p`, `sqrt`). */
  readonly power: boolean;
  readonly description: string;
}

const shape = (structure: EngineStructure, solvers: readonly SolverName[], power: boolean, description: string): EngineShape => ({ structure, solvers, power, description });
const identityShape = shape('identity', ['cholesky', 'eigen', 'cg'], true, 'a multiple of the identity');
const diagShape = shape('diag', ['cholesky', 'eigen'], true, 'diagonal');
const blocksShape = (full: boolean): EngineShape =>
  shape(full ? 'full' : 'block_diag', ['cholesky', 'eigen', 'cg'], true, full ? 'an explicit dense matrix' : 'block-diagonal per layer');

export function engineShape(c: Curvature): EngineShape {
  switch (c._tag) {
    case 'Atom':
      if (c.name === 'identity') return identityShape;
      if (c.name === 'lbfgs') return shape('lbfgs', ['lbfgs_two_loop', 'cg'], false, 'an L-BFGS inverse approximation');
      return shape('matrix_free', ['cg'], false, 'matrix-free (products only)');
    case 'Structure':
      switch (c.name) {
        case 'diag':
          return diagShape;
        case 'full':
        case 'block_diag':
          return blocksShape(c.name === 'full');
        case 'kfac':
        case 'ekfac':
          return shape(c.name, ['kronecker', 'cg'], true, `Kronecker-factored per layer (${c.name})`);
        case 'lowrank':
          return shape('lowrank', ['woodbury'], false, 'low-rank plus diagonal');
      }
      return blocksShape(true);
    case 'Transform':
    case 'Power': {
      const of = engineShape(c.of); // powers and running statistics keep the structure
      const power = c._tag === 'Power' || c.name === 'sqrt';
      return power && (of.structure === 'kfac' || of.structure === 'ekfac')
        ? { ...of, description: `a power of a Kronecker-factored curvature, still Kronecker-factored per layer (${of.structure}: the factors' powers)` }
        : of;
    }
    case 'Scale': {
      const of = engineShape(c.of);
      if (of.structure === 'identity' || of.structure === 'diag') return of;
      return shape('scaled', of.solvers, of.power, `a multiple of ${of.description}`);
    }
    case 'Sum': {
      const rest = c.terms.map(engineShape).filter((t) => t.structure !== 'identity');
      if (rest.length === 0) return identityShape;
      if (rest.every((t) => t.structure === 'diag')) return diagShape;
      if (rest.every((t) => t.structure === 'diag' || t.structure === 'full' || t.structure === 'block_diag')) return blocksShape(rest.some((t) => t.structure === 'full'));
      const shifted = c.terms.length > rest.length;
      if (rest.length === 1) return shape(shifted ? 'shifted' : rest[0]!.structure, rest[0]!.solvers, !shifted && rest[0]!.power, shifted ? `${rest[0]!.description}, plus a multiple of the identity` : rest[0]!.description);
      return shape('sum', ['cg'], false, 'a sum kept as products only (only unscaled diag, block_diag and full terms, plus identity multiples, merge into one matrix)');
    }
  }
}
