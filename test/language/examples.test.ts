/** Every shipped example checks clean, is canonically formatted, and means what its comments say. */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkFiles } from '../../src/language/check.js';
import { readFileNode } from '../../src/language/files.js';
import { format } from '../../src/language/print.js';
import type { OptimizerSpec, Spec } from '../../src/language/spec.js';
import { chooseSolver } from '../../src/language/structure.js';
import { exampleFiles, read } from './helpers.js';

const required = [
  'sgd', 'momentum', 'adam', 'rmsprop', 'adagrad', 'natural_gradient', 'natural_gradient_cg', 'hessian_free', 'lbfgs',
  'tonga', 'kfac', 'ekfac', 'shampoo', 'diagonal_fisher', 'polyak',
];

function specs(): readonly Spec[] {
  const r = checkFiles(exampleFiles(), readFileNode);
  if (E.isLeft(r.specs)) throw new Error(r.specs.left.map((d) => `${d.span.file}:${d.span.line}: ${d.message}`).join('\n'));
  return r.specs.right;
}

const byName = (name: string): OptimizerSpec => {
  const o = specs().flatMap((s) => s.optimizers).find((x) => x.name === name);
  if (o === undefined) throw new Error(`no optimizer ${name}`);
  return o;
};

describe('examples/*.optim', () => {
  it('ship one spec per method of DESIGN §2 plus at least two new compositions', () => {
    const names = exampleFiles().map((f) => f.replace(/^examples\/|\.optim$/g, ''));
    for (const n of required) expect(names).toContain(n);
    expect(names.filter((n) => !required.includes(n)).length).toBeGreaterThanOrEqual(2);
  });

  it('all check clean together', () => {
    expect(specs().length).toBe(exampleFiles().length);
  });

  it('are all canonically formatted', () => {
    for (const f of exampleFiles()) expect(format(f, read(f))).toEqual(E.right(read(f)));
  });

  it('adam is tfjs Adam: debiased gradient EMA, sqrt of the debiased squared-gradient EMA, ε after the sqrt', () => {
    const o = byName('adam');
    expect(o.gradient.map((g) => [g.name, g.args])).toEqual([['ema', { decay: 0.9, debias: true }]]);
    expect(o.curvature).toMatchObject({
      _tag: 'Transform', name: 'sqrt',
      of: { _tag: 'Transform', name: 'ema', args: { decay: 0.999, debias: true }, of: { _tag: 'Structure', name: 'diag', of: { _tag: 'Atom', name: 'outer' } } },
    });
    expect([o.damping.name, o.damping.args]).toEqual(['tikhonov', { lambda: 1e-7 }]);
    expect([o.step.name, o.step.args]).toEqual(['lr', { eta: 1e-3 }]);
  });

  it('rmsprop and adagrad put ε inside the square root and no damping after it', () => {
    for (const [name, inner] of [['rmsprop', 'ema'], ['adagrad', 'sum']] as const) {
      const o = byName(name);
      expect(o.damping.name).toBe('none');
      expect(o.curvature).toMatchObject({
        _tag: 'Transform', name: 'sqrt',
        of: { _tag: 'Sum', terms: [{ _tag: 'Transform', name: inner }, { _tag: 'Scale', factor: 1e-7, of: { _tag: 'Atom', name: 'identity' } }] },
      });
    }
    const firstTermArgs = (name: string): unknown => {
      const c = byName(name).curvature;
      return c._tag === 'Transform' && c.of._tag === 'Sum' && c.of.terms[0]!._tag === 'Transform' ? c.of.terms[0]!.args : undefined;
    };
    expect(firstTermArgs('adagrad')).toEqual({ init: 0.1 });
    expect(firstTermArgs('rmsprop')).toEqual({ decay: 0.9, debias: false });
  });

  it('sgd and momentum are identity curvature with tfjs hyper-parameters', () => {
    expect(byName('sgd').curvature).toMatchObject({ _tag: 'Atom', name: 'identity' });
    expect(byName('sgd').step.args).toEqual({ eta: 0.01 });
    expect([byName('momentum').momentum.name, byName('momentum').momentum.args]).toEqual(['heavy_ball', { mu: 0.9 }]);
  });

  it('auto picks the solver the structure calls for', () => {
    expect(chooseSolver(byName('kfac').curvature).solver).toBe('kronecker');
    expect(chooseSolver(byName('tonga').curvature).solver).toBe('woodbury');
    expect(chooseSolver(byName('lbfgs').curvature).solver).toBe('lbfgs_two_loop');
    expect(chooseSolver(byName('natural_gradient_cg').curvature).solver).toBe('cg');
    expect(chooseSolver(byName('adam').curvature).solver).toBe('eigen'); // diagonal with a power: elementwise
    expect(chooseSolver(byName('kfac_plus_diagonal').curvature).solver).toBe('cg'); // the engine keeps kfac + diag as a sum of products
    expect(chooseSolver(byName('shampoo').curvature).solver).toBe('kronecker');
  });

  it('polyak inherits sgd through import and extends', () => {
    const polyak = specs().find((s) => s.file === 'examples/polyak.optim')!;
    expect(polyak.optimizers.map((o) => o.name)).toEqual(['polyak', 'sgd']);
    const o = polyak.optimizers[0]!;
    expect(o.step.args).toEqual({ eta: 0.01 });
    expect(o.step.span.file).toBe('examples/sgd.optim');
    expect([o.averaging.name, o.averaging.args]).toEqual(['polyak', { from: 100 }]);
  });
});
