/**
 * `geodesic inspect --model M.json --data D.json --quantity Q [--lambda L] [--bias B] [--damping D] [--json]`
 *
 * Computes one curvature-related quantity of a model on a batch, both given as JSON files
 * (formats in docs/formats.md, decoded with io-ts so a malformed file names the offending field),
 * and prints a summary (shape, trace, extreme eigenvalues, condition number, effective rank) or,
 * with --json, one object {"quantity", "shape", "values"} with the full values row-major in
 * geodesic's flat parameter order (DESIGN §3).
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import * as M from '../model/index.js';
import type { Batch, LayerDef, LikelihoodName, ModelDef, Params } from '../model/types.js';
import * as C from '../curvature/index.js';
import { symmetricEigen } from '../solvers/index.js';
import { BACKEND_NAMES, selectBackend, type BackendName } from '../backend/select.js';

// ───────────────────────────── file formats (io-ts) ─────────────────────────────

const ACTIVATIONS = ['tanh', 'relu', 'sigmoid', 'softplus', 'identity'] as const;

const Row = t.array(t.number);
const DenseLayerJson = t.type({ type: t.literal('dense'), weights: t.array(Row), bias: Row });
const ActivationLayerJson = t.type({ type: t.keyof({ tanh: null, relu: null, sigmoid: null, softplus: null, identity: null }) });
const LayerHead = t.type({ type: t.string });
const ModelHead = t.type({
  likelihood: t.keyof({ categorical: null, gaussian: null, bernoulli: null }),
  layers: t.array(t.unknown),
});
const DataJson = t.type({ x: t.array(Row), y: t.union([t.array(t.number), t.array(Row)]) });

export type ModelJson = {
  readonly likelihood: LikelihoodName;
  readonly layers: readonly (t.TypeOf<typeof DenseLayerJson> | t.TypeOf<typeof ActivationLayerJson>)[];
};
export type DataJsonT = t.TypeOf<typeof DataJson>;

const describeValue = (v: unknown): string => {
  if (v === undefined) return 'nothing (missing)';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

const isUnion = (ty: t.Decoder<unknown, unknown> | undefined): boolean => ty instanceof t.UnionType;

/** The field path of an io-ts error ("layers[0].weights[1][2]"), skipping union branch indices,
 * and the name of the outermost type expected at that path (a union names all its branches). */
const locate = (base: string, context: t.Context): { path: string; expected: string } => {
  let p = base;
  let expected = context[0]?.type.name ?? 'a value';
  for (let i = 1; i < context.length; i++) {
    const c = context[i]!;
    if (isUnion(context[i - 1]!.type)) continue;
    p += /^\d+$/.test(c.key) ? `[${c.key}]` : p === '' ? c.key : `.${c.key}`;
    expected = c.type.name;
  }
  return { path: p === '' ? '(top level)' : p, expected };
};

/** io-ts errors → messages "path: expected T, got V" (one per distinct path). */
const report = (base: string, errors: t.Errors): string[] => {
  const seen = new Map<string, string>();
  for (const e of errors) {
    const { path, expected } = locate(base, e.context);
    if (seen.has(path)) continue;
    seen.set(path, `${path}: expected ${expected}, got ${describeValue(e.value)}`);
  }
  return [...seen.values()];
};

const decodeAt = <A>(codec: t.Decoder<unknown, A>, value: unknown, base: string): E.Either<string[], A> =>
  E.mapLeft((errs: t.Errors) => report(base, errs))(codec.decode(value));

