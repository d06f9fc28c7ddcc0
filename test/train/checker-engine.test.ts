/**
 * The checker and the curvature engine agree: a curvature × solver pair passes `geodesic check`
 * exactly when the engine builds it and takes steps with it. Every pair of a grid of curvature
 * forms (atoms, structures, sums with and without scaling and identity terms, powers, running
 * statistics) and written solvers goes through the real front end (checkText → plan → compile) and
 * two steps on a small classifier; the checker's verdict must equal the engine's. For pairs the
 * checker rejects, the engine is given the curvature and solver as written (bypassing the typing
 * rules) and must fail.
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Arg, Expr, OptimizerAst } from '../../src/language/ast.js';
import { checkText } from '../../src/language/check.js';
import { parse } from '../../src/language/parse.js';
import type { ArgValue, AtomName, Component, Curvature, OptimizerSpec, Span, StructureName, TransformName } from '../../src/language/spec.js';
import { compile, createStepContext, plan } from '../../src/optim/index.js';
import { disposeParams, initParams } from '../../src/model/index.js';
import type { Params } from '../../src/model/types.js';
import { smallBatch, smallDef } from '../optim/helpers.js';

const curvatures = [
  'identity',
  '2 * identity',
  'ggn',
  'ggn + hessian',
  'diag(ggn)',
  'diag(ggn) |> ema(decay: 0.9) + 1e-3 * identity',
  '(diag(ggn) + 1e-3 * identity) ^ 0.5',
  'diag(hessian)',
  'diag(identity)',
  'block_diag(identity)',
  'diag(outer(gradient)) |> sum(init: 0.1) |> sqrt',
  'diag(ggn) + diag(empirical_fisher)',
  '0.5 * diag(ggn)',
  'block_diag(ggn)',
  'block_diag(ggn) + block_diag(hessian)',
  '0.5 * (block_diag(ggn) + block_diag(hessian))',
  '0.9 * block_diag(ggn) + 0.1 * block_diag(hessian)',
  'block_diag(0.9 * ggn + 0.1 * hessian)',
  'diag(ggn + hessian)',
  'full(ggn) + diag(hessian)',
  '0.5 * kfac(fisher(sampled: 1)) + 0.5 * diag(hessian)', // README's composition example
  'full(ggn) |> sum(init: 1e-3) ^ 0.5',
  'block_diag(hessian) + diag(ggn)',
  'lowrank(hessian, rank: 3)',
  'kfac(ggn)',
  'kfac(ggn) |> ema(decay: 0.9)',
  'kfac(ggn) |> sum(init: 1e-3) ^ 0.25',
  'kfac(ggn) + 1e-3 * identity',
  '(kfac(ggn) + 1e-3 * identity) ^ 0.5',
  'kfac(ggn) |> sum(init: 1e-3) ^ 0.5 + 1e-3 * identity',
  '0.5 * kfac(ggn)',
  'kfac(ggn) + diag(empirical_fisher)',
  'ekfac(ggn) |> ema(decay: 0.9)',
  'lowrank(gradient_covariance, rank: 3)',
  'lowrank(gradient_covariance, rank: 3) + diag(ggn)',
  '(diag(ggn) + diag(hessian)) |> ema(decay: 0.9)',
  'identity |> ema(decay: 0.9)',
  'diag(ggn) |> ema(decay: 0.9) |> ema(decay: 0.9)',
  'lbfgs(memory: 3)',
];
const solvers = ['auto', 'cholesky', 'eigen', 'cg(max_iters: 20, tol: 1e-6)', 'kronecker', 'woodbury'];

type Verdict = { readonly ok: true } | { readonly ok: false; readonly why: string };

const blockText = (curvature: string, solver: string): string =>
  `optimizer agree {\n  curvature = ${curvature}\n  damping   = tikhonov(1)\n  solver    = ${solver}\n  step      = lr(1e-3)\n}\n`;

const span: Span = { file: 'agree.optim', start: 0, end: 0, line: 1, column: 1 };
const STRUCTURES = new Set(['diag', 'block_diag', 'full', 'kfac', 'ekfac', 'lowrank']);

function namedArgs(args: readonly Arg[]): Record<string, ArgValue> {
  const out: Record<string, ArgValue> = {};
  for (const a of args) if (a.name !== undefined) out[a.name.value] = (a.value as { value: ArgValue }).value;
  return out;
}

/** The curvature as written, without the checker's typing rules (what the engine would be given
 * if the checker let it through). Only for the forms of the grid below. */
