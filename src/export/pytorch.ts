/**
 * `exportPytorch(spec, …)`: a checked optimizer spec → one self-contained PyTorch module (text).
 *
 * The module is the spec's plan as a Python `CONFIG` (every number a named, overridable
 * hyper-parameter) followed by a fixed engine (runtime.ts) that transcribes geodesic's semantics:
 * the step order of src/optim/compile.ts, the estimators of src/curvature, damping, step rules,
 * momentum and averaging. Parts of a spec the engine does not cover are refused up front, all at
 * once, each with its location — never exported as a silently different optimizer.
 * Pure: no tfjs, no I/O.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Curvature, OptimizerSpec, Span } from '../language/spec.js';
import { error, type Diagnostic } from '../language/diagnostics.js';
import { plan, type Plan } from '../optim/plan.js';
import type { ScheduleSpec } from '../optim/schedules.js';
import { RUNTIME_PY } from './runtime.js';
import { Hyper, py, type PyValue } from './python.js';

export interface ExportInput {
  readonly optimizer: OptimizerSpec;
  /** The text of every spec file involved (the file and its imports), for the header comment. */
  readonly sources: readonly { readonly file: string; readonly text: string }[];
  readonly version: string;
}

const EXPORTABLE_ATOMS = ['fisher', 'empirical_fisher', 'ggn'] as const;

type Family = 'diag' | 'kron';

interface Translation {
  readonly node: PyValue;
  readonly family: Family;
}

/** Translates the curvature, collecting every unexportable part with its span. */
class CurvatureTranslator {
  readonly problems: Diagnostic[] = [];
  private nextId = 0;
  layerStatistics = false;
  usesFisherAtoms = false;
  constructor(private readonly hyper: Hyper) {}

  private refuse(span: Span, what: string): undefined {
    this.problems.push(error(span, `export --target pytorch: ${what}`));
    return undefined;
  }

  translate(c: Curvature, path: string): Translation | undefined {
    switch (c._tag) {
      case 'Atom':
        if (c.name === 'identity') return { node: { op: 'identity' }, family: 'diag' };
        if (c.name === 'lbfgs') return this.refuse(c.span, 'lbfgs(memory) (two-loop recursion over secant pairs) is not exported');
        return this.refuse(
          c.span,
          `the matrix-free curvature ${c.name}(…) (products only, solved by conjugate gradient) is not exported; wrap it in diag(·), kfac(·) or ekfac(·)`,
        );
      case 'Structure':
        return this.structure(c, path, undefined);
      case 'Transform': {
        if (c.name === 'sqrt') {
          const inner = this.translate(c.of, path);
          return inner && this.power(inner, 0.5, c.span, path, true);
        }
        if (c.of._tag !== 'Structure') {
          return this.refuse(c.span, `${c.name}(…) averages a structured estimate (diag, kfac, ekfac); here it wraps a ${c.of._tag.toLowerCase()}`);
        }
        return this.structure(c.of, path, c);
      }
      case 'Scale': {
        const inner = this.translate(c.of, path);
        if (inner === undefined) return undefined;
        if (inner.family === 'kron' && !(c.factor > 0)) return this.refuse(c.span, 'a Kronecker-factored curvature can only be scaled by a positive number');
        return { node: { op: 'scale', factor: this.hyper.add(`${path}_scale`, c.factor, 'float'), of: inner.node }, family: inner.family };
      }
      case 'Power': {
        const inner = this.translate(c.of, path);
        return inner && this.power(inner, c.exponent, c.span, path, false);
      }
      case 'Sum': {
        const terms = c.terms.map((t) => this.translate(t, path));
        if (terms.some((t) => t === undefined)) return undefined;
        if (terms.some((t) => t!.family === 'kron')) {
          return this.refuse(c.span, 'a sum with a Kronecker-factored term is a matrix-free sum (solved by conjugate gradient in geodesic); not exported');
        }
        return { node: { op: 'sum', terms: terms.map((t) => t!.node) }, family: 'diag' };
      }
    }
  }