/** Decodes the model file and checks its shapes; errors name the field. */
export function decodeModel(json: unknown): E.Either<string[], { def: ModelDef; params: Float64Array }> {
  const head = decodeAt(ModelHead, json, '');
  if (E.isLeft(head)) return head;
  const errors: string[] = [];
  const layers: LayerDef[] = [];
  const flat: number[] = [];
  let width: number | undefined;
  let inputDim: number | undefined;
  head.right.layers.forEach((raw, i) => {
    const base = `layers[${i}]`;
    const h = decodeAt(LayerHead, raw, base);
    if (E.isLeft(h)) return void errors.push(...h.left);
    if (h.right.type === 'dense') {
      const d = decodeAt(DenseLayerJson, raw, base);
      if (E.isLeft(d)) return void errors.push(...d.left);
      const { weights, bias } = d.right;
      const inDim = weights.length;
      const outDim = weights[0]?.length ?? 0;
      if (inDim === 0 || outDim === 0) return void errors.push(`${base}.weights: must be a non-empty [in][out] matrix`);
      const bad = weights.findIndex((r) => r.length !== outDim);
      if (bad >= 0) return void errors.push(`${base}.weights[${bad}]: has ${weights[bad]!.length} entries, expected ${outDim} (rows are [in][out])`);
      if (bias.length !== outDim) return void errors.push(`${base}.bias: has ${bias.length} entries, expected ${outDim} (the layer's output width)`);
      const nonFinite = [...weights.flat(), ...bias].some((v) => !Number.isFinite(v));
      if (nonFinite) return void errors.push(`${base}: weights and bias must be finite numbers`);
      if (width !== undefined && inDim !== width) {
        return void errors.push(`${base}.weights: has ${inDim} rows but the previous layer outputs width ${width}`);
      }
      if (inputDim === undefined) inputDim = inDim;
      width = outDim;
      layers.push({ kind: 'dense', inDim, outDim });
      for (const r of weights) flat.push(...r);
      flat.push(...bias);
    } else if ((ACTIVATIONS as readonly string[]).includes(h.right.type)) {
      if (inputDim === undefined) return void errors.push(`${base}: the first layer must be dense (the input width comes from its weights)`);
      layers.push({ kind: 'activation', fn: h.right.type as (typeof ACTIVATIONS)[number] });
    } else {
      errors.push(`${base}.type: unknown layer type ${JSON.stringify(h.right.type)} (expected "dense" or one of ${ACTIVATIONS.join(', ')})`);
    }
  });
  if (errors.length > 0) return E.left(errors);
  if (inputDim === undefined) return E.left(['layers: the model needs at least one dense layer']);
  const def: ModelDef = { inputDim, layers, likelihood: head.right.likelihood };
  return E.right({ def, params: Float64Array.from(flat) });
}

/** Decodes the data file against a model: x rows of the input width, y by likelihood. */
export function decodeData(json: unknown, def: ModelDef): E.Either<string[], { x: number[][]; y: number[][] }> {
  const d = decodeAt(DataJson, json, '');
  if (E.isLeft(d)) return d;
  const { x, y } = d.right;
  const errors: string[] = [];
  const outDim = M.outputDim(def);
  if (x.length === 0) errors.push('x: the batch is empty');
  x.forEach((r, i) => {
    if (r.length !== def.inputDim) errors.push(`x[${i}]: has ${r.length} entries, expected ${def.inputDim} (the model's input width)`);
    else if (r.some((v) => !Number.isFinite(v))) errors.push(`x[${i}]: entries must be finite numbers`);
  });
  if (y.length !== x.length) errors.push(`y: has ${y.length} entries but x has ${x.length} examples`);
  const rows: number[][] = [];
  y.forEach((v, i) => {
    if (def.likelihood === 'categorical') {
      if (typeof v !== 'number') return void errors.push(`y[${i}]: expected an integer class label (categorical), got a vector`);
      if (!Number.isInteger(v) || v < 0 || v >= outDim) return void errors.push(`y[${i}]: label ${v} is not an integer in [0, ${outDim - 1}]`);
      rows.push(Array.from({ length: outDim }, (_, k) => (k === v ? 1 : 0)));
    } else {
      if (typeof v === 'number') return void errors.push(`y[${i}]: expected a target vector of ${outDim} entries (${def.likelihood}), got a number`);
      if (v.length !== outDim) return void errors.push(`y[${i}]: has ${v.length} entries, expected ${outDim} (the model's output width)`);
      if (v.some((u) => !Number.isFinite(u))) return void errors.push(`y[${i}]: entries must be finite numbers`);
      if (def.likelihood === 'bernoulli' && v.some((u) => u !== 0 && u !== 1)) return void errors.push(`y[${i}]: bernoulli targets must be 0 or 1`);
      rows.push([...v]);
    }
  });
  if (errors.length > 0) return E.left(errors);
  return E.right({ x: x.map((r) => [...r]), y: rows });
}

// ───────────────────────────── quantities ─────────────────────────────

export const QUANTITIES = [
  'loss',
  'grad',
  'per_example_grads',
  'fisher',
  'ggn',
  'empirical_fisher',
  'hessian',
  'ggn_diag',
  'kfac',
  'kfac_empirical',
  'natgrad',
  'natgrad_kfac',
] as const;
export type Quantity = (typeof QUANTITIES)[number];

export interface InspectOptions {
  readonly lambda: number;
  readonly bias: C.BiasMode;
  readonly damping: 'exact' | 'factored';
}

export interface LayerFactorsJson {
  readonly layer: number;
  readonly A: number[][];
  readonly G: number[][];
}

