/**
 * `geodesic inspect` end to end through its `run(argv)` entry: the reference problem written in
 * geodesic's file formats (docs/formats.md), every JSON output checked against
 * /work/shared/reference/reference_classification.json, the summary against values computed here,
 * and malformed files rejected with the offending field named.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import * as M from '../../src/model/index.js';
import { run } from '../../src/cli/inspect.js';

const refDir = '/work/shared/reference';
const problem = JSON.parse(readFileSync(`${refDir}/problem_small.json`, 'utf8')) as M.ReferenceProblemJson & {
  params: Record<string, number[][] | number[]>;
};
const ref = JSON.parse(readFileSync(`${refDir}/reference_classification.json`, 'utf8'));
const cls = ref.classification;
const lambda: number = ref.lambda;
const def = M.referenceProblem(problem, 'categorical').def;
const P = M.numParams(def);

const tmp = mkdtempSync(join(tmpdir(), 'geodesic-inspect-'));
const write = (name: string, value: unknown): string => {
  const path = join(tmp, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};

// The reference model in geodesic's format: weights [in][out] (the transpose of PyTorch's [out][in]).
const transpose = (W: number[][]): number[][] => W[0]!.map((_, i) => W.map((row) => row[i]!));
const modelJson = {
  likelihood: 'categorical',
  layers: [1, 2, 3].flatMap((l) => {
    const dense = { type: 'dense', weights: transpose(problem.params[`W${l}`] as number[][]), bias: problem.params[`b${l}`] as number[] };
    const act = problem.activations[l - 1];
    return act && act !== 'identity' ? [dense, { type: act }] : [dense];
  }),
};
const dataJson = { x: problem.x, y: problem.y };
const modelPath = write('model.json', modelJson);
const dataPath = write('data.json', dataJson);

let out = '';
let err = '';
const capture = () => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
};

const inspect = async (...args: string[]): Promise<number> => {
  capture();
  const before = tf.memory().numTensors;
  const code = await run(args);
  expect(tf.memory().numTensors, 'inspect leaked tensors').toBe(before);
  vi.restoreAllMocks();
  return code;
};

const inspectJson = async (quantity: string, ...extra: string[]) => {
  const code = await inspect('--model', modelPath, '--data', dataPath, '--quantity', quantity, '--json', ...extra);
  expect(code, err).toBe(0);
  return JSON.parse(out) as { quantity: string; shape: number[]; values: number[]; factors?: { layer: number; A: number[][]; G: number[][] }[] };
};

const expectClose = (ours: ArrayLike<number>, theirs: ArrayLike<number>, tol = 1e-4) => {
  expect(ours.length).toBe(theirs.length);
  let scale = 0;
  let e = 0;
  for (let i = 0; i < theirs.length; i++) {
    scale = Math.max(scale, Math.abs(theirs[i]!));
    e = Math.max(e, Math.abs(ours[i]! - theirs[i]!));
  }
  expect(e).toBeLessThanOrEqual(tol * scale);
};

const residualRatio = (K: Float64Array, x: ArrayLike<number>, g: ArrayLike<number>, lam: number): number => {
  let r = 0;
  let gn = 0;
  for (let i = 0; i < P; i++) {
    let v = lam * x[i]! - g[i]!;
    for (let j = 0; j < P; j++) v += K[i * P + j]! * x[j]!;
    r += v * v;
    gn += g[i]! ** 2;
  }
  return Math.sqrt(r / gn);
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterEach(() => vi.restoreAllMocks());

describe('geodesic inspect --json reproduces the reference', () => {
  it('loss, grad, per_example_grads', async () => {
    const loss = await inspectJson('loss');
    expect(loss.shape).toEqual([]);
    expect(Math.abs(loss.values[0]! - cls.loss)).toBeLessThan(1e-5);
    const grad = await inspectJson('grad');
    expect(grad.shape).toEqual([P]);
    expectClose(grad.values, M.vectorFromReference(def, cls.grad));
    const pe = await inspectJson('per_example_grads');
    expect(pe.shape).toEqual([8, P]);
    expectClose(pe.values, M.rowsFromReference(def, cls.per_sample_grads).flatMap((r) => [...r]));
  });

  it('fisher, ggn, empirical_fisher, hessian, ggn_diag', async () => {
    for (const [q, key] of [['fisher', 'ggn'], ['ggn', 'ggn'], ['empirical_fisher', 'ef'], ['hessian', 'hessian']] as const) {
      const r = await inspectJson(q);
      expect(r.quantity).toBe(q);
      expect(r.shape).toEqual([P, P]);
      expectClose(r.values, M.matrixFromReference(def, cls[key]));
    }
    const d = await inspectJson('ggn_diag');
    expectClose(d.values, M.vectorFromReference(def, cls.ggn_diag));
  });

  it('kfac and kfac_empirical with both bias conventions, with per-layer factors', async () => {
    const cases = [
      ['kfac', 'separate', 'kfac_matrix_separate_bias', 'A', 'G'],
      ['kfac', 'homogeneous', 'kfac_matrix_homogeneous', 'A_homogeneous', 'G'],
      ['kfac_empirical', 'separate', 'kfac_empirical_matrix_separate_bias', 'A', 'G_empirical'],
      ['kfac_empirical', 'homogeneous', 'kfac_empirical_matrix_homogeneous', 'A_homogeneous', 'G_empirical'],
    ] as const;
    for (const [q, bias, key, aKey, gKey] of cases) {
      const r = await inspectJson(q, '--bias', bias);
      expectClose(r.values, M.matrixFromReference(def, cls[key]));
      expect(r.factors?.length).toBe(3);
      r.factors!.forEach((f, l) => {
        expectClose(f.A.flat(), cls.kfac_layers[l][aKey].flat());
        expectClose(f.G.flat(), cls.kfac_layers[l][gKey].flat());
      });
    }
  });

  it('natgrad and natgrad_kfac (exact and factored damping) solve their systems', async () => {
    const g = M.vectorFromReference(def, cls.grad);
    const ng = await inspectJson('natgrad', '--lambda', String(lambda));
    expect(residualRatio(M.matrixFromReference(def, cls.ggn), ng.values, g, lambda)).toBeLessThan(1e-4);
    const nk = await inspectJson('natgrad_kfac', '--bias', 'homogeneous', '--damping', 'exact', '--lambda', String(lambda));
    expect(residualRatio(M.matrixFromReference(def, cls.kfac_matrix_homogeneous), nk.values, g, lambda)).toBeLessThan(1e-4);
    const nf = await inspectJson('natgrad_kfac', '--damping', 'factored', '--lambda', String(lambda));
    // the factored solution is the reference's to float32 accuracy times the (mild) condition number of the factors
    expectClose(nf.values, M.vectorFromReference(def, cls.natgrad_kfac_homogeneous_factored_damping_pi), 1e-3);
    const sep = await inspectJson('natgrad_kfac', '--bias', 'separate', '--lambda', String(lambda));
    expect(residualRatio(M.matrixFromReference(def, cls.kfac_matrix_separate_bias), sep.values, g, lambda)).toBeLessThan(1e-4);
  });
});

describe('geodesic inspect summary', () => {
  it('prints shape, trace, extreme eigenvalues, condition number and effective rank', async () => {
    const code = await inspect('--model', modelPath, '--data', dataPath, '--quantity', 'ggn');
    expect(code, err).toBe(0);
    expect(out).toMatch(/^quantity: ggn$/m);
    expect(out).toMatch(/^shape: \[74, 74\]$/m);
    const ggn = M.matrixFromReference(def, cls.ggn);
    let tr = 0;
    for (let i = 0; i < P; i++) tr += ggn[i * P + i]!;
    const trace = Number(/^trace: (\S+)$/m.exec(out)![1]);
    expect(Math.abs(trace - tr)).toBeLessThan(1e-4 * tr);
    expect(out).toMatch(/^eigenvalues: min \S+, max \S+$/m);
    // the GGN has rank ≤ N·(C−1) = 16 < 74: singular
    expect(out).toMatch(/^condition number: ∞ \(singular/m);
    const numRank = Number(/numerical rank (\d+) of 74/.exec(out)![1]);
    expect(numRank).toBeLessThanOrEqual(16);
    expect(numRank).toBeGreaterThan(0);
  });

  it('reports the Hessian as indefinite and the K-FAC factors per layer', async () => {
    expect(await inspect('--model', modelPath, '--data', dataPath, '--quantity', 'hessian'), err).toBe(0);
    expect(out).toMatch(/^condition number: undefined \(indefinite: \d+ negative eigenvalues\)$/m);
    expect(await inspect('--model', modelPath, '--data', dataPath, '--quantity', 'kfac', '--bias', 'homogeneous'), err).toBe(0);
    expect(out).toMatch(/^layer 0 factors: A 7×7, G 5×5$/m);
    expect(out).toMatch(/^layer 2 factors: A 5×5, G 3×3$/m);
  });

  it('gives the condition number and effective rank of a positive-definite GGN (closed form)', async () => {
    // y = x·w + b, gaussian: GGN = (1/N) Σ [x; 1][x; 1]ᵀ, P = 3
    const xs = [[1, 0], [0, 2], [1, 1], [-1, 3]];
    const m = write('lin.json', { likelihood: 'gaussian', layers: [{ type: 'dense', weights: [[0.5], [-0.25]], bias: [0.1] }] });
    const d = write('lin-data.json', { x: xs, y: xs.map(() => [0]) });
    expect(await inspect('--model', m, '--data', d, '--quantity', 'ggn'), err).toBe(0);
    const G = new Matrix(3, 3);
    for (const [a, b] of xs) {
      const v = [a!, b!, 1];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) G.set(i, j, G.get(i, j) + (v[i]! * v[j]!) / xs.length);
    }
    const ev = new EigenvalueDecomposition(G, { assumeSymmetric: true }).realEigenvalues.sort((a, b) => a - b);
    const cond = Number(/^condition number: (\S+)$/m.exec(out)![1]);
    expect(Math.abs(cond / (ev[2]! / ev[0]!) - 1)).toBeLessThan(1e-4);
    const sum = ev.reduce((a, b) => a + b, 0);
    const erank = Math.exp(-ev.reduce((h, l) => h + (l / sum) * Math.log(l / sum), 0));
    const printed = Number(/^effective rank: (\S+) \(numerical rank 3 of 3\)$/m.exec(out)![1]);
    expect(Math.abs(printed - erank)).toBeLessThan(1e-4);
  });
});

describe('geodesic inspect errors', () => {
  const runWith = async (model: unknown, data: unknown = dataJson, quantity = 'loss') =>
    inspect('--model', write('m.json', model), '--data', write('d.json', data), '--quantity', quantity);

  it('names the malformed field of a model file', async () => {
    const bad = structuredClone(modelJson) as { layers: Record<string, unknown>[] };
    (bad.layers[0]!.weights as unknown[][])[1]![2] = 'x';
    expect(await runWith(bad)).toBe(1);
    expect(err).toMatch(/m\.json: layers\[0\]\.weights\[1\]\[2\]: expected number, got "x"/);
    expect(err.trim().split('\n')).toHaveLength(1);

    expect(await runWith({ layers: modelJson.layers })).toBe(1);
    expect(err).toMatch(/likelihood: expected .*got nothing/);

    const wrongBias = structuredClone(modelJson) as { layers: Record<string, unknown>[] };
    wrongBias.layers[2]!.bias = [1, 2];
    expect(await runWith(wrongBias)).toBe(1);
    expect(err).toMatch(/layers\[2\]\.bias: has 2 entries, expected 4/);

    const unknownLayer = structuredClone(modelJson) as { layers: Record<string, unknown>[] };
    unknownLayer.layers[1] = { type: 'gelu' };
    expect(await runWith(unknownLayer)).toBe(1);
    expect(err).toMatch(/layers\[1\]\.type: unknown layer type "gelu"/);
  });

  it('names the malformed field of a data file', async () => {
    expect(await runWith(modelJson, { x: problem.x, y: problem.y.map((c, i) => (i === 3 ? 7 : c)) })).toBe(1);
    expect(err).toMatch(/d\.json: y\[3\]: label 7 is not an integer in \[0, 2\]/);
    expect(await runWith(modelJson, { x: problem.x.map((r, i) => (i === 2 ? r.slice(1) : r)), y: problem.y })).toBe(1);
    expect(err).toMatch(/x\[2\]: has 5 entries, expected 6/);
    expect(await runWith(modelJson, { x: problem.x })).toBe(1);
    expect(err).toMatch(/d\.json: y: expected \(Array<number> \| Array<Array<number>>\), got nothing \(missing\)/);
    expect(await inspect('--model', modelPath, '--data', write('broken.json', '{"x": ['), '--quantity', 'loss')).toBe(1);
    expect(err).toMatch(/broken\.json: invalid JSON/);
  });

  it('rejects bad usage with exit code 2 and unreadable files with 1', async () => {
    expect(await inspect('--model', modelPath, '--data', dataPath, '--quantity', 'curvature')).toBe(2);
    expect(err).toMatch(/unknown quantity 'curvature'/);
    expect(await inspect('--model', modelPath, '--quantity', 'loss')).toBe(2);
    expect(err).toMatch(/missing --data/);
    expect(await inspect('--model', modelPath, '--data', dataPath, '--quantity', 'kfac', '--bias', 'both')).toBe(2);
    expect(await inspect('--model', join(tmp, 'nope.json'), '--data', dataPath, '--quantity', 'loss')).toBe(1);
    expect(err).toMatch(/nope\.json: cannot read \(ENOENT\)/);
  });

  it('reports an impossible solve as an error, not NaN; a near-singular one with its jitter', async () => {
    // λ = 0: the softmax layer's G is singular (null vector 1), so K-FAC + 0·I cannot be inverted
    expect(await inspect('--model', modelPath, '--data', dataPath, '--quantity', 'natgrad_kfac', '--lambda', '0')).toBe(1);
    expect(err).toMatch(/natgrad_kfac: .*not positive definite.*increase damping/);
    expect(err).not.toMatch(/NaN/);
    // the singular GGN at λ = 0 is factored with reported jitter
    expect(await inspect('--model', modelPath, '--data', dataPath, '--quantity', 'natgrad', '--lambda', '0'), err).toBe(0);
    expect(out).toMatch(/^note: .*jitter/m);
    expect(out).not.toMatch(/NaN/);
  });
});
