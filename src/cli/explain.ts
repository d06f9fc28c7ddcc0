/** `geodesic explain FILE [--optimizer NAME]`: what a spec computes, in words and formulas. */
import * as E from 'fp-ts/lib/Either.js';
import * as path from 'node:path';
import { didYouMean, renderAll } from '../language/diagnostics.js';
import { explain } from '../language/explain.js';
import { checkPaths } from '../language/files.js';
import { withArgs, type CommandSpec } from './args.js';

export const summary = 'print the update rule a spec computes, its resolved defaults and solver choice';

export const spec: CommandSpec = {
  name: 'explain',
  usage: 'FILE',
  summary,
  description:
    'Checks FILE, then writes out for each optimizer defined in it (or only --optimizer NAME, which\n' +
    'may also be an imported one) the update rule in plain mathematical text, the meaning of each\n' +
    'curvature component, every clause with defaults resolved, and the solver `auto` picks and why.\n' +
    'With --problem P it adds the memory kept between steps and the FLOPs of one step on that\n' +
    "problem's model (estimates and refreshes amortized over their cadences).",
  flags: {
    optimizer: { type: 'string', value: 'NAME', doc: 'explain only this optimizer' },
    problem: { type: 'string', value: 'P', doc: 'also estimate memory and FLOPs per step on the model of built-in problem P' },
    batch: { type: 'string', value: 'B', default: '100', doc: 'minibatch size for the cost estimate' },
  },
  minPositionals: 1,
  maxPositionals: 1,
};

export async function run(argv: string[]): Promise<number> {
  return withArgs(spec, argv, async ({ flags, positionals }) => {
    const file = positionals[0]!;
    const result = checkPaths([file]);
    if (E.isLeft(result.specs)) {
      process.stderr.write(renderAll(result.specs.left, (f) => result.sources.get(f)));
      return 1;
    }
    const checked = result.specs.right[0]!;
    const wanted = flags['optimizer'];
    const chosen =
      typeof wanted === 'string'
        ? checked.optimizers.filter((o) => o.name === wanted)
        : checked.optimizers.filter((o) => o.span.file === path.normalize(file));
    if (chosen.length === 0) {
      const names = checked.optimizers.map((o) => o.name);
      const hint = typeof wanted === 'string' ? didYouMean(wanted, names) : undefined;
      process.stderr.write(
        typeof wanted === 'string'
          ? `${file}: error: no optimizer named "${wanted}"${hint === undefined ? '' : ` (${hint})`}; it has: ${names.join(', ') || 'none'}\n`
          : `${file}: error: the file defines no optimizer\n`,
      );
      return 1;
    }
    const problem = flags['problem'];
    if (typeof problem !== 'string') {
      process.stdout.write(chosen.map(explain).join('\n'));
      return 0;
    }
    const batch = Number(flags['batch']);
    if (!Number.isInteger(batch) || batch < 1) {
      process.stderr.write(`explain: error: --batch must be a positive integer, got "${String(flags['batch'])}"\n`);
      return 2;
    }
    // Loaded only when asked for: the cost model needs the problem registry, `check` does not.
    const [{ problemModel }, { plan }, { estimateCost, renderCost }] = await Promise.all([
      import('../problems/registry.js'),
      import('../optim/plan.js'),
      import('../optim/cost.js'),
    ]);
    const model = problemModel(problem);
    if (E.isLeft(model)) {
      process.stderr.write(`explain: error: ${model.left.message}\n`);
      return 1;
    }
    const parts: string[] = [];
    for (const o of chosen) {
      const planned = plan(o);
      if (E.isLeft(planned)) {
        process.stderr.write(`${o.span.file}:${o.span.line}:${o.span.column}: error: ${planned.left.message}\n`);
        return 1;
      }
      parts.push(explain(o) + '\n' + renderCost(estimateCost(planned.right, model.right, batch), problem));
    }
    process.stdout.write(parts.join('\n'));
    return 0;
  });
}