export interface InspectResult {
  readonly quantity: Quantity;
  readonly shape: number[];
  readonly values: Float64Array;
  readonly factors?: readonly LayerFactorsJson[];
  /** Notes for the summary (solver warnings, conventions). */
  readonly notes: readonly string[];
}

/** Largest P for which inspect builds P×P matrices (the curvature engine's own limit is higher). */
export const MAX_DENSE_P = 4096;

export class InspectError extends Error {
  override readonly name = 'InspectError';
}

const host = (p: Params): Float64Array => M.toFloat64(p);

const rowsOf = (A: Float64Array, n: number): number[][] => Array.from({ length: n }, (_, i) => Array.from(A.subarray(i * n, (i + 1) * n)));

const checkDense = (P: number): void => {
  if (P > MAX_DENSE_P) throw new InspectError(`the model has P = ${P} parameters; inspect prints P×P matrices only up to P = ${MAX_DENSE_P}`);
};

/** Uses an operator once and disposes it. */
const using = <A>(op: C.Op, f: (op: C.Op) => A): A => {
  try {
    return f(op);
  } finally {
    op.dispose();
  }
};

/** Solves with an operator and returns the solution on the host, with the solver's report as notes. */
const solveHost = (op: C.Op, g: Params, lambda: number, options: C.SolveOptions, notes: string[]): Float64Array => {
  const { x, report } = op.solve(g, lambda, options);
  const out = host(x);
  tf.dispose(x as tf.Tensor[]);
  notes.push(`solver: ${report.solver}${report.jitter ? `, jitter ${report.jitter}` : ''}`, ...report.warnings);
  return out;
};

/**
 * Computes one quantity through the public engine API (src/model for loss and gradients,
 * src/curvature for every curvature matrix and solve). Leaves no tensors behind.
 */
export function computeQuantity(q: Quantity, def: ModelDef, params: Params, batch: Batch, options: InspectOptions): InspectResult {
  const P = M.numParams(def);
  const N = batch.x.shape[0];
  const notes: string[] = [];
  const ctx = C.createContext(def, params, batch);
  try {
    switch (q) {
      case 'loss': {
        const loss = tf.tidy(() => M.meanLoss(def.likelihood, ctx.forward().output, batch.y));
        const v = loss.dataSync()[0]!;
        loss.dispose();
        return { quantity: q, shape: [], values: Float64Array.of(v), notes };
      }
      case 'grad':
        return { quantity: q, shape: [P], values: host(ctx.gradient()), notes };
      case 'per_example_grads': {
        const fp = ctx.forward();
        const u = M.outputGradient(def.likelihood, fp.output, batch.y);
        const bp = M.backward(def, params, fp, u);
        u.dispose();
        const pe = M.perExampleGrads(def, fp, bp);
        M.disposeBackward(bp);
        const rows = new Float64Array(N * P);
        let off = 0;
        for (const tns of pe) {
          const per = tns.size / N;
          const d = tns.dataSync();
          for (let n = 0; n < N; n++) for (let j = 0; j < per; j++) rows[n * P + off + j] = d[n * per + j]!;
          off += per;
        }
        tf.dispose(pe as tf.Tensor[]);
        return { quantity: q, shape: [N, P], values: rows, notes };
      }
      case 'fisher':
        checkDense(P);
        return { quantity: q, shape: [P, P], values: using(C.fisherExact(ctx), (op) => op.toDense()), notes };
      case 'ggn':
        checkDense(P);
        return { quantity: q, shape: [P, P], values: using(C.ggn(ctx), (op) => op.toDense()), notes };
      case 'empirical_fisher':
        checkDense(P);
        return { quantity: q, shape: [P, P], values: using(C.empiricalFisher(ctx), (op) => op.toDense()), notes };
      case 'hessian':
        checkDense(P);
        return { quantity: q, shape: [P, P], values: using(C.hessian(ctx), (op) => op.toDense()), notes };
      case 'ggn_diag': {
        const d = using(C.structured({ name: 'diag' }, { name: 'ggn' }, ctx), (op) => {
          const ones = M.fromFloat64(def, new Float64Array(P).fill(1));
          const r = op.mv(ones);
          const out = host(r);
          tf.dispose([...ones, ...r]);
          return out;
        });
        return { quantity: q, shape: [P], values: d, notes };
      }
      case 'natgrad': {
        checkDense(P);
        notes.push(`(GGN + λI)⁻¹ g with λ = ${options.lambda}`);
        const x = using(C.structured({ name: 'full' }, { name: 'ggn' }, ctx), (op) =>
          solveHost(op, ctx.gradient(), options.lambda, { solver: 'cholesky' }, notes),
        );
        return { quantity: q, shape: [P], values: x, notes };
      }
      case 'kfac':
      case 'kfac_empirical':
      case 'natgrad_kfac': {
        const empirical = q === 'kfac_empirical';
        const atom: C.AtomSpec = empirical ? { name: 'empirical_fisher' } : { name: 'fisher', sampled: 0 };
        notes.push(`bias ${options.bias}; G ${empirical ? 'empirical (data labels)' : 'exact (expectation over the model, = GGN)'}`);
        const op = C.structured({ name: 'kfac', bias: options.bias }, atom, ctx);
        return using(op, (k) => {
          if (q === 'natgrad_kfac') {
            notes.push(`(K + λI)⁻¹ g with λ = ${options.lambda}, ${options.damping} damping`);
            const x = solveHost(k, ctx.gradient(), options.lambda, { solver: 'kronecker', damping: options.damping }, notes);
            return { quantity: q, shape: [P], values: x, notes };
          }
          checkDense(P);
          const f = C.kfacFactors(ctx, { bias: options.bias, source: empirical ? 'empirical' : 'exact' });
          const factors = f.layers.map((l, i) => ({ layer: i, A: rowsOf(l.A, l.nA), G: rowsOf(l.G, l.nG) }));
          return { quantity: q, shape: [P, P], values: k.toDense(), factors, notes };
        });
      }
    }
  } finally {
    ctx.dispose();
  }
}

