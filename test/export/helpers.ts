/** Shared fixtures for the PyTorch export tests: finding torch, exporting specs, a tiny problem. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { checkPaths } from '../../src/language/files.js';
import type { Curvature, OptimizerSpec } from '../../src/language/spec.js';
import { exportPytorch } from '../../src/export/pytorch.js';

/** Debian's python3-torch lives in the system Python (the PATH python may be another one). */
export const PYTHON = '/usr/bin/python3';

/** Whether torch imports; under CI (GEODESIC_REQUIRE_TORCH=1) a missing torch is an error, not a skip. */
export const torchAvailable = (): boolean => {
  const ok = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  if (!ok && process.env['GEODESIC_REQUIRE_TORCH'] === '1') throw new Error(`GEODESIC_REQUIRE_TORCH=1 but ${PYTHON} cannot import torch`);
  return ok;
};

export const tmp = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));

/** The optimizer `name` of an example file, checked. */
export function exampleOptimizer(file: string, name: string): { optimizer: OptimizerSpec; sources: { file: string; text: string }[] } {
  const r = checkPaths([file]);
  if (E.isLeft(r.specs)) throw new Error(`${file} does not check`);
  const optimizer = r.specs.right[0]!.optimizers.find((o) => o.name === name);
  if (optimizer === undefined) throw new Error(`${file} has no optimizer ${name}`);
  return { optimizer, sources: [...r.sources.entries()].map(([f, text]) => ({ file: f, text })) };
}

/** fisher(sampled: k) → fisher(exact) everywhere in a curvature (deterministic statistics on both sides). */
export function exactFisher(c: Curvature): Curvature {
  switch (c._tag) {
    case 'Atom':
      return c.name === 'fisher' ? { ...c, args: { ...c.args, sampled: 0 } } : c;
    case 'Sum':
      return { ...c, terms: c.terms.map(exactFisher) };
    default:
      return { ...c, of: exactFisher(c.of) };
  }
}

export function hasSampledFisher(c: Curvature): boolean {
  switch (c._tag) {
    case 'Atom':
      return c.name === 'fisher' && typeof c.args['sampled'] === 'number' && c.args['sampled'] > 0;
    case 'Sum':
      return c.terms.some(hasSampledFisher);
    default:
      return hasSampledFisher(c.of);
  }
}

/** Exports `optimizer` into `dir`/`name`.py and returns the path. */
export function writeModule(dir: string, name: string, optimizer: OptimizerSpec, sources: { file: string; text: string }[]): string {
  const m = exportPytorch({ optimizer, sources, version: 'test' });
  if (E.isLeft(m)) throw new Error(`${name}: ${m.left.map((d) => d.message).join('; ')}`);
  const path = join(dir, `${name}.py`);
  writeFileSync(path, m.right);
  return path;
}

/** ‖a − b‖∞ / ‖b‖∞ per tensor, the worst over tensors (flat number arrays). */
export function relError(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  let worst = 0;
  a.forEach((ai, k) => {
    const bi = b[k]!;
    let num = 0;
    let den = 0;
    ai.forEach((v, i) => {
      num = Math.max(num, Math.abs(v - bi[i]!));
      den = Math.max(den, Math.abs(bi[i]!));
    });
    worst = Math.max(worst, num / Math.max(den, 1e-12));
  });
  return worst;
}

export const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);
