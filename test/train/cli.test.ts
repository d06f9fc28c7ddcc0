/** `geodesic train` in-process (exit codes, summary table, JSONL log, Ctrl-C), and once through the spawned binary. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/train.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'geodesic-cli-'));
const write = (name: string, text: string) => {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
};

function capture() {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  return { out: () => out, err: () => err, restore: () => (o.mockRestore(), e.mockRestore()) };
}

afterEach(() => vi.restoreAllMocks());

const sgd = write('sgd.optim', 'optimizer sgd {\n  step = lr(0.1)\n}\n');
const two = write('two.optim', 'optimizer a {\n  step = lr(0.1)\n}\noptimizer b {\n  step = lr(0.2)\n  momentum = heavy_ball(0.9)\n}\n');

describe('geodesic train', () => {
  it('trains, prints the backend once and a summary table, writes the log', async () => {
    const log = path.join(tmp, 'run.jsonl');
    const c = capture();
    const code = await run([sgd, '--problem', 'logistic', '--steps', '30', '--batch', '32', '--backend', 'cpu', '--log', log, '--eval-every', '10', '--train-size', '500']);
    c.restore();
    expect(code, c.err()).toBe(0);
    expect(c.err().match(/^backend: cpu/gm)).toHaveLength(1);
    expect(c.out()).toMatch(/optimizer\s+sgd/);
    expect(c.out()).toMatch(/status\s+done/);
    expect(c.out()).toMatch(/steps\s+30/);
    const records = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(records.filter((r) => r.type === 'step')).toHaveLength(30);
    expect(records.at(-1)!.type).toBe('end');
  });

  it('same seed ⇒ same summary losses', async () => {
    const outs: string[] = [];
    for (let i = 0; i < 2; i++) {
      const c = capture();
      await run([sgd, '--problem', 'logistic', '--steps', '10', '--batch', '16', '--backend', 'cpu', '--seed', '3', '--train-size', '200']);
      c.restore();
      outs.push(c.out().split('\n').filter((l) => /loss/.test(l)).join('\n'));
    }
    expect(outs[0]).toBe(outs[1]);
    expect(outs[0]).toMatch(/last loss/);
  });

  it('asks for --optimizer when the file has several, and honours it', async () => {
    let c = capture();
    expect(await run([two, '--problem', 'logistic', '--steps', '2', '--backend', 'cpu'])).toBe(1);
    c.restore();
    expect(c.err()).toMatch(/defines 2 optimizers \(a, b\); choose one with --optimizer NAME/);
    c = capture();
    expect(await run([two, '--optimizer', 'b', '--problem', 'logistic', '--steps', '2', '--backend', 'cpu', '--train-size', '100'])).toBe(0);
    c.restore();
    expect(c.out()).toMatch(/optimizer\s+b/);
    // The block named after the file is the default.
    const named = write('b.optim', fs.readFileSync(two, 'utf8'));
    c = capture();
    expect(await run([named, '--problem', 'logistic', '--steps', '2', '--backend', 'cpu', '--train-size', '100'])).toBe(0);
    c.restore();
    expect(c.out()).toMatch(/optimizer\s+b/);
  });

  it('usage errors exit 2 with a one-line cause; spec and problem errors exit 1', async () => {
    const cases: [string[], number, RegExp][] = [
      [[sgd], 2, /--problem P is required/],
      [[sgd, '--problem', 'logistic', '--steps', 'ten'], 2, /--steps must be an integer/],
      [[sgd, '--problem', 'logistic', '--backend', 'gpu'], 2, /--backend must be one of/],
      [[sgd, '--problem', 'logistic', '--stepz', '3'], 2, /unknown flag --stepz/],
      [[write('bad.optim', 'optimizer x {\n  step = lrr(0.1)\n}\n'), '--problem', 'logistic', '--backend', 'cpu'], 1, /bad\.optim:2:/],
      [[sgd, '--problem', 'nope', '--backend', 'cpu'], 1, /unknown problem 'nope'/],
    ];
    for (const [argv, code, message] of cases) {
      const c = capture();
      const got = await run(argv);
      c.restore();
      expect(got, argv.join(' ')).toBe(code);
      expect(c.err(), argv.join(' ')).toMatch(message);
    }
  });

  it('Ctrl-C stops after the current step, prints the summary, keeps the log, exits 130', async () => {
    const log = path.join(tmp, 'interrupted.jsonl');
    const c = capture();
    const pending = run([sgd, '--problem', 'logistic', '--steps', '100000', '--batch', '8', '--backend', 'cpu', '--log', log, '--train-size', '200']);
    await new Promise((r) => setTimeout(r, 1500));
    process.emit('SIGINT');
    const code = await pending;
    c.restore();
    expect(code).toBe(130);
    expect(c.out()).toMatch(/status\s+interrupted/);
    const records = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; aborted?: boolean });
    expect(records.at(-1)).toMatchObject({ type: 'end', aborted: true });
  });
});

describe('geodesic train, spawned (the built binary: bin/geodesic.js → dist/)', () => {
  // vitest resolves imports more leniently than Node's ESM loader (DESIGN §9): only a real process
  // catches a broken import in the train command's path. `npm test` builds dist first; run
  // `npm run build` before running this file alone.
  it('trains examples/sgd.optim on logistic for 5 steps, exit 0, summary on stdout', () => {
    const r = spawnSync(process.execPath, ['bin/geodesic.js', 'train', 'examples/sgd.optim', '--problem', 'logistic', '--steps', '5', '--backend', 'cpu'], {
      encoding: 'utf8',
      cwd: path.resolve(__dirname, '../..'),
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^backend: cpu/m);
    expect(r.stdout).toMatch(/optimizer\s+sgd/);
    expect(r.stdout).toMatch(/problem\s+logistic/);
    expect(r.stdout).toMatch(/status\s+done/);
    expect(r.stdout).toMatch(/steps\s+5\b/);
    const first = Number(/first loss\s+(\S+)/.exec(r.stdout)?.[1]);
    const last = Number(/last loss\s+(\S+)/.exec(r.stdout)?.[1]);
    expect(Number.isFinite(first) && Number.isFinite(last), r.stdout).toBe(true);
  }, 150_000);

  it('with the addon forced off (GEODESIC_NATIVE=0), --backend auto falls back to wasm, says why, and K-FAC runs', () => {
    // The path of a machine without a C++ toolchain: npm ci skips the addon, auto picks wasm with
    // the transposed-matmul fix, and the dense float64 kernels are the JS ones.
    const r = spawnSync(process.execPath, ['bin/geodesic.js', 'train', 'examples/kfac.optim', '--problem', 'logistic', '--steps', '6', '--backend', 'auto'], {
      encoding: 'utf8',
      cwd: path.resolve(__dirname, '../..'),
      timeout: 120_000,
      env: { ...process.env, GEODESIC_NATIVE: '0' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.match(/^backend: /gm), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^backend: wasm\b.*GEODESIC_NATIVE=0/m);
    expect(r.stdout).toMatch(/status\s+done/);
    const first = Number(/first loss\s+(\S+)/.exec(r.stdout)?.[1]);
    const last = Number(/last loss\s+(\S+)/.exec(r.stdout)?.[1]);
    expect(Number.isFinite(first) && Number.isFinite(last), r.stdout).toBe(true);
    expect(r.stdout).toMatch(/backend\s+wasm/);
  }, 150_000);
});
