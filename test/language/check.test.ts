/** The checker: Spec shape, defaults, imports/extends, typing rules of the algebra, solver choice. */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { chooseSolver, joinClass, matrixClass } from '../../src/language/structure.js';
import { checkMemory, messages, one, problems } from './helpers.js';

const block = (clauses: string): string => `optimizer o {\n${clauses}\n}\n`;

describe('check: Spec shape', () => {
  it('fills every clause and argument default from the registry, located at the block header', () => {
    const o = one('optimizer plain "t" {}');
    expect(o.title).toBe('t');
    expect(o.curvature).toMatchObject({ _tag: 'Atom', name: 'identity', args: {} });
    expect([o.estimate.name, o.estimate.args, o.refresh.args]).toEqual(['every', { n: 1 }, { n: 1 }]);
    expect([o.damping.name, o.solver.name, o.momentum.name, o.averaging.name]).toEqual(['none', 'auto', 'none', 'none']);
    expect([o.step.name, o.step.args]).toEqual(['lr', { eta: 1e-3 }]);
    expect(o.gradient).toEqual([]);
    expect([o.onNonFinite.name, o.onNonFinite.args]).toEqual(['reject', { max_failures: 10 }]);
    expect(o.damping.span).toEqual(o.span);
  });

  it('binds positional arguments, fills the rest, and records fisher(exact) as sampled = 0', () => {
    const o = one(block('curvature = kfac(fisher(exact)) + 2 * lowrank(fisher(sampled: 3), 5)\n damping = levenberg_marquardt(150, every: 5)'));
    expect(o.curvature).toMatchObject({
      _tag: 'Sum',
      terms: [
        { _tag: 'Structure', name: 'kfac', args: { bias: 'homogeneous' }, of: { _tag: 'Atom', name: 'fisher', args: { sampled: 0 } } },
        { _tag: 'Scale', factor: 2, of: { _tag: 'Structure', name: 'lowrank', args: { rank: 5 }, of: { args: { sampled: 3 } } } },
      ],
    });
    expect(o.damping.args).toEqual({ initial: 150, decrease: 2 / 3, increase: 1.5, every: 5, lower: 0.25, upper: 0.75 });
  });

  it('keeps schedules as nested components and the gradient chain in order, without minibatch', () => {
    const o = one(block('step = lr(cosine(initial: 0.1, steps: 100))\n gradient = minibatch |> weight_decay(1e-4) |> clip(2) |> ema(0.9, true)'));
    expect(o.step.args['eta']).toMatchObject({ name: 'cosine', args: { initial: 0.1, steps: 100, final: 0 } });
    expect(o.gradient.map((g) => [g.name, g.args])).toEqual([
      ['weight_decay', { lambda: 1e-4 }],
      ['clip', { norm: 2 }],
      ['ema', { decay: 0.9, debias: true }],
    ]);
  });

  it('accepts transforms in call form as well as with |>', () => {
    const piped = one(block('curvature = diag(ggn) |> ema(decay: 0.5) |> sqrt')).curvature;
    const called = one(block('curvature = sqrt(ema(diag(ggn), decay: 0.5))')).curvature;
    expect(JSON.stringify(called, (k, v) => (k === 'span' ? undefined : v))).toBe(JSON.stringify(piped, (k, v) => (k === 'span' ? undefined : v)));
  });
});

describe('check: imports and extends', () => {
  it('merges clauses down an extends chain across imported files', () => {
    const files = {
      'dir/base.optim': 'optimizer base { step = lr(0.5)\n damping = tikhonov(1) }',
      'dir/sub/mid.optim': 'import "../base.optim"\noptimizer mid extends base { damping = tikhonov(2)\n momentum = nesterov(0.5) }',
      'dir/sub/top.optim': 'import "mid.optim"\noptimizer top extends mid { momentum = heavy_ball(0.1) }',
    };
    const spec = checkMemory(files, 'dir/sub/top.optim');
    expect(E.isRight(spec)).toBe(true);
    const s = E.isRight(spec) ? spec.right : undefined;
    expect(s!.optimizers.map((o) => o.name)).toEqual(['top', 'mid', 'base']);
    const top = s!.optimizers[0]!;
    expect([top.step.args, top.damping.args, top.momentum.name]).toEqual([{ eta: 0.5 }, { lambda: 2 }, 'heavy_ball']);
    expect(top.step.span.file).toBe('dir/base.optim');
  });

  it('reports import cycles, missing imports and extends cycles with locations', () => {
    const cyc = checkMemory({ 'a.optim': 'import "b.optim"\noptimizer a {}', 'b.optim': 'import "a.optim"\noptimizer b {}' }, 'a.optim');
    expect(E.isLeft(cyc) && cyc.left.map((d) => [d.span.file, d.span.line, d.message])).toEqual([
      ['b.optim', 1, 'import cycle: a.optim → b.optim → a.optim'],
    ]);
    expect(messages('import "nope.optim"\noptimizer a {}')).toEqual(['cannot import nope.optim: no such file']);
    expect(messages('optimizer a extends a {}')).toEqual(['extends cycle: a → a']);
  });
});

