/**
 * Learning-rate and damping schedules: pure functions of the step number t (0-based).
 *
 *   constant(v)                     v
 *   step(initial, factor, every)    initial · factor^⌊t / every⌋
 *   exponential(initial, decay)     initial · decayᵗ
 *   inverse_time(initial, decay)    initial / (1 + decay · t)
 *   cosine(initial, steps, final)   final + ½(initial − final)(1 + cos(π · min(t, steps) / steps))
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { ArgValue, Component } from '../language/spec.js';
import { isComponent, numArg, planError, type PlanError } from './args.js';

export type ScheduleSpec =
  | { readonly _tag: 'constant'; readonly value: number }
  | { readonly _tag: 'step'; readonly initial: number; readonly factor: number; readonly every: number }
  | { readonly _tag: 'exponential'; readonly initial: number; readonly rate: number; readonly every: number }
  | { readonly _tag: 'inverse_time'; readonly initial: number; readonly decay: number; readonly every: number }
  | { readonly _tag: 'cosine'; readonly initial: number; readonly steps: number; readonly final: number };

export function scheduleValue(s: ScheduleSpec, t: number): number {
  switch (s._tag) {
    case 'constant':
      return s.value;
    case 'step':
      return s.initial * Math.pow(s.factor, Math.floor(t / s.every));
    case 'exponential':
      return s.initial * Math.pow(s.rate, t / s.every);
    case 'inverse_time':
      return s.initial / (1 + (s.decay * t) / s.every);
    case 'cosine': {
      const frac = Math.min(t, s.steps) / s.steps;
      return s.final + 0.5 * (s.initial - s.final) * (1 + Math.cos(Math.PI * frac));
    }
  }
}

export function describeSchedule(s: ScheduleSpec): string {
  switch (s._tag) {
    case 'constant':
      return `${s.value}`;
    case 'step':
      return `step(${s.initial} · ${s.factor}^⌊t/${s.every}⌋)`;
    case 'exponential':
      return `exponential(${s.initial} · ${s.rate}^(t/${s.every}))`;
    case 'inverse_time':
      return `inverse_time(${s.initial} / (1 + ${s.decay}·t/${s.every}))`;
    case 'cosine':
      return `cosine(${s.initial} → ${s.final} over ${s.steps} steps)`;
  }
}

/** A number or a schedule component (as written in `lr(...)` or `tikhonov(...)`). */
export function scheduleFrom(v: ArgValue | undefined, owner: Component): E.Either<PlanError, ScheduleSpec> {
  if (typeof v === 'number') return E.right({ _tag: 'constant', value: v });
  if (!isComponent(v)) return E.left(planError(`${owner.name}: expected a number or a schedule, got ${JSON.stringify(v)}`, owner.span));
  const c = v;
  const initial = numArg(c, ['initial', 'value', 'eta', 'lr']);
  switch (c.name) {
    case 'constant':
      return pipe(initial, E.map((value) => ({ _tag: 'constant', value }) as const));
    case 'step':
      return pipe(
        E.Do,
        E.apS('initial', initial),
        E.apS('factor', numArg(c, ['factor', 'gamma', 'rate'])),
        E.apS('every', numArg(c, ['every', 'steps', 'step_size'])),
        E.map((a) => ({ _tag: 'step', ...a }) as const),
      );
    case 'exponential':
      return pipe(
        E.Do,
        E.apS('initial', initial),
        E.apS('rate', numArg(c, ['decay', 'rate', 'factor', 'gamma'])),
        E.apS('every', numArg(c, ['every', 'steps'], 1)),
        E.map((a) => ({ _tag: 'exponential', ...a }) as const),
      );
    case 'inverse_time':
      return pipe(
        E.Do,
        E.apS('initial', initial),
        E.apS('decay', numArg(c, ['decay', 'rate'])),
        E.apS('every', numArg(c, ['every', 'steps'], 1)),
        E.map((a) => ({ _tag: 'inverse_time', ...a }) as const),
      );
    case 'cosine':
      return pipe(
        E.Do,
        E.apS('initial', initial),
        E.apS('steps', numArg(c, ['steps', 'decay_steps', 'period'])),
        E.apS('final', numArg(c, ['final', 'minimum', 'min', 'alpha'], 0)),
        E.map((a) => ({ _tag: 'cosine', ...a }) as const),
      );
    default:
      return E.left(planError(`unknown schedule '${c.name}' (constant, step, exponential, inverse_time, cosine)`, c.span));
  }
}
