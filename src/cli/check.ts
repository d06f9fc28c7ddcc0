/** `geodesic check FILE…`: every problem of every file, located; exit 0 when all are clean. */
import * as E from 'fp-ts/lib/Either.js';
import { renderAll, toJson } from '../language/diagnostics.js';
import { checkPaths } from '../language/files.js';
import { withArgs, type CommandSpec } from './args.js';

export const summary = 'check optimizer specs: syntax, names, types, ranges and compatibility';

export const spec: CommandSpec = {
  name: 'check',
  usage: 'FILE…',
  summary,
  description:
    'Parses each file and everything it imports, resolves `extends`, and reports every problem of\n' +
    'every file at once as file:line:col: error: message, with the source line and a caret.\n' +
    'Exit status: 0 when all files are clean, 1 when there are problems, 2 on usage errors.',
  flags: { json: { type: 'boolean', doc: 'print diagnostics as a JSON array on stdout' } },
  minPositionals: 1,
};

export async function run(argv: string[]): Promise<number> {
  return withArgs(spec, argv, async ({ flags, positionals }) => {
    const result = checkPaths(positionals);
    const sources = (f: string): string | undefined => result.sources.get(f);
    const problems = E.isLeft(result.specs) ? result.specs.left : [];
    if (flags['json'] === true) {
      process.stdout.write(`${JSON.stringify(problems.map((d) => toJson(d, sources)), null, 2)}\n`);
    } else if (problems.length > 0) {
      process.stderr.write(renderAll(problems, sources));
      process.stderr.write(`${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
    } else if (E.isRight(result.specs)) {
      for (const s of result.specs.right) {
        if (!s.optimizers.some((o) => o.span.file === s.file)) {
          const empty = (result.sources.get(s.file) ?? '').replace(/#[^\n]*/g, '').trim() === '';
          process.stderr.write(`${s.file}:1:1: warning: ${empty ? 'the file is empty' : 'the file defines no optimizer of its own'}\n`);
        }
      }
      const n = result.specs.right.reduce((k, s) => k + s.optimizers.filter((o) => o.span.file === s.file).length, 0);
      process.stdout.write(`ok: ${positionals.length} file${positionals.length === 1 ? '' : 's'}, ${n} optimizer${n === 1 ? '' : 's'}\n`);
    }
    return problems.length > 0 ? 1 : 0;
  });
}
