/**
 * `geodesic prove SPEC --property P [--family F] [--optimizer NAME] [--runs N] [--seed S] [--path P]`
 * and `geodesic prove --table [SPEC…]`: the properties of geodesic/testing (docs/theory.md) run by
 * fast-check against a spec. Exit 0: the property holds; 1: it fails (a shrunk counterexample is
 * printed with the seed and path that replay it); 2: usage errors or a spec that does not check.
 */
import * as E from 'fp-ts/lib/Either.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { withArgs, type CommandSpec } from './args.js';
import { defaultOptimizer } from '../language/files.js';
import { selectBackend } from '../backend/select.js';
import {
  FAMILIES,
  checkProperty,
  descentDirection,
  disagreements,
  empiricalFisherCounterexample,
  fisherEqualsGGN,
  klStep,
  largeDampingLimit,
  measureTable,
  planDirectory,
  planFile,
  predictInvariance,
  reducesTo,
  renderTable,
  reparametrizationInvariance,
  symbol,
  atomsOf,
  averagingRule,
  cellText,
  type Family,
  type PlannedSpec,
  type PropertyWithMeasure,
} from '../testing/index.js';
import type { Plan } from '../optim/plan.js';

export const summary = 'property-test optimizer theory on a spec (invariance, KL step, Fisher = GGN, descent, reductions)';

const PROPERTIES = ['invariance', 'kl-step', 'averaging', 'fisher-ggn', 'descent', 'reduces-to'] as const;
type PropertyName = (typeof PROPERTIES)[number];

export const spec: CommandSpec = {
  name: 'prove',
  usage: 'SPEC --property NAME | --table [SPEC…]',
  summary,
  description:
    'Runs a property of docs/theory.md with fast-check against the optimizer in SPEC and prints pass/fail,\n' +
    'the statistic, and on failure the shrunk counterexample (model shape, transform, both runs) with the\n' +
    'seed and path that replay it. --table measures every example spec (or the SPECs given) × every\n' +
    'family against the predicted invariance table.\n' +
    'Exit status: 0 holds (table: measured = predicted), 1 fails, 2 usage errors or a spec with problems.',
  flags: {
    property: { type: 'string', value: 'NAME', doc: `the property: ${PROPERTIES.join(', ')}` },
    family: { type: 'string', value: 'F', doc: `invariance family: ${FAMILIES.join(', ')} (default: all four)` },
    optimizer: { type: 'string', value: 'NAME', doc: 'optimizer block to use (default: the only one, or the one named after the file)' },
    to: { type: 'string', value: 'SPEC2', doc: 'reduces-to: the spec the first should equal (default: the damping → ∞ limit, SGD with η/λ)' },
    'to-optimizer': { type: 'string', value: 'NAME', doc: 'reduces-to: optimizer block of SPEC2' },
    damping: { type: 'string', value: 'MODE', doc: 'invariance: vanishing (λ → 0 limit) or as-written', default: 'vanishing' },
    runs: { type: 'string', value: 'N', doc: 'fast-check runs per property (table: per cell)', default: '25' },
    seed: { type: 'string', value: 'S', doc: 'fast-check seed', default: '42' },
    path: { type: 'string', value: 'PATH', doc: 'replay a counterexample path printed by a failing run' },
    table: { type: 'boolean', doc: 'measured vs predicted invariance for every example spec × family' },
  },
};

const usage = (message: string): number => {
  process.stderr.write(`geodesic prove: ${message}\n(see geodesic prove --help)\n`);
  return 2;
};

function intFlag(name: string, v: string | boolean | undefined, min: number): E.Either<string, number> {
  const s = typeof v === 'string' ? v : '';
  const n = Number(s);
  if (!/^-?\d+$/.test(s.trim()) || !Number.isSafeInteger(n) || n < min) return E.left(`--${name} must be an integer ≥ ${min}, got '${String(v)}'`);
  return E.right(n);
}

/** The examples shipped with the package (next to dist/ when installed), or ./examples. */
function examplesDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const c of [path.resolve(here, '../../../examples'), path.resolve(here, '../../examples'), path.resolve('examples')]) if (existsSync(c)) return c;
  return 'examples';
}

function pickOne(specs: readonly PlannedSpec[], file: string): E.Either<string, PlannedSpec> {
  return defaultOptimizer(specs, (s) => s.plan.name, file);
}

interface Outcome {
  readonly holds: boolean;
}

