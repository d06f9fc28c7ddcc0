import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { plan } from '../../src/optim/plan.js';
import { scheduleValue, type ScheduleSpec } from '../../src/optim/schedules.js';
import { atom, comp, makeSpec, span } from './helpers.js';

describe('plan', () => {
  it('resolves a K-FAC spec and records a reason for every clause', () => {
    const p = plan(
      makeSpec({
        curvature: { _tag: 'Transform', name: 'ema', of: { _tag: 'Structure', name: 'kfac', of: atom('fisher', { sampled: 1 }), args: { bias: 'separate' }, span }, args: { decay: 0.95, debias: false }, span },
        refresh: comp('every', { n: 20 }),
        damping: comp('levenberg_marquardt', { initial: 150, decrease: 2 / 3, increase: 1.5, every: 5, lower: 0.25, upper: 0.75 }),
        step: comp('kl_trust', { radius: 1e-3, lr: 1 }),
        momentum: comp('quadratic_model'),
        averaging: comp('polyak', { from: 1000 }),
      }),
    );
    if (E.isLeft(p)) throw new Error(p.left.message);
    const r = p.right;
    expect(r.refreshEvery).toBe(20);
    expect(r.solver).toBe('kronecker');
    expect(r.engineSolver).toBe('auto');
    expect(r.needsQuadraticModel).toBe(true);
    expect(r.preconditioned).toBe(true);
    expect(r.damping).toMatchObject({ _tag: 'levenberg_marquardt', initial: 150, every: 5 });
    const clauses = r.decisions.map((d) => d.clause);
    for (const c of ['curvature', 'estimate', 'refresh', 'solver', 'damping', 'step', 'momentum', 'averaging', 'gradient', 'quadratic model', 'on_nonfinite']) expect(clauses).toContain(c);
    expect(r.decisions.every((d) => d.reason.length > 0)).toBe(true);
  });

  it('identity without damping needs no solve; RMSProp shape scales by η before the solve', () => {
    const sgd = plan(makeSpec());
    expect(E.isRight(sgd) && !sgd.right.preconditioned && !sgd.right.lrBeforeSolve).toBe(true);
    const diag: never = { _tag: 'Structure', name: 'diag', of: atom('outer'), args: {}, span } as never;
    const rms = plan(
      makeSpec({
        curvature: {
          _tag: 'Transform',
          name: 'sqrt',
          of: { _tag: 'Sum', terms: [{ _tag: 'Transform', name: 'ema', of: diag, args: { decay: 0.9, debias: false }, span }, { _tag: 'Scale', factor: 1e-7, of: atom('identity'), span }], span },
          args: {},
          span,
        },
      }),
    );
    expect(E.isRight(rms) && rms.right.lrBeforeSolve).toBe(true);
  });

  it('reports a located error for an invalid cadence or LM rule', () => {
    const bad = plan(makeSpec({ refresh: comp('every', { n: 0 }) }));
    expect(E.isLeft(bad) && bad.left.message).toMatch(/refresh = every\(0\): the cadence must be a positive integer/);
    expect(E.isLeft(bad) && bad.left.span).toEqual(span);
    const lm = plan(makeSpec({ damping: comp('levenberg_marquardt', { initial: 1, decrease: 2, increase: 1.5, every: 1 }) }));
    expect(E.isLeft(lm)).toBe(true);
  });
});

describe('schedules', () => {
  const at = (s: ScheduleSpec, t: number) => scheduleValue(s, t);
  it('follow their closed forms', () => {
    expect(at({ _tag: 'constant', value: 0.3 }, 7)).toBe(0.3);
    expect([0, 9, 10, 25].map((t) => at({ _tag: 'step', initial: 1, factor: 0.5, every: 10 }, t))).toEqual([1, 1, 0.5, 0.25]);
    expect(at({ _tag: 'exponential', initial: 2, rate: 0.9, every: 1 }, 3)).toBeCloseTo(2 * 0.729, 12);
    expect(at({ _tag: 'inverse_time', initial: 1, decay: 0.5, every: 1 }, 4)).toBeCloseTo(1 / 3, 12);
    const cos: ScheduleSpec = { _tag: 'cosine', initial: 1, steps: 100, final: 0.1 };
    expect(at(cos, 0)).toBeCloseTo(1, 12);
    expect(at(cos, 50)).toBeCloseTo(0.55, 12);
    expect(at(cos, 100)).toBeCloseTo(0.1, 12);
    expect(at(cos, 500)).toBeCloseTo(0.1, 12);
  });

  it('lr accepts a schedule component', () => {
    const p = plan(makeSpec({ step: comp('lr', { eta: comp('step', { initial: 0.1, factor: 0.5, every: 2 }) }) }));
    if (E.isLeft(p)) throw new Error(p.left.message);
    expect(p.right.step._tag === 'lr' && [0, 2, 4].map((t) => scheduleValue((p.right.step as { eta: ScheduleSpec }).eta, t))).toEqual([0.1, 0.05, 0.025]);
  });
});
