/** The worked example of a user-written property (examples/properties/), run as a user would: a Node
 * process importing the built `geodesic/testing` (npm test builds first). */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('examples/properties/diagonal_power.mjs', () => {
  it('finds diag(F)^1 invariant and diag(F)^0.5 not, with a shrunk counterexample', () => {
    const r = spawnSync(process.execPath, ['examples/properties/diagonal_power.mjs'], { encoding: 'utf8', env: { ...process.env, RUNS: '4' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/diag\(F\)\^1: invariant \(expected invariant\); gap largest ([\d.]+)e-(\d+)/);
    const worst = Number(/diag\(F\)\^1: invariant \(expected invariant\); gap largest ([\d.e+-]+)/.exec(r.stdout)![1]);
    expect(worst).toBeLessThan(0.05);
    expect(r.stdout).toMatch(/diag\(F\)\^0\.5: NOT invariant \(expected not invariant\)/);
    expect(r.stdout).toMatch(/shrunk counterexample:\n {4}gap [\d.e+]+ on \{"inputDim":2,"hidden":\[\]/);
  });
});