function report<C, M>(title: string, p: PropertyWithMeasure<C, M>, runs: number, seed: number, replayArgs: string, replayPath?: string): Outcome {
  const r = checkProperty(p, { numRuns: runs, seed, ...(replayPath !== undefined ? { path: replayPath } : {}) });
  const out = process.stdout;
  out.write(`${title}\n`);
  out.write(`  ${r.holds ? 'PASS' : 'FAIL'}  (${r.evaluated} cases evaluated, ${runs} runs, seed ${r.seed})\n`);
  const fmt = (x: number) => (Number.isFinite(x) ? x.toExponential(3) : String(x));
  if (Number.isFinite(r.worst) || Number.isFinite(r.best)) out.write(`  statistic: ${p.statisticName}: largest ${fmt(r.worst)}, smallest ${fmt(r.best)}\n`);
  if (!r.holds) {
    if (r.error !== undefined) out.write(`  the property could not be evaluated: ${r.error}\n`);
    out.write(`  counterexample (shrunk):\n${r.report.replace(/^/gm, '    ')}\n`);
    if (r.path !== undefined) out.write(`  replay: geodesic prove ${replayArgs} --runs ${runs} --seed ${r.seed} --path ${r.path}\n`);
  }
  return { holds: r.holds };
}

async function runTable(args: { positionals: readonly string[]; runs: number; seed: number }): Promise<number> {
  let specs: PlannedSpec[] = [];
  if (args.positionals.length === 0) {
    const dir = examplesDir();
    const r = planDirectory(dir);
    if (E.isLeft(r)) return usage(r.left);
    specs = r.right;
  } else {
    for (const f of args.positionals) {
      const r = planFile(f);
      if (E.isLeft(r)) return usage(r.left);
      specs.push(...r.right);
    }
  }
  process.stdout.write(`invariance table: ${specs.length} optimizers × ${FAMILIES.length} families, ${args.runs} runs per cell predicted invariant (at least 100 where a failure is predicted), seed ${args.seed}\n`);
  process.stdout.write('cells: predicted/measured gap (✓ invariant, ✗ not, n/a not realisable, ! could not run; ≠ disagreement)\n\n');
  // Progress on stderr, one line per cell, so stdout stays the table.
  const total = specs.length * FAMILIES.length;
  const started = Date.now();
  let done = 0;
  const rows = measureTable(specs, {
    runs: args.runs,
    seed: args.seed,
    onCell: (row, cell) => {
      done++;
      process.stderr.write(`[${done}/${total}] ${row} × ${cell.family}: ${cellText(cell)} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    },
  });
  process.stdout.write(renderTable(rows));
  const errors = rows.flatMap((r) => r.cells.filter((c) => c.error !== undefined).map((c) => `  ${r.name} × ${c.family}: ${c.error}`));
  if (errors.length > 0) process.stdout.write(`\ncould not run (engine or planner limitation, not scored):\n${[...new Set(errors)].join('\n')}\n`);
  const wrong = disagreements(rows).filter((d) => d.cell.error === undefined);
  if (wrong.length > 0) {
    process.stdout.write(`\n${wrong.length} disagreement(s) between prediction and measurement:\n`);
    for (const { row, cell } of wrong) {
      process.stdout.write(`  ${row.name} × ${cell.family}: predicted ${symbol(cell.predicted.invariant)} (${cell.predicted.reason}), measured ${symbol(cell.measured)}\n`);
      if (cell.counterexample) process.stdout.write(`${cell.counterexample.replace(/^/gm, '    ')}\n`);
    }
    return 1;
  }
  process.stdout.write('\nall measured entries agree with the prediction\n');
  return 0;
}

function proveOne(
  name: PropertyName,
  planned: PlannedSpec,
  flags: Readonly<Record<string, string | boolean | undefined>>,
  runs: number,
  seed: number,
  replayBase: string,
): E.Either<string, boolean> {
  const plan: Plan = planned.plan;
  const replayPath = typeof flags['path'] === 'string' ? flags['path'] : undefined;
  switch (name) {
    case 'invariance': {
      const fam = flags['family'];
      if (fam !== undefined && !FAMILIES.includes(fam as Family)) return E.left(`unknown --family '${String(fam)}' (known: ${FAMILIES.join(', ')})`);
      const damping = flags['damping'];
      if (damping !== 'vanishing' && damping !== 'as-written') return E.left(`--damping must be vanishing or as-written, got '${String(damping)}'`);
      const families = fam === undefined ? FAMILIES : [fam as Family];
      if (replayPath !== undefined && families.length !== 1) return E.left('--path replays one family: give --family too');
      let all = true;
      for (const f of families) {
        const pred = predictInvariance(plan, f);
        if (pred.invariant === undefined) {
          process.stdout.write(`${plan.name}: invariance under ${f}\n  n/a: ${pred.reason}\n`);
          continue;
        }
        const o = report(
          `${plan.name}: invariance under ${f} (predicted ${pred.invariant ? 'invariant' : 'not invariant'}: ${pred.reason})`,
          reparametrizationInvariance(plan, f, { damping }),
          runs,
          seed,
          `${replayBase} --property invariance --family ${f}${damping === 'as-written' ? ' --damping as-written' : ''}`,
          replayPath,
        );
        all &&= o.holds;
      }
      return E.right(all);
    }
    case 'kl-step':
      if (plan.step._tag !== 'kl') return E.left(`kl-step needs a spec with step = kl(ε); ${plan.name} has step = ${plan.step._tag}`);
      return E.right(report(`${plan.name}: KL step (½ΔᵀFΔ = ε, KL = ε(1 + O(√ε)) at ε = 1e-5, 1e-4, 1e-3)`, klStep(plan), runs, seed, `${replayBase} --property kl-step`, replayPath).holds);
    case 'averaging':
      return E.right(report(`${plan.name}: the evaluated parameters are the average of the iterates (averaging = ${plan.averaging._tag})`, averagingRule(plan), runs, seed, `${replayBase} --property averaging`, replayPath).holds);
    case 'fisher-ggn': {
      let all = true;
      for (const lik of ['categorical', 'gaussian', 'bernoulli'] as const) {
        all &&= report(`fisher = ggn (${lik} head)`, fisherEqualsGGN(lik), runs, seed, `${replayBase} --property fisher-ggn`).holds;
      }
      if (plan.preconditioned && atomsOf(plan.curvature).includes('empirical_fisher')) {
        process.stdout.write(`\n${plan.name} uses empirical_fisher, which is not the Fisher (Martens 2020 §11):\n`);
        report('claim "empirical_fisher = fisher" (expected to fail)', empiricalFisherCounterexample(), runs, seed, `${replayBase} --property fisher-ggn`);
      }
      return E.right(all);
    }
    case 'descent':
      return E.right(report(`${plan.name}: descent direction gᵀ(C + λI)⁻¹g > 0`, descentDirection(plan), runs, seed, `${replayBase} --property descent`, replayPath).holds);
    case 'reduces-to': {
      const to = flags['to'];
      if (typeof to === 'string') {
        const other = planFile(to, typeof flags['to-optimizer'] === 'string' ? flags['to-optimizer'] : undefined);
        if (E.isLeft(other)) return E.left(other.left);
        const b = pickOne(other.right, to);
        if (E.isLeft(b)) return b;
        return E.right(report(`${plan.name} reduces to ${b.right.plan.name} (first 3 steps from the same start)`, reducesTo(plan, b.right.plan), runs, seed, `${replayBase} --property reduces-to --to ${to}`, replayPath).holds);
      }
      if (plan.step._tag !== 'lr') return E.left(`reduces-to without --to checks the damping → ∞ limit, which needs step = lr(η); ${plan.name} has step = ${plan.step._tag}`);
      const { damped, sgd } = largeDampingLimit(plan, 1e6);
      return E.right(report(`${plan.name} with tikhonov(1e6) reduces to SGD with η/1e6`, reducesTo(damped, sgd), runs, seed, `${replayBase} --property reduces-to`, replayPath).holds);
    }
  }
}

export async function run(argv: string[]): Promise<number> {
  return withArgs(spec, argv, async ({ flags, positionals }) => {
    const runs = intFlag('runs', flags['runs'], 1);
    const seed = intFlag('seed', flags['seed'], -2147483648);
    if (E.isLeft(runs)) return usage(runs.left);
    if (E.isLeft(seed)) return usage(seed.left);
    await selectBackend('cpu'); // the numerical oracle
    if (flags['table'] === true) {
      if (flags['property'] !== undefined) return usage('--table and --property are exclusive');
      return runTable({ positionals, runs: runs.right, seed: seed.right });
    }
    const prop = flags['property'];
    if (prop === undefined) return usage('give --property NAME or --table');
    if (!PROPERTIES.includes(prop as PropertyName)) return usage(`unknown --property '${String(prop)}' (known: ${PROPERTIES.join(', ')})`);
    if (positionals.length !== 1) return usage('give exactly one SPEC file');
    const file = positionals[0]!;
    const wanted = typeof flags['optimizer'] === 'string' ? flags['optimizer'] : undefined;
    const planned = planFile(file, wanted);
    if (E.isLeft(planned)) {
      process.stderr.write(`${planned.left}\n`);
      return 2;
    }
    const one = pickOne(planned.right, file);
    if (E.isLeft(one)) return usage(one.left);
    const replayBase = `${file}${wanted !== undefined ? ` --optimizer ${wanted}` : ''}`;
    const r = proveOne(prop as PropertyName, one.right, flags, runs.right, seed.right, replayBase);
    if (E.isLeft(r)) return usage(r.left);
    return r.right ? 0 : 1;
  });
}
