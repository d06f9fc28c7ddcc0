/**
 * Arbitrary *valid* optimizer specs, built by construction as spec text (so they shrink to the
 * simplest spec and print as the user would write them), checked and planned by the real front end.
 * For syntax-level ASTs (valid or not), see ./ast.js (the language's generator).
 */
import * as fc from 'fast-check';
import type { Plan } from '../../optim/plan.js';
import { planOrThrow, planText } from '../specs.js';

export interface SpecParts {
  readonly curvature: string;
  readonly damping: string;
  readonly solver: string;
  readonly step: string;
  readonly momentum: string;
}

const ATOMS = ['fisher(exact)', 'fisher(sampled: 1)', 'ggn', 'empirical_fisher'] as const;

/** Curvature, damping and solver that fit together (dense structures with Cholesky/eigen, Kronecker
 * with the kronecker solver, matrix-free with CG). */
const arbCurvature: fc.Arbitrary<Pick<SpecParts, 'curvature' | 'solver'>> = fc.oneof(
  fc.record({ atom: fc.constantFrom(...ATOMS), s: fc.constantFrom('full', 'diag', 'block_diag'), solver: fc.constantFrom('cholesky', 'eigen') }).map((r) => ({ curvature: `${r.s}(${r.atom})`, solver: r.solver })),
  fc.record({ atom: fc.constantFrom(...ATOMS), bias: fc.constantFrom('homogeneous', 'separate') }).map((r) => ({ curvature: `kfac(${r.atom}, bias: "${r.bias}")`, solver: 'kronecker' })),
  fc.constantFrom('fisher(exact)', 'ggn').map((a) => ({ curvature: a, solver: 'cg(max_iters: 50, tol: 1e-6)' })),
  fc.constant({ curvature: 'identity', solver: 'cholesky' }),
);

export const arbSpecParts: fc.Arbitrary<SpecParts> = fc
  .record({
    c: arbCurvature,
    lambda: fc.constantFrom(1e-3, 1e-2, 1e-1),
    ema: fc.boolean(),
    step: fc.constantFrom('lr(0.01)', 'lr(0.1)', 'kl(epsilon: 1e-3)', 'kl_trust(radius: 1e-2, lr: 1)', 'line_search(armijo)'),
    momentum: fc.constantFrom('none', 'heavy_ball(0.9)'),
  })
  .map((r) => ({
    curvature: r.ema && r.c.curvature !== 'identity' && !r.c.solver.startsWith('cg') ? `${r.c.curvature} |> ema(decay: 0.9)` : r.c.curvature,
    damping: `tikhonov(${r.lambda})`,
    solver: r.c.solver,
    // kl and kl_trust need a curvature that defines a KL divergence (the checker enforces it)
    step: r.c.curvature === 'identity' && r.step.startsWith('kl') ? 'lr(0.01)' : r.step,
    momentum: r.momentum,
  }));

export const specText = (p: SpecParts, name = 'generated'): string =>
  `optimizer ${name} {\n  curvature = ${p.curvature}\n  damping   = ${p.damping}\n  solver    = ${p.solver}\n  step      = ${p.step}\n  momentum  = ${p.momentum}\n}\n`;

/** Spec texts of valid optimizers. */
export const arbSpecText: fc.Arbitrary<string> = arbSpecParts.map((p) => specText(p));

/** Plans of valid optimizers, through parse → check → plan (throws if the front end rejects one:
 * that would be a bug in this generator or in the front end). */
export const arbPlan: fc.Arbitrary<Plan> = arbSpecText.map((t) => planOrThrow(planText(t)));
