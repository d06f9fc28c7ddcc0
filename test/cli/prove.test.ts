/**
 * `geodesic prove` through the built binary (`node bin/geodesic.js`, which runs dist/). `npm test`
 * builds first; alone: `npm run generate && npx tsc -p tsconfig.build.json`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

function geodesic(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/geodesic.js', 'prove', ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('geodesic prove', () => {
  it('exits 0 and prints PASS and the statistic when the property holds', () => {
    const r = geodesic('examples/natural_gradient.optim', '--property', 'invariance', '--family', 'layer-affine', '--runs', '3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/natural_gradient: invariance under layer-affine \(predicted invariant/);
    expect(r.stdout).toMatch(/ {2}PASS {2}\(3 cases evaluated, 3 runs, seed 42\)/);
    const worst = Number(/largest ([\d.e+-]+)/.exec(r.stdout)![1]);
    expect(worst).toBeLessThan(0.25);
  });

  it('exits 1 with the shrunk counterexample and a replay command that reproduces it', () => {
    const r = geodesic('examples/sgd.optim', '--property', 'invariance', '--family', 'elementwise', '--runs', '3', '--seed', '5');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ {2}FAIL/);
    expect(r.stdout).toMatch(/counterexample \(shrunk\):/);
    expect(r.stdout).toMatch(/model 2-2 \w+, N = 12/);
    expect(r.stdout).toMatch(/θ = diag\(s\)·φ, s = \[/);
    expect(r.stdout).toMatch(/run on f: {2}outputs [\d.]+/);
    const replay = /replay: geodesic prove (.*)\n/.exec(r.stdout)![1]!.split(' ');
    const again = geodesic(...replay);
    expect(again.code).toBe(1);
    const cx = (s: string) => s.slice(s.indexOf('counterexample (shrunk):'), s.indexOf('  replay:'));
    expect(cx(again.stdout)).toBe(cx(r.stdout));
  });

  it('runs every family when --family is omitted, and fails if one fails', () => {
    const r = geodesic('examples/adam.optim', '--property', 'invariance', '--runs', '2');
    expect(r.code).toBe(1);
    for (const f of ['elementwise', 'layer-affine', 'linear', 'loss-scale']) expect(r.stdout).toContain(`adam: invariance under ${f}`);
    expect(r.stdout).toMatch(/invariance under loss-scale \(predicted invariant[^\n]*\n {2}PASS/);
  });

  it('kl-step holds for natural_gradient and is refused (exit 2) for an lr step', () => {
    const ok = geodesic('examples/natural_gradient.optim', '--property', 'kl-step', '--runs', '2');
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/\|KL\/ε − 1\|/);
    const no = geodesic('examples/sgd.optim', '--property', 'kl-step');
    expect(no.code).toBe(2);
    expect(no.stderr).toMatch(/kl-step needs a spec with step = kl\(ε\); sgd has step = lr/);
  });

  it('fisher-ggn holds, and a spec on the empirical Fisher gets the counterexample', () => {
    const r = geodesic('examples/shampoo.optim', '--property', 'fisher-ggn', '--runs', '2');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/fisher = ggn \(bernoulli head\)\n {2}PASS/);
    expect(r.stdout).toMatch(/shampoo uses empirical_fisher, which is not the Fisher/);
    expect(r.stdout).toMatch(/claim "empirical_fisher = fisher" \(expected to fail\)\n {2}FAIL/);
  });

  it('descent and reduces-to (the damping → ∞ limit, and --to another spec)', () => {
    expect(geodesic('examples/diagonal_fisher.optim', '--property', 'descent', '--runs', '2').code).toBe(0);
    expect(geodesic('examples/diagonal_fisher.optim', '--property', 'reduces-to', '--runs', '2').code).toBe(0);
    const dir = mkdtempSync(path.join(tmpdir(), 'geodesic-prove-'));
    const a = path.join(dir, 'k.optim');
    const b = path.join(dir, 'f.optim');
    writeFileSync(a, 'optimizer k {\n  curvature = kfac(fisher(exact), bias: "homogeneous")\n  damping = tikhonov(1e-3)\n  solver = kronecker\n  step = lr(0.1)\n}\n');
    writeFileSync(b, 'optimizer f {\n  curvature = full(fisher(exact))\n  damping = tikhonov(1e-3)\n  solver = cholesky\n  step = lr(0.1)\n}\n');
    // K-FAC is not exact natural gradient on general models (categorical heads): found and shrunk
    const r = geodesic(a, '--property', 'reduces-to', '--to', b, '--runs', '6');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/k reduces to f/);
    expect(r.stdout).toMatch(/first step of k: /);
  });

  it('--table: measured vs predicted for the given specs', () => {
    const r = geodesic('--table', 'examples/sgd.optim', 'examples/natural_gradient.optim', '--runs', '2');
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\| spec \| elementwise \| layer-affine \| linear \| loss-scale \|/);
    expect(r.stdout).toMatch(/\| sgd \| ✗\/✗ [^|]+ \| ✗\/✗ [^|]+ \| ✗\/✗ [^|]+ \| ✗\/✗ [^|]+ \|/);
    expect(r.stdout).toMatch(/\| natural_gradient \| ✓\/✓ [^|]+ \| ✓\/✓ [^|]+ \| ✓\/✓ [^|]+ \| ✓\/✓ [^|]+ \|/);
    expect(r.stdout).toMatch(/all measured entries agree with the prediction/);
    // progress while it runs: one stderr line per cell, numbered
    expect(r.stderr).toMatch(/^\[1\/8\] sgd × elementwise: ✗\/✗ .* \(\d+ s\)$/m);
    expect(r.stderr).toMatch(/^\[8\/8\] natural_gradient × loss-scale: ✓\/✓ /m);
  });

  it('kl-step measures the step itself, not the averaged parameters; averaging has its own property', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'geodesic-prove-'));
    const f = path.join(dir, 'ema.optim');
    writeFileSync(f, 'optimizer ema {\n  curvature = full(fisher(exact))\n  damping = tikhonov(1e-4)\n  solver = cholesky\n  step = kl(epsilon: 1e-3)\n  averaging = ema(decay: 0.9)\n}\n');
    // before issue 17 this measured the EMA of the iterates: KL = 0.01·ε, "FAIL"
    const kl = geodesic(f, '--property', 'kl-step', '--runs', '2');
    expect(kl.code, kl.stdout).toBe(0);
    const av = geodesic(f, '--property', 'averaging', '--runs', '2');
    expect(av.code, av.stdout).toBe(0);
    expect(av.stdout).toMatch(/average of the iterates by ema\(decay: 0\.9\)/);
  });

  it('usage errors exit 2 with a message', () => {
    const a = geodesic('examples/sgd.optim', '--property', 'nonsense');
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/unknown --property 'nonsense'/);
    const b = geodesic('examples/sgd.optim', '--property', 'invariance', '--family', 'rotations');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/unknown --family 'rotations'/);
    // Several blocks, none named after the file: the user must choose.
    const two = path.join(mkdtempSync(path.join(tmpdir(), 'geodesic-prove-')), 'two.optim');
    writeFileSync(two, 'optimizer a { step = lr(0.1) }\noptimizer b { step = lr(0.2) }\n');
    const c = geodesic(two, '--property', 'descent');
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/defines 2 optimizers \(a, b\); choose one with --optimizer NAME/);
    const d = geodesic('missing.optim', '--property', 'descent');
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/no such file/);
  });
});