  private power(inner: Translation, p: number, span: Span, path: string, isSqrt: boolean): Translation {
    const exponent = isSqrt ? 0.5 : this.hyper.add(`${path}_power`, p, 'float');
    return { node: { op: 'power', p: exponent, of: inner.node }, family: inner.family };
  }

  private structure(s: Extract<Curvature, { _tag: 'Structure' }>, path: string, average: Extract<Curvature, { _tag: 'Transform' }> | undefined): Translation | undefined {
    if (s.name !== 'diag' && s.name !== 'kfac' && s.name !== 'ekfac') {
      const why =
        s.name === 'lowrank'
          ? 'lowrank(·) (low-rank plus diagonal, Woodbury solves) is not exported'
          : `${s.name}(·) (an explicit dense ${s.name === 'full' ? 'P×P matrix' : 'block per layer'}) is not exported; use diag(·), kfac(·) or ekfac(·)`;
      return this.refuse(s.span, why);
    }
    const atom = s.of;
    if (atom._tag !== 'Atom') return this.refuse(atom.span, `${s.name}(…) must wrap a curvature atom`);
    const kron = s.name !== 'diag';
    const allowed: readonly string[] = kron ? EXPORTABLE_ATOMS : [...EXPORTABLE_ATOMS, 'outer'];
    if (!allowed.includes(atom.name)) {
      return this.refuse(
        atom.span,
        `${s.name}(${atom.name}${atom.name === 'outer' ? '(gradient)' : ''}) is not exported (supported: ${allowed.map((a) => (a === 'outer' ? 'outer(gradient)' : a)).join(', ')})`,
      );
    }
    const id = `c${this.nextId++}`;
    const atomNode: Record<string, PyValue> = { name: atom.name };
    if (atom.name === 'fisher') {
      const k = atom.args['sampled'];
      atomNode['sampled'] = typeof k === 'number' && k > 0 ? this.hyper.add(`${path}_sampled`, k, 'int') : 0;
    }
    if (atom.name !== 'outer') this.layerStatistics = true;
    if (atom.name === 'fisher' || atom.name === 'ggn') this.usesFisherAtoms = true;
    let avg: PyValue = null;
    if (average !== undefined) {
      if (average.name === 'ema') {
        avg = {
          kind: 'ema',
          decay: this.hyper.add(`${path}_ema_decay`, Number(average.args['decay']), 'float'),
          debias: average.args['debias'] === true,
        };
      } else if (average.name === 'sum') {
        if (s.name === 'ekfac') return this.refuse(average.span, 'sum(…) of an ekfac estimate is not defined (geodesic averages ekfac by ema only)');
        avg = { kind: 'sum', init: this.hyper.add(`${path}_sum_init`, Number(average.args['init'] ?? 0), 'float') };
      }
    }
    const node: Record<string, PyValue> = { op: 'estimate', id, structure: s.name, atom: atomNode, average: avg };
    if (kron) node['bias'] = String(s.args['bias'] ?? 'homogeneous');
    return { node, family: kron ? 'kron' : 'diag' };
  }
}

function schedule(h: Hyper, name: string, s: ScheduleSpec): PyValue {
  switch (s._tag) {
    case 'constant':
      return { kind: 'constant', value: h.add(name, s.value, 'float') };
    case 'step':
      return { kind: 'step', initial: h.add(`${name}_initial`, s.initial, 'float'), factor: h.add(`${name}_factor`, s.factor, 'float'), every: h.add(`${name}_every`, s.every, 'float') };
    case 'exponential':
      return { kind: 'exponential', initial: h.add(`${name}_initial`, s.initial, 'float'), rate: h.add(`${name}_decay`, s.rate, 'float'), every: h.add(`${name}_every`, s.every, 'float') };
    case 'inverse_time':
      return { kind: 'inverse_time', initial: h.add(`${name}_initial`, s.initial, 'float'), decay: h.add(`${name}_decay`, s.decay, 'float'), every: h.add(`${name}_every`, s.every, 'float') };
    case 'cosine':
      return { kind: 'cosine', initial: h.add(`${name}_initial`, s.initial, 'float'), steps: h.add(`${name}_steps`, s.steps, 'float'), final: h.add(`${name}_final`, s.final, 'float') };
  }
}

