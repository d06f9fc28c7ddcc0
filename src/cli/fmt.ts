/** `geodesic fmt FILE…`: rewrite files in canonical form; `--check` only reports. */
import * as E from 'fp-ts/lib/Either.js';
import { writeFileSync } from 'node:fs';
import { renderAll, sortDiagnostics, type Diagnostic } from '../language/diagnostics.js';
import { readFileNode } from '../language/files.js';
import { format } from '../language/print.js';
import { withArgs, type CommandSpec } from './args.js';

export const summary = 'format optimizer specs canonically (comments are kept)';

export const spec: CommandSpec = {
  name: 'fmt',
  usage: 'FILE…',
  summary,
  description:
    'Rewrites each file in place in canonical form. With --check, changes nothing and exits 1 if\n' +
    'any file would change (or does not parse).',
  flags: { check: { type: 'boolean', doc: 'report files that are not formatted; write nothing' } },
  minPositionals: 1,
};

export async function run(argv: string[]): Promise<number> {
  return withArgs(spec, argv, async ({ flags, positionals }) => {
    const problems: Diagnostic[] = [];
    const sources = new Map<string, string>();
    let unformatted = 0;
    for (const file of positionals) {
      const text = readFileNode(file);
      if (E.isLeft(text)) {
        process.stderr.write(`${file}: error: cannot read ${file}: ${text.left}\n`);
        unformatted++;
        continue;
      }
      sources.set(file, text.right);
      const formatted = format(file, text.right);
      if (E.isLeft(formatted)) {
        problems.push(formatted.left);
        continue;
      }
      if (formatted.right === text.right) continue;
      if (flags['check'] === true) {
        process.stderr.write(`${file}: not formatted (run geodesic fmt ${file})\n`);
        unformatted++;
      } else {
        writeFileSync(file, formatted.right);
        process.stdout.write(`formatted ${file}\n`);
      }
    }
    if (problems.length > 0) process.stderr.write(renderAll(sortDiagnostics(problems, positionals), (f) => sources.get(f)));
    return problems.length > 0 || unformatted > 0 ? 1 : 0;
  });
}
