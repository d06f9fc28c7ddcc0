/**
 * The installed CLI, spawned for real (`node bin/geodesic.js`, which runs dist/): vitest resolves
 * imports more leniently than Node's ESM loader, so only a real process proves the binary works.
 * `npm test` builds dist first; run `npm run build` before running this file alone.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorFiles, exampleFiles, read } from '../language/helpers.js';

function geodesic(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/geodesic.js', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('geodesic CLI (language commands)', () => {
  it('check exits 0 on every example', () => {
    const r = geodesic('check', ...exampleFiles());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: \d+ files, \d+ optimizers\n$/);
  });

  it('check exits 1 and prints every golden diagnostic for the broken examples, all at once', () => {
    const files = errorFiles();
    const r = geodesic('check', ...files);
    expect(r.code).toBe(1);
    for (const f of files) {
      for (const line of read(f.replace(/\.optim$/, '.expected')).split('\n')) expect(r.stderr).toContain(line);
    }
  });

  it('check --json gives machine-readable diagnostics with ranges', () => {
    const r = geodesic('check', '--json', 'examples/errors/three_mistakes.optim');
    expect(r.code).toBe(1);
    const ds = JSON.parse(r.stdout) as { file: string; line: number; column: number; endLine: number; endColumn: number; severity: string; message: string; hint?: string }[];
    expect(ds.map((d) => [d.line, d.column, d.endLine, d.endColumn, d.severity])).toEqual([
      [5, 3, 5, 9, 'error'],
      [6, 28, 6, 31, 'error'],
      [7, 15, 7, 24, 'error'],
    ]);
    expect(ds[0]!.hint).toBe('did you mean "refresh"?');
    expect(JSON.parse(geodesic('check', '--json', 'examples/sgd.optim').stdout)).toEqual([]);
  });

  it('check reports a missing file, unknown flags, and missing arguments', () => {
    const missing = geodesic('check', 'no/such.optim');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no/such.optim:1:1: error: cannot read no/such.optim: no such file');
    const flag = geodesic('check', '--jsn', 'examples/sgd.optim');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('unknown flag --jsn for geodesic check (did you mean "--json"?)');
    expect(geodesic('check').code).toBe(2);
  });

  it('has --help for the program and for each command', () => {
    const top = geodesic('--help');
    expect(top.code).toBe(0);
    for (const c of ['check', 'fmt', 'explain']) {
      expect(top.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
      const h = geodesic(c, '--help');
      expect(h.code).toBe(0);
      expect(h.stdout).toContain(`usage: geodesic ${c} [options]`);
    }
    const unknown = geodesic('chek');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('did you mean "check"?');
  });

  it('fmt --check passes on the examples; fmt rewrites an unformatted copy (keeping comments)', () => {
    expect(geodesic('fmt', '--check', ...exampleFiles()).code).toBe(0);
    const dir = mkdtempSync(path.join(tmpdir(), 'geodesic-fmt-'));
    const file = path.join(dir, 'messy.optim');
    writeFileSync(file, 'optimizer  m   {curvature=(diag(ggn))|>ema(0.9) # keep me\nstep=lr( 1e-3 )}\n');
    const check = geodesic('fmt', '--check', file);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain('not formatted');
    expect(geodesic('fmt', file).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('optimizer m {\n  curvature = diag(ggn) |> ema(0.9)  # keep me\n  step      = lr(1e-3)\n}\n');
    expect(geodesic('fmt', '--check', file).code).toBe(0);
    const broken = path.join(dir, 'broken.optim');
    copyFileSync('examples/errors/syntax_missing_brace.optim', broken);
    const b = geodesic('fmt', broken);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(`${broken}:5:1: error: expected "}"`);
  });

  it('explain prints the update rule, resolved defaults and the solver choice', () => {
    const r = geodesic('explain', 'examples/kfac.optim', '--optimizer', 'kfac');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('optimizer kfac — K-FAC (Martens & Grosse 2015)');
    expect(r.stdout).toContain('d = (C + λI)⁻¹ g  (auto → kronecker; decomposition refreshed every 20 steps)');
    expect(r.stdout).toContain('(α, μ) = argmin q(α Δ + μ δ),  δ the previous update (K-FAC)');
    expect(r.stdout).toMatch(/estimate +\* = every\(n: 1\)/);
    expect(r.stdout).toContain('auto chooses kronecker');
    expect(r.stdout).not.toContain('kfac_factored');
    const all = geodesic('explain', 'examples/kfac.optim');
    expect(all.stdout).toContain('optimizer kfac_factored');
    const typo = geodesic('explain', 'examples/kfac.optim', '--optimizer', 'kfca');
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('did you mean "kfac"?');
    const broken = geodesic('explain', 'examples/errors/three_mistakes.optim');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('unknown clause "refesh"');
  });
});