// ───────────────────────────── summary ─────────────────────────────

const FLOAT32_EPS = 2 ** -23;

const fmt = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toPrecision(6) : v.toExponential(4));

/** Summary lines: shape and, for a square matrix, trace, extreme eigenvalues, condition number, effective rank. */
export function summarize(r: InspectResult): string[] {
  const lines = [`quantity: ${r.quantity}`, `shape: [${r.shape.join(', ')}]`];
  const v = r.values;
  if (r.shape.length === 0) {
    lines.push(`value: ${fmt(v[0]!)}`);
  } else if (r.shape.length === 1 || r.shape[0] !== r.shape[1]) {
    let ss = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const x of v) {
      ss += x * x;
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    lines.push(`norm: ${fmt(Math.sqrt(ss))}`, `min: ${fmt(min)}`, `max: ${fmt(max)}`);
  } else {
    const n = r.shape[0]!;
    let tr = 0;
    for (let i = 0; i < n; i++) tr += v[i * n + i]!;
    lines.push(`trace: ${fmt(tr)}`);
    const eig = symmetricEigen(v, n);
    if (E.isLeft(eig)) {
      lines.push(`eigenvalues: unavailable (${eig.left.message})`);
    } else {
      const s = eig.right.values;
      const lo = s[0]!;
      const hi = s[n - 1]!;
      const maxAbs = Math.max(Math.abs(lo), Math.abs(hi));
      // the engine computes in float32: eigenvalues within n·ε₃₂·max|λ| of zero are zero
      const tol = n * FLOAT32_EPS * maxAbs;
      lines.push(`eigenvalues: min ${fmt(lo)}, max ${fmt(hi)}`);
      if (lo < -tol) lines.push(`condition number: undefined (indefinite: ${s.filter((x) => x < -tol).length} negative eigenvalues)`);
      else if (lo <= tol) lines.push('condition number: ∞ (singular to working precision)');
      else lines.push(`condition number: ${fmt(hi / lo)}`);
      // effective rank (Roy & Vetterli 2007): exp of the entropy of |λᵢ| / Σ|λⱼ|
      let sum = 0;
      for (const x of s) sum += Math.abs(x);
      let h = 0;
      for (const x of s) {
        const p = Math.abs(x) / sum;
        if (p > 0) h -= p * Math.log(p);
      }
      const numRank = s.filter((x) => Math.abs(x) > tol).length;
      lines.push(`effective rank: ${sum > 0 ? fmt(Math.exp(h)) : '0'} (numerical rank ${numRank} of ${n})`);
    }
  }
  if (r.factors) {
    for (const f of r.factors) lines.push(`layer ${f.layer} factors: A ${f.A.length}×${f.A.length}, G ${f.G.length}×${f.G.length}`);
  }
  for (const note of r.notes) lines.push(`note: ${note}`);
  return lines;
}

export function toJson(r: InspectResult): string {
  const obj: Record<string, unknown> = { quantity: r.quantity, shape: r.shape, values: Array.from(r.values) };
  if (r.factors) obj.factors = r.factors;
  return JSON.stringify(obj);
}

