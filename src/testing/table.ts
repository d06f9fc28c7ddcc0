/**
 * The invariance table: every planned spec × family, predicted (predict.ts, from the plan) beside
 * measured (reparametrizationInvariance under fast-check), with the worst gap seen.
 */
import type { PlannedSpec } from './specs.js';
import { predictInvariance, symbol, type Prediction } from './predict.js';
import { FAMILIES, type Family } from './reparam.js';
import { reparametrizationInvariance, type InvarianceOptions } from './properties/invariance.js';
import { checkProperty } from './properties/types.js';

export interface TableCell {
  readonly family: Family;
  readonly predicted: Prediction;
  /** undefined when the family cannot be realised for the spec (then nothing is measured). */
  readonly measured: boolean | undefined;
  /** Worst gap over every case evaluated (for a failing cell: over the runs and the shrink). */
  readonly worstGap: number;
  /** For a failing cell: the shrunk counterexample's gap, description, seed and path. */
  readonly counterexampleGap: number | undefined;
  readonly counterexample: string | undefined;
  readonly seed: number;
  readonly path: string | undefined;
  readonly agrees: boolean;
  readonly error: string | undefined;
}

export interface TableRow {
  readonly name: string;
  readonly file: string;
  readonly cells: readonly TableCell[];
}

export interface TableOptions {
  /** Runs for cells predicted invariant (every run must pass). */
  readonly runs: number;
  /** Runs for cells predicted NOT invariant: a counterexample must be found, which for mild
   * violations (truncated CG, an inactive KL clip) takes more cases. Default max(runs, 100); fast-check stops at
   * the first failure, so this costs little where the failure is plain. */
  readonly failRuns?: number;
  readonly seed: number;
  readonly families?: readonly Family[];
  readonly invariance?: InvarianceOptions;
  /** Called after each cell (progress output). */
  readonly onCell?: (row: string, cell: TableCell) => void;
}

export function measureCell(s: PlannedSpec, family: Family, options: TableOptions): TableCell {
  const predicted = predictInvariance(s.plan, family);
  const base = { family, predicted, seed: options.seed };
  if (predicted.invariant === undefined) {
    return { ...base, measured: undefined, worstGap: NaN, counterexampleGap: undefined, counterexample: undefined, path: undefined, agrees: true, error: undefined };
  }
  try {
    const prop = reparametrizationInvariance(s.plan, family, options.invariance);
    const numRuns = predicted.invariant ? options.runs : (options.failRuns ?? Math.max(options.runs, 100));
    const r = checkProperty(prop, { numRuns, seed: options.seed });
    if (r.error !== undefined) {
      return { ...base, measured: undefined, worstGap: NaN, counterexampleGap: undefined, counterexample: r.report, path: r.path, agrees: false, error: r.error };
    }
    return {
      ...base,
      measured: r.holds,
      worstGap: r.worst,
      counterexampleGap: r.counterexampleMeasure?.gap,
      counterexample: r.holds ? undefined : r.report,
      path: r.path,
      agrees: r.holds === predicted.invariant,
      error: undefined,
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ...base, measured: undefined, worstGap: NaN, counterexampleGap: undefined, counterexample: undefined, path: undefined, agrees: false, error: message };
  }
}

export function measureTable(specs: readonly PlannedSpec[], options: TableOptions): TableRow[] {
  const families = options.families ?? FAMILIES;
  return specs.map((s) => ({
    name: s.plan.name,
    file: s.file,
    cells: families.map((f) => {
      const cell = measureCell(s, f, options);
      options.onCell?.(s.plan.name, cell);
      return cell;
    }),
  }));
}

const gapText = (c: TableCell): string => {
  if (c.error !== undefined) return 'error';
  if (c.measured === undefined) return '';
  const g = c.measured ? c.worstGap : (c.counterexampleGap ?? c.worstGap);
  return Number.isFinite(g) ? (Math.abs(g) >= 1e3 || Math.abs(g) < 1e-3 ? g.toExponential(1) : g.toPrecision(2)) : String(g);
};

/** One cell as text: "predicted/measured gap", e.g. "✓/✓ 2.1e-3" or "✗/✗ 4.2", flagged when they disagree. */
export function cellText(c: TableCell): string {
  if (c.predicted.invariant === undefined) return 'n/a';
  return `${symbol(c.predicted.invariant)}/${c.error !== undefined ? '!' : symbol(c.measured)} ${gapText(c)}${c.agrees ? '' : ' ≠'}`;
}

/** A Markdown table: rows = specs, columns = families; each cell "predicted/measured gap". */
export function renderTable(rows: readonly TableRow[]): string {
  if (rows.length === 0) return '(no specs)\n';
  const fams = rows[0]!.cells.map((c) => c.family);
  const lines = [`| spec | ${fams.join(' | ')} |`, `|---|${fams.map(() => '---|').join('')}`];
  for (const r of rows) lines.push(`| ${r.name} | ${r.cells.map(cellText).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

export const disagreements = (rows: readonly TableRow[]): { row: TableRow; cell: TableCell }[] =>
  rows.flatMap((row) => row.cells.filter((c) => !c.agrees).map((cell) => ({ row, cell })));
