/**
 * The `geodesic` command line. Each command lives in its own module exporting
 * `run(argv: string[]): Promise<number>` (the exit code) and, for the help listing, `summary`.
 * To add a command: import its module and add one line to `commands`, e.g.
 *   import * as inspect from './inspect.js';          …   inspect,
 * or, for a command with heavy imports (tfjs) that `check` should not pay for at start-up:
 *   train: lazy('train a spec on a problem', () => import('./train.js')),
 */
import { createRequire } from 'node:module';
import { didYouMean } from '../language/diagnostics.js';
import * as check from './check.js';
import * as explain from './explain.js';
import * as fmt from './fmt.js';
import * as inspect from './inspect.js';
import * as train from './train.js';

export interface CommandModule {
  readonly run: (argv: string[]) => Promise<number>;
  readonly summary?: string;
}

/** A command loaded only when it runs. */
export function lazy(summary: string, load: () => Promise<CommandModule>): CommandModule {
  return { summary, run: async (argv) => (await load()).run(argv) };
}

export const commands: Readonly<Record<string, CommandModule>> = {
  check,
  fmt,
  explain,
  inspect,
  train,
  export: lazy('export a spec as a PyTorch optimizer module (torch.distributed-ready)', () => import('./export.js')),
  prove: lazy('property-test optimizer theory on a spec (invariance, KL step, Fisher = GGN, descent, reductions)', () => import('./prove.js')),
  playground: lazy('serve the browser playground (editor, training, charts, prove) on 127.0.0.1', () => import('./playground.js')),
  lsp: lazy('run the language server for .optim files over stdio (diagnostics, hover, completion, formatting)', () => import('./lsp.js')),
};

function version(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('../../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function helpText(): string {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length));
  return [
    'usage: geodesic COMMAND [options] [arguments]',
    '',
    'An optimizer is a text file (*.optim): geodesic checks, formats, explains and runs it.',
    '',
    'commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${commands[n]!.summary ?? ''}`.trimEnd()),
    '',
    'Run `geodesic COMMAND --help` for the options of a command.',
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(helpText());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`geodesic ${version()}\n`);
    return 0;
  }
  const command = commands[name];
  if (command === undefined) {
    const hint = didYouMean(name, Object.keys(commands));
    process.stderr.write(`geodesic: unknown command "${name}"${hint === undefined ? '' : ` (${hint})`}\n(see geodesic --help)\n`);
    return 2;
  }
  return command.run(rest);
}