function configOf(p: Plan, spec: OptimizerSpec, h: Hyper, t: CurvatureTranslator): Record<string, PyValue> | undefined {
  const curvature = p.preconditioned ? t.translate(spec.curvature, 'curvature') : undefined;
  const problems = t.problems;
  const refuse = (span: Span, what: string) => problems.push(error(span, `export --target pytorch: ${what}`));
  if (curvature !== undefined) {
    const okSolvers = curvature.family === 'kron' ? ['auto', 'kronecker'] : ['auto', 'cholesky', 'eigen'];
    if (!okSolvers.includes(spec.solver.name)) {
      refuse(spec.solver.span, `solver = ${spec.solver.name} is not exported for a ${curvature.family === 'kron' ? 'Kronecker-factored' : 'diagonal'} curvature (exported: ${okSolvers.join(', ')})`);
    }
  }
  if (p.damping._tag === 'factored') {
    const kfacOnly = curvature !== undefined && curvature.family === 'kron' && !/ekfac/.test(JSON.stringify(curvature.node));
    if (!kfacOnly) refuse(spec.damping.span, 'factored(λ) damping needs K-FAC factors (kfac(·)); geodesic refuses it for this curvature too');
  }
  if (p.solver === 'cg' && curvature !== undefined && spec.solver.name === 'auto') {
    refuse(spec.solver.span, 'auto chose conjugate gradient for this curvature; CG solves are not exported');
  }
  if (problems.length > 0) return undefined;
  const damping: PyValue = ((): PyValue => {
    const d = p.damping;
    switch (d._tag) {
      case 'none':
        return { kind: 'none' };
      case 'tikhonov':
      case 'factored':
        return { kind: d._tag, lambda: schedule(h, 'damping_lambda', d.lambda) };
      case 'levenberg_marquardt':
        return {
          kind: 'levenberg_marquardt',
          initial: h.add('damping_initial', d.initial, 'float'),
          decrease: h.add('damping_decrease', d.decrease, 'float'),
          increase: h.add('damping_increase', d.increase, 'float'),
          every: h.add('damping_every', d.every, 'int'),
          lower: h.add('damping_lower', d.lower, 'float'),
          upper: h.add('damping_upper', d.upper, 'float'),
        };
    }
  })();
  const step: PyValue = ((): PyValue => {
    const s = p.step;
    switch (s._tag) {
      case 'lr':
        return { kind: 'lr', eta: schedule(h, 'step_eta', s.eta) };
      case 'kl':
        return { kind: 'kl', epsilon: schedule(h, 'step_epsilon', s.epsilon) };
      case 'kl_trust':
        return { kind: 'kl_trust', radius: schedule(h, 'step_radius', s.radius), eta: schedule(h, 'step_lr', s.eta) };
      case 'line_search':
        return {
          kind: 'line_search',
          initial: h.add('step_initial', s.initial, 'float'),
          c: h.add('step_c1', s.c, 'float'),
          shrink: h.add('step_shrink', s.shrink, 'float'),
          max_iters: h.add('step_max_iters', s.maxIters, 'int'),
        };
      case 'quadratic_model':
        return { kind: 'quadratic_model' };
    }
  })();
  const momentum: PyValue = ((): PyValue => {
    const m = p.momentum;
    if (m._tag === 'heavy_ball' || m._tag === 'nesterov') return { kind: m._tag, mu: schedule(h, 'momentum_mu', m.mu) };
    return { kind: m._tag };
  })();
  const averaging: PyValue = ((): PyValue => {
    const a = p.averaging;
    if (a._tag === 'polyak') return { kind: 'polyak', from: h.add('averaging_from', a.from, 'int') };
    if (a._tag === 'ema') return { kind: 'ema', decay: h.add('averaging_decay', a.decay, 'float') };
    return { kind: 'none' };
  })();
  const gradient: PyValue[] = p.gradient.map((g): PyValue => {
    switch (g._tag) {
      case 'weight_decay':
        return { kind: 'weight_decay', lambda: schedule(h, 'gradient_weight_decay_lambda', g.lambda) };
      case 'clip':
        return { kind: 'clip', norm: h.add('gradient_clip_norm', g.norm, 'float') };
      case 'ema':
        return { kind: 'ema', decay: h.add('gradient_ema_decay', g.decay, 'float'), debias: g.debias };
    }
  });
  return {
    name: p.name,
    curvature: curvature?.node ?? null,
    family: curvature?.family ?? null,
    layer_statistics: t.layerStatistics,
    needs_likelihood: t.usesFisherAtoms || p.needsQuadraticModel,
    estimate_every: h.add('estimate_n', p.estimateEvery, 'int'),
    refresh_every: h.add('refresh_n', p.refreshEvery, 'int'),
    damping,
    step,
    momentum,
    averaging,
    gradient,
    max_failures: h.add('on_nonfinite_max_failures', p.maxFailures, 'int'),
  };
}