describe('check: typing rules', () => {
  const ok = (clauses: string): void => expect(messages(block(clauses))).toEqual([]);
  const bad = (clauses: string, pattern: RegExp): void => {
    const ms = messages(block(clauses));
    expect(ms.length, `${clauses} → ${ms.join('; ')}`).toBe(1);
    expect(ms[0]).toMatch(pattern);
  };

  it('kfac and ekfac need a Fisher/GGN-like atom', () => {
    for (const atom of ['fisher(exact)', 'fisher(sampled: 2)', 'empirical_fisher', 'ggn']) ok(`curvature = ekfac(${atom})`);
    for (const atom of ['hessian', 'identity', 'outer(gradient)', 'gradient_covariance', 'ggn + ggn']) bad(`curvature = kfac(${atom})`, /kfac needs a Fisher\/GGN-like/);
  });

  it('solvers must fit the structure', () => {
    ok('curvature = kfac(ggn) |> ema(0.9)\n solver = kronecker');
    ok('curvature = lowrank(ggn, rank: 3)\n solver = woodbury');
    ok('curvature = lbfgs\n solver = lbfgs_two_loop');
    ok('curvature = hessian\n solver = cg');
    ok('curvature = full(hessian)\n solver = cholesky');
    bad('curvature = block_diag(ggn)\n solver = kronecker', /solver kronecker needs a Kronecker-factored/);
    bad('curvature = full(ggn)\n solver = woodbury', /solver woodbury needs a lowrank/);
    bad('curvature = identity\n solver = lbfgs_two_loop', /lbfgs_two_loop needs the lbfgs curvature/);
    bad('curvature = ggn\n solver = eigen', /solver eigen needs an explicit matrix/);
  });

  it('kl and kl_trust need a curvature that defines a KL divergence', () => {
    ok('curvature = kfac(fisher(sampled: 1)) |> ema(0.9) + 1e-3 * identity\n step = kl(1e-3)');
    ok('curvature = ggn\n step = kl_trust(radius: 1e-3)');
    bad('curvature = identity\n step = kl(1e-3)', /step kl needs a curvature that defines a KL/);
    bad('curvature = hessian + ggn\n step = kl(1e-3)', /mixes in hessian/);
    bad('curvature = diag(fisher(exact)) |> sqrt\n step = kl_trust(radius: 1)', /matrix power/);
    bad('curvature = lbfgs\n step = kl(1)', /step kl needs/);
  });

  it('powers and running statistics need explicit structure; lbfgs stands alone', () => {
    ok('curvature = (block_diag(ggn) + identity) ^ 0.5');
    ok('curvature = identity |> sqrt');
    bad('curvature = hessian ^ 2', /matrix power \(\^\) needs an explicit structure/);
    bad('curvature = lowrank(ggn) |> sqrt', /sqrt needs an explicit structure.*low-rank/);
    bad('curvature = ggn |> sum', /sum accumulates over steps/);
    bad('curvature = diag(ggn) + lbfgs', /lbfgs must be the whole curvature/);
    bad('curvature = diag(kfac(ggn))', /diag takes a matrix-free curvature/);
  });

  it('factored damping needs kfac; LM and quadratic models need curvature products', () => {
    ok('curvature = kfac(ggn) |> ema(0.9)\n damping = factored(1e-3)');
    bad('curvature = ekfac(ggn)\n damping = factored(1e-3)', /factored damping/);
    bad('curvature = lbfgs\n damping = levenberg_marquardt', /needs curvature-vector products/);
  });

  it('scalars, exponents and schedules are range-checked', () => {
    bad('curvature = -1 * identity', /scale factor must be a number > 0/);
    bad('curvature = diag(ggn) ^ 0', /exponent of \^ must be a number > 0/);
    bad('curvature = diag(ggn) * diag(ggn)', /can only be multiplied by a number/);
    bad('momentum = heavy_ball(cosine(initial: 2, steps: 10))', /mu must stay in \[0, 1\); the schedule's initial is 2/);
    bad('curvature = 0.5', /expected a curvature; got the number 0.5/);
  });

  it('suggests the right clause for a component used in the wrong one', () => {
    const d = problems(block('momentum = lr(0.1)'))[0]!;
    expect(d.message).toBe('unknown momentum "lr"');
    expect(d.hint).toBe('lr is a step rule; write it as step = …');
  });
});

describe('chooseSolver', () => {
  const curv = (src: string) => one(block(`curvature = ${src}`)).curvature;
  it('follows the matrix class', () => {
    expect(chooseSolver(curv('identity')).solver).toBe('cholesky');
    expect(chooseSolver(curv('full(ggn)')).solver).toBe('cholesky');
    expect(chooseSolver(curv('full(ggn) ^ 0.5')).solver).toBe('eigen');
    expect(chooseSolver(curv('kfac(ggn) + identity')).solver).toBe('kronecker');
    expect(chooseSolver(curv('lowrank(ggn) + diag(ggn)')).solver).toBe('cg'); // the engine keeps lowrank + diag as a sum of products
    expect(chooseSolver(curv('ggn + diag(ggn)')).solver).toBe('cg');
    expect(chooseSolver(curv('lbfgs')).solver).toBe('lbfgs_two_loop');
    expect(chooseSolver(curv('lbfgs')).reason).toMatch(/two-loop/);
  });
  it('joins classes of sums to the least structure containing both', () => {
    expect(matrixClass(curv('kfac(ggn) + kfac(fisher(exact))'))).toBe('blockdiag');
    expect(matrixClass(curv('diag(ggn) + 2 * identity'))).toBe('diag');
    expect(joinClass('lowrank', 'kronecker')).toBe('dense');
    expect(joinClass('dense', 'matrixfree')).toBe('matrixfree');
  });
});
