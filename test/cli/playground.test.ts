/**
 * `geodesic playground` spawned for real: serves dist/playground on 127.0.0.1 (index, wasm with its
 * MIME type, nothing outside the folder), stops on SIGTERM with exit 0; a taken port or a bad --port
 * is a one-line error. Also `geodesic lsp` without --stdio. `npm test` builds dist first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';

const geodesic = (...args: string[]) => spawnSync(process.execPath, ['bin/geodesic.js', ...args], { encoding: 'utf8' });

describe('geodesic playground', () => {
  it('serves the built page on 127.0.0.1 and stops cleanly', async () => {
    const child = spawn(process.execPath, ['bin/geodesic.js', 'playground', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (c) => reject(new Error(`exited ${c}: ${out}`)));
    });
    const index = await fetch(url);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('geodesic playground');
    const wasm = await fetch(`${url}wasm/tfjs-backend-wasm-simd.wasm`);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect((await fetch(`${url}examples.json`)).headers.get('content-type')).toBe('application/json');
    expect((await fetch(`${url}nope.js`)).status).toBe(404);
    expect((await fetch(`${url}..%2f..%2fpackage.json`)).status).toBe(403);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });

  it('a taken port and a bad --port are one-line errors', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((r) => blocker.listen(0, '127.0.0.1', () => r((blocker.address() as { port: number }).port)));
    try {
      const taken = geodesic('playground', '--port', String(port));
      expect(taken.status).toBe(1);
      expect(taken.stderr).toBe(`geodesic playground: cannot listen on 127.0.0.1:${port}: the port is in use (choose another with --port)\n`);
    } finally {
      blocker.close();
    }
    const bad = geodesic('playground', '--port', 'x');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--port must be an integer in 0..65535, got 'x'");
  });

  it('geodesic lsp without --stdio says how to run it', () => {
    const r = geodesic('lsp');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('give --stdio');
    expect(geodesic('--help').stdout).toMatch(/playground .*\n.*lsp /s);
  });
});
