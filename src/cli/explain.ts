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
    'curvature component, every clause with defaults resolved, and the solver `auto` picks and why.',
  flags: { optimizer: { type: 'string', value: 'NAME', doc: 'explain only this optimizer' } },
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
    process.stdout.write(chosen.map(explain).join('\n'));
    return 0;
  });
}