// ───────────────────────────── command line ─────────────────────────────

export const summary = 'compute loss, gradients, GGN/Fisher/Hessian, K-FAC and natural gradients of a model on a batch';

const USAGE =
  'usage: geodesic inspect --model M.json --data D.json --quantity Q [--lambda L] [--bias separate|homogeneous] ' +
  '[--damping exact|factored] [--backend cpu|auto|native|wasm|tensorflow] [--json]\n  Q: ' +
  QUANTITIES.join(', ');

interface Args {
  model: string;
  data: string;
  quantity: Quantity;
  json: boolean;
  backend: BackendName;
  options: InspectOptions;
}

export function parseArgs(argv: readonly string[]): E.Either<string, Args> {
  const values: Record<string, string> = {};
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') {
      json = true;
      continue;
    }
    const m = /^--(model|data|quantity|lambda|bias|damping|backend)(?:=(.*))?$/.exec(a);
    if (!m) return E.left(`unknown argument '${a}'`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) return E.left(`--${m[1]} needs a value`);
    values[m[1]!] = value;
  }
  for (const req of ['model', 'data', 'quantity']) if (values[req] === undefined) return E.left(`missing --${req}`);
  const q = values.quantity!;
  if (!(QUANTITIES as readonly string[]).includes(q)) return E.left(`unknown quantity '${q}' (expected one of ${QUANTITIES.join(', ')})`);
  const lambda = values.lambda === undefined ? 1e-3 : Number(values.lambda);
  if (!Number.isFinite(lambda) || lambda < 0) return E.left(`--lambda must be a finite number ≥ 0, got '${values.lambda}'`);
  const bias = values.bias ?? 'homogeneous';
  if (bias !== 'separate' && bias !== 'homogeneous') return E.left(`--bias must be 'separate' or 'homogeneous', got '${bias}'`);
  const damping = values.damping ?? 'exact';
  if (damping !== 'exact' && damping !== 'factored') return E.left(`--damping must be 'exact' or 'factored', got '${damping}'`);
  // cpu (tfjs's numerical oracle) by default: inspect is for looking closely at small models
  const backend = (values.backend ?? 'cpu') as BackendName;
  if (!BACKEND_NAMES.includes(backend)) return E.left(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got '${backend}'`);
  return E.right({ model: values.model!, data: values.data!, quantity: q as Quantity, json, backend, options: { lambda, bias, damping } });
}

const readJson = async (path: string): Promise<E.Either<string, unknown>> => {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return E.left(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return E.right(JSON.parse(text));
  } catch (e) {
    return E.left(`${path}: invalid JSON (${(e as Error).message})`);
  }
};

const fail = (msg: string, code: number): number => {
  process.stderr.write(`geodesic inspect: ${msg}\n`);
  return code;
};

const fileErrors = (path: string, errors: readonly string[]): string =>
  `${path}: ${errors[0]}${errors.length > 1 ? ` (and ${errors.length - 1} more: ${errors.slice(1, 4).join('; ')}${errors.length > 4 ? '; …' : ''})` : ''}`;

/** Entry point: returns the exit code (0 ok, 1 bad input or failed computation, 2 usage). */
export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const args = parseArgs(argv);
  if (E.isLeft(args)) return fail(`${args.left}\n${USAGE}`, 2);
  const { model, data, quantity, json, backend, options } = args.right;
  const mj = await readJson(model);
  if (E.isLeft(mj)) return fail(mj.left, 1);
  const m = decodeModel(mj.right);
  if (E.isLeft(m)) return fail(fileErrors(model, m.left), 1);
  const dj = await readJson(data);
  if (E.isLeft(dj)) return fail(dj.left, 1);
  const d = decodeData(dj.right, m.right.def);
  if (E.isLeft(d)) return fail(fileErrors(data, d.left), 1);
  const { def } = m.right;
  try {
    await selectBackend(backend);
  } catch (e) {
    return fail(`backend: ${e instanceof Error ? e.message : String(e)}`, 1);
  }
  const params = M.fromFloat64(def, m.right.params);
  const batch: Batch = { x: tf.tensor2d(d.right.x), y: tf.tensor2d(d.right.y) };
  try {
    const r = computeQuantity(quantity, def, params, batch, options);
    process.stdout.write(json ? `${toJson(r)}\n` : `${summarize(r).join('\n')}\n`);
    return 0;
  } catch (e) {
    return fail(`${quantity}: ${e instanceof Error ? e.message : String(e)}`, 1);
  } finally {
    tf.dispose([...params, batch.x, batch.y]);
  }
}