function untyped(e: Expr): Curvature {
  switch (e._tag) {
    case 'Ident':
      return { _tag: 'Atom', name: e.name as AtomName, args: {}, span };
    case 'Call': {
      const name = e.callee.value;
      if (STRUCTURES.has(name)) return { _tag: 'Structure', name: name as StructureName, of: untyped(e.args[0]!.value), args: namedArgs(e.args.slice(1)), span };
      return { _tag: 'Atom', name: name as AtomName, args: namedArgs(e.args), span };
    }
    case 'Pipe': {
      const t = e.transform;
      const name = (t._tag === 'Call' ? t.callee.value : t.name) as TransformName;
      return { _tag: 'Transform', name, of: untyped(e.subject), args: t._tag === 'Call' ? namedArgs(t.args) : {}, span };
    }
    case 'Binary':
      if (e.op === '+') {
        const l = untyped(e.left);
        const r = untyped(e.right);
        return { _tag: 'Sum', terms: [...(l._tag === 'Sum' ? l.terms : [l]), ...(r._tag === 'Sum' ? r.terms : [r])], span };
      }
      if (e.op === '*') return { _tag: 'Scale', factor: (e.left as { value: number }).value, of: untyped(e.right), span };
      return { _tag: 'Power', of: untyped(e.left), exponent: (e.right as { value: number }).value, span };
    default:
      throw new Error(`not a curvature: ${e._tag}`);
  }
}

/** The spec of a block, bypassing the typing rules for the curvature and solver: everything else
 * comes from the checker (defaults included). */
function uncheckedSpec(curvature: string, solver: string): OptimizerSpec {
  const base = checkText('agree.optim', blockText('identity', 'auto'));
  if (E.isLeft(base.specs)) throw new Error('base spec does not check');
  const file = parse('agree.optim', blockText(curvature, solver));
  if (E.isLeft(file)) throw new Error(file.left.message);
  const clauses = (file.right.items[0] as OptimizerAst).clauses;
  const value = (n: string): Expr => clauses.find((c) => c.name.value === n)!.value;
  const sv = value('solver');
  const solverComponent: Component =
    sv._tag === 'Call' ? { name: sv.callee.value, args: namedArgs(sv.args), span } : { name: (sv as { name: string }).name, args: {}, span };
  return { ...base.specs.right[0]!.optimizers[0]!, curvature: untyped(value('curvature')), solver: solverComponent };
}

function checker(curvature: string, solver: string): Verdict {
  const r = checkText('agree.optim', blockText(curvature, solver));
  return E.isRight(r.specs) ? { ok: true } : { ok: false, why: r.specs.left.map((d) => d.message).join('; ') };
}

/** Plan, compile and take two steps (the second exercises refresh and running statistics). */
function engine(spec: OptimizerSpec): Verdict {
  const p = plan(spec);
  if (E.isLeft(p)) return { ok: false, why: `plan: ${p.left.message}` };
  const batch = smallBatch(16, 3);
  let params: Params = initParams(smallDef, 1);
  try {
    const opt = compile(p.right, smallDef);
    let state = opt.init(params);
    try {
      for (let k = 0; k < 2; k++) {
        const ctx = createStepContext({ def: smallDef, batch, params, seed: k, step: k });
        let result: ReturnType<typeof opt.step>;
        try {
          result = opt.step(ctx, state);
        } finally {
          ctx.dispose(); // the caller owns the context, also when the step throws
        }
        const [next, s, m] = result;
        disposeParams(params);
        params = next;
        state = s;
        if (!m.accepted) return { ok: false, why: m.warnings.join('; ') };
      }
      return { ok: true };
    } finally {
      opt.dispose(state);
    }
  } catch (err) {
    return { ok: false, why: err instanceof Error ? err.message : String(err) };
  } finally {
    disposeParams(params);
    tf.dispose([batch.x, batch.y]);
  }
}

/** Where the checker is deliberately stricter than the engine (documented in docs/language.md):
 * the lbfgs curvature is only applied by its two-loop recursion (the engine would also run CG on
 * its products when damped). */
const STRICTER = new Set(['lbfgs(memory: 3) × cg(max_iters: 20, tol: 1e-6)']);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('checker ⇔ engine on curvature × solver', () => {
  it('accepts exactly the pairs the engine runs', () => {
    const disagreements: string[] = [];
    const stricter: string[] = [];
    let accepted = 0;
    let rejected = 0;
    const leaks: string[] = [];
    for (const c of curvatures) {
      for (const s of solvers) {
        const verdict = checker(c, s);
        const n0 = tf.memory().numTensors;
        const ran = engine(uncheckedSpec(c, s));
        if (tf.memory().numTensors !== n0) leaks.push(`${c} × ${s}: ${tf.memory().numTensors - n0}`);
        if (verdict.ok) accepted++;
        else rejected++;
        if (verdict.ok && !ran.ok) disagreements.push(`checker accepts, engine fails: curvature = ${c}, solver = ${s}: ${ran.why}`);
        if (!verdict.ok && ran.ok) {
          if (STRICTER.has(`${c} × ${s}`)) stricter.push(`${c} × ${s}`);
          else disagreements.push(`checker rejects, engine runs: curvature = ${c}, solver = ${s}: ${verdict.why}`);
        }
      }
    }
    expect(disagreements, disagreements.join('\n')).toEqual([]);
    expect(stricter).toEqual([...STRICTER]);
    // the grid exercises both sides
    expect(accepted).toBeGreaterThan(40);
    expect(rejected).toBeGreaterThan(60);
    expect(leaks).toEqual([]);
  }, 240_000);
});