const commentBlock = (text: string): string =>
  text
    .replace(/\s+$/, '')
    .split('\n')
    .map((l) => (l.length > 0 ? `#   ${l}` : '#'))
    .join('\n');

/** The PyTorch module for one optimizer, or every reason it cannot be exported (located). */
export function exportPytorch(input: ExportInput): E.Either<readonly Diagnostic[], string> {
  const spec = input.optimizer;
  const planned = plan(spec);
  if (E.isLeft(planned)) return E.left([error(planned.left.span ?? spec.span, planned.left.message)]);
  const h = new Hyper();
  const t = new CurvatureTranslator(h);
  const config = configOf(planned.right, spec, h, t);
  if (config === undefined) return E.left(t.problems);
  const header = [
    `# ${spec.name}${spec.title === undefined ? '' : ` — ${spec.title}`}: a geodesic optimizer spec exported to PyTorch.`,
    `# Generated by geodesic ${input.version} (\`geodesic export --target pytorch\`); edit the spec, not this file.`,
    '#',
    '# The spec:',
    ...input.sources.map((s) => `#\n# ${s.file}\n${commentBlock(s.text)}`),
    '#',
    '# The plan (defaults resolved, as `geodesic explain` prints them):',
    ...planned.right.decisions.map((d) => `#   ${d.clause}: ${d.choice}`),
  ].join('\n');
  const doc = [
    '"""',
    `${spec.name}: geodesic spec exported for PyTorch (torch.distributed-ready, no geodesic runtime).`,
    '',
    '    opt = make_optimizer(model, loss_fn, **overrides)   # overrides: names in HYPERPARAMETERS',
    '    loss = opt.step(x, y)                               # one whole step; the loss before it',
    '    opt.state_dict() / opt.load_state_dict(state)       # every piece of optimizer state',
    '    opt.evaluation_parameters()                         # the averaged iterate when the spec averages',
    '',
    'Under torch.distributed (DDP or not), gradients are averaged over the ranks, curvature statistics',
    'all-reduced at estimate steps and the refresh decompositions spread over the ranks (opt.work counts',
    "this rank's); every rank must see an equal share of each global batch. See geodesic's docs/export.md.",
    '"""',
  ].join('\n');
  const body = [
    header,
    doc,
    `GEODESIC_VERSION = ${py(input.version)}`,
    `OPTIMIZER = ${py(spec.name)}`,
    '',
    '# Every numeric argument of the spec, by name: make_optimizer(model, loss_fn, NAME=value) replaces it.',
    `HYPERPARAMETERS = ${h.render()}`,
    '',
    '',
    'def _config(h):',
    '    """The plan of the spec, with its numbers taken from h (HYPERPARAMETERS plus overrides)."""',
    `    return ${py(config, 4)}`,
    '',
    '',
    RUNTIME_PY,
  ].join('\n');
  return E.right(body.endsWith('\n') ? body : `${body}\n`);
}
