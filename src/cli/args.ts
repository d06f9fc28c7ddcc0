/**
 * A small, strict flag parser shared by the CLI commands: `--flag`, `--flag value`, `--flag=value`,
 * `--` ends the flags. Unknown flags are errors ("did you mean"); `--help`/`-h` is always accepted.
 */
import * as E from 'fp-ts/lib/Either.js';
import { didYouMean } from '../language/diagnostics.js';

export interface FlagSpec {
  readonly type: 'boolean' | 'string';
  readonly doc: string;
  /** Placeholder shown in help for string flags, e.g. NAME. */
  readonly value?: string;
  /** String flags: the value used when the flag is absent. */
  readonly default?: string;
}

export interface CommandSpec {
  /** e.g. "check" */
  readonly name: string;
  /** e.g. "FILE…" */
  readonly usage: string;
  readonly summary: string;
  /** Extra paragraphs for `--help`. */
  readonly description?: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  readonly minPositionals?: number;
  readonly maxPositionals?: number;
}

export interface ParsedArgs {
  readonly help: boolean;
  readonly flags: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

export function parseArgs(spec: CommandSpec, argv: readonly string[]): E.Either<string, ParsedArgs> {
  const flags: Record<string, string | boolean | undefined> = {};
  for (const [name, f] of Object.entries(spec.flags)) flags[name] = f.type === 'boolean' ? false : f.default;
  const positionals: string[] = [];
  let help = false;
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (onlyPositionals || !a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    if (a === '--') {
      onlyPositionals = true;
      continue;
    }
    if (a === '--help' || a === '-h') {
      help = true;
      continue;
    }
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    const name = m?.[1];
    const f = name === undefined ? undefined : spec.flags[name];
    if (name === undefined || f === undefined) {
      const hint = didYouMean((name ?? a).replace(/^-+/, ''), Object.keys(spec.flags));
      return E.left(`unknown flag ${a} for geodesic ${spec.name}${hint === undefined ? '' : ` (${hint.replace('did you mean "', 'did you mean "--')})`}`);
    }
    if (f.type === 'boolean') {
      if (m![2] !== undefined) return E.left(`flag --${name} takes no value`);
      flags[name] = true;
    } else {
      const value = m![2] ?? argv[++i];
      if (value === undefined) return E.left(`flag --${name} needs a value (${f.value ?? 'VALUE'})`);
      flags[name] = value;
    }
  }
  if (!help) {
    if (spec.minPositionals !== undefined && positionals.length < spec.minPositionals)
      return E.left(`geodesic ${spec.name} needs ${spec.usage}`);
    if (spec.maxPositionals !== undefined && positionals.length > spec.maxPositionals)
      return E.left(`geodesic ${spec.name} takes ${spec.usage}; got ${positionals.length} arguments`);
  }
  return E.right({ help, flags, positionals });
}

export function helpText(spec: CommandSpec): string {
  const lines = [`usage: geodesic ${spec.name} [options] ${spec.usage}`, '', spec.summary];
  if (spec.description !== undefined) lines.push('', spec.description);
  lines.push('', 'options:');
  const rows: [string, string][] = Object.entries(spec.flags).map(([name, f]) => [
    `--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`,
    f.doc + (f.default !== undefined ? ` (default: ${f.default})` : ''),
  ]);
  rows.push(['--help, -h', 'show this help']);
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) lines.push(`  ${k.padEnd(width)}  ${v}`);
  return `${lines.join('\n')}\n`;
}

/** Parse, answer `--help`, report usage errors (exit 2), otherwise run `body`. */
export async function withArgs(
  spec: CommandSpec,
  argv: readonly string[],
  body: (args: ParsedArgs) => Promise<number>,
): Promise<number> {
  const parsed = parseArgs(spec, argv);
  if (E.isLeft(parsed)) {
    process.stderr.write(`geodesic ${spec.name}: ${parsed.left}\n(see geodesic ${spec.name} --help)\n`);
    return 2;
  }
  if (parsed.right.help) {
    process.stdout.write(helpText(spec));
    return 0;
  }
  return body(parsed.right);
}
