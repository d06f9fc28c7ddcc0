/** The shape every property of geodesic/testing returns, and a runner that reports its statistic. */
import * as fc from 'fast-check';

export interface PropertyWithMeasure<C, M> {
  /** The generated cases (shrinkable plain data). */
  readonly arbitrary: fc.Arbitrary<C>;
  /** The fast-check property: holds iff `passes(measure(case))` for every case. */
  readonly property: fc.IProperty<[C]>;
  /** The statistic's computation for one case (used by `prove` and the table). */
  readonly measure: (c: C) => M;
  readonly passes: (m: M) => boolean;
  /** The headline number of a measurement (e.g. the invariance gap, the worst KL ratio error). */
  readonly statistic: (m: M) => number;
  readonly statisticName: string;
  /** Human-readable report of one case and its measurement (the counterexample printout). */
  readonly describe: (c: C, m: M) => string;
}

export interface CheckOptions {
  readonly numRuns: number;
  readonly seed: number;
  /** Replay a recorded counterexample path (fast-check's `path`). */
  readonly path?: string;
}

export interface CheckReport<C, M> {
  readonly holds: boolean;
  /** Worst statistic over every case evaluated (runs and shrinks), by |statistic|. */
  readonly worst: number;
  /** Best (smallest) statistic seen. */
  readonly best: number;
  readonly evaluated: number;
  readonly seed: number;
  /** fast-check's replay path of the shrunk counterexample. */
  readonly path: string | undefined;
  readonly counterexample: C | undefined;
  readonly counterexampleMeasure: M | undefined;
  /** The shrunk counterexample described (or the error thrown by the property). */
  readonly report: string;
  /** Set when the property threw on the counterexample instead of measuring (the spec cannot run there). */
  readonly error: string | undefined;
}

/** Run a property with fast-check and collect its statistic. Exceptions inside the property are
 * failures (fast-check shrinks them too); their message is reported. */
export function checkProperty<C, M>(p: PropertyWithMeasure<C, M>, options: CheckOptions): CheckReport<C, M> {
  let worst = -Infinity;
  let best = Infinity;
  let evaluated = 0;
  const recording = fc.property(p.arbitrary, (c) => {
    const m = p.measure(c);
    const s = p.statistic(m);
    evaluated++;
    const key = Number.isNaN(s) ? Infinity : s;
    if (key > worst) worst = key;
    if (key < best) best = key;
    return p.passes(m);
  });
  const r = fc.check(recording, { numRuns: options.numRuns, seed: options.seed, ...(options.path !== undefined ? { path: options.path } : {}) });
  if (!r.failed) {
    return { holds: true, worst, best, evaluated, seed: r.seed, path: undefined, counterexample: undefined, counterexampleMeasure: undefined, report: '', error: undefined };
  }
  const cx = r.counterexample?.[0];
  let m: M | undefined;
  let report: string;
  let error: string | undefined;
  if (cx === undefined) {
    error = String(r.errorInstance ?? 'unknown failure');
    report = `no counterexample recorded: ${error}`;
  } else {
    try {
      m = p.measure(cx);
      report = p.describe(cx, m);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      report = `${JSON.stringify(cx)}\nthe property threw: ${error}`;
    }
  }
  return { holds: false, worst, best, evaluated, seed: r.seed, path: r.counterexamplePath ?? undefined, counterexample: cx, counterexampleMeasure: m, report, error };
}
