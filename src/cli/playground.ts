/**
 * `geodesic playground [--port N]`: serve the browser playground (dist/playground, built by
 * `npm run build`) as static files on 127.0.0.1 until interrupted. See docs/playground.md.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withArgs, type CommandSpec } from './args.js';
import { serveStatic } from './staticServer.js';

export const summary = 'serve the browser playground (editor, training, charts, prove) on 127.0.0.1';

export const spec: CommandSpec = {
  name: 'playground',
  usage: '[--port N]',
  summary,
  description:
    'Serves dist/playground (built by `npm run build`) on http://127.0.0.1:PORT/ and prints the address.\n' +
    'Everything runs in the browser: checking, training (in a Web Worker, tfjs wasm) and Prove.\n' +
    'Exit status: 0 after Ctrl-C, 1 when the page is not built or the port is taken, 2 usage errors.',
  flags: { port: { type: 'string', value: 'N', doc: 'port on 127.0.0.1 (0: any free port)', default: '8080' } },
  maxPositionals: 0,
};

/** dist/playground next to this module (dist/src/cli/playground.js → dist/playground). */
export function playgroundDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const c of [path.resolve(here, '../../playground'), path.resolve(here, '../../dist/playground')]) if (existsSync(path.join(c, 'index.html'))) return c;
  return path.resolve(here, '../../playground');
}

export async function run(argv: string[]): Promise<number> {
  return withArgs(spec, argv, async ({ flags }) => {
    const raw = String(flags['port']);
    const port = Number(raw);
    if (!/^\d+$/.test(raw) || port > 65535) {
      process.stderr.write(`geodesic playground: --port must be an integer in 0..65535, got '${raw}'\n(see geodesic playground --help)\n`);
      return 2;
    }
    const dir = playgroundDir();
    if (!existsSync(path.join(dir, 'index.html'))) {
      process.stderr.write(`geodesic playground: the page is not built (${dir}/index.html is missing): run npm run build\n`);
      return 1;
    }
    let served;
    try {
      served = await serveStatic(dir, port);
    } catch (err) {
      const code = (err as { code?: string }).code;
      process.stderr.write(`geodesic playground: cannot listen on 127.0.0.1:${port}: ${code === 'EADDRINUSE' ? 'the port is in use (choose another with --port)' : err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
    process.stdout.write(`geodesic playground: serving ${served.url} (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await served.close();
    return 0;
  });
}
