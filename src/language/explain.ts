/**
 * What a checked optimizer computes, in plain mathematical text: the update rule step by step, the
 * meaning of each symbol (from the registry), every clause with its defaults resolved, and the
 * solver `auto` will choose and why. Pure: Spec in, text out.
 */
import { findComponent, formatNumber, mustFind, type Kind } from './registry.js';
import type { ArgValue, Component, Curvature, OptimizerSpec } from './spec.js';
import { chooseSolver, classDescription, matrixClass } from './structure.js';

const subscriptDigits = '₀₁₂₃₄₅₆₇₈₉';
const subscript = (n: number): string =>
  Number.isInteger(n) && n >= 0 ? String(n).replace(/[0-9]/g, (d) => subscriptDigits[Number(d)]!) : `_${n}`;

function argText(v: ArgValue): string {
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return `"${v}"`;
  return componentText(v);
}

/** A component with every argument written out, e.g. `tikhonov(lambda: 0.001)`. */
export function componentText(c: Component): string {
  const args = Object.entries(c.args);
  if (args.length === 0) return c.name;
  return `${c.name}(${args.map(([k, v]) => `${k}: ${argText(v)}`).join(', ')})`;
}

/** A curvature with every argument written out, in the language's own syntax. */
export function curvatureText(c: Curvature): string {
  const withArgs = (head: string, args: Readonly<Record<string, ArgValue>>): string => {
    const list = Object.entries(args).map(([k, v]) => `${k}: ${argText(v)}`);
    return list.length === 0 ? head : `${head}, ${list.join(', ')}`;
  };
  switch (c._tag) {
    case 'Atom': {
      if (c.name === 'fisher') return c.args['sampled'] === 0 ? 'fisher(exact)' : `fisher(sampled: ${argText(c.args['sampled']!)})`;
      const list = Object.entries(c.args).map(([k, v]) => (c.name === 'outer' ? String(v) : `${k}: ${argText(v)}`));
      return list.length === 0 ? c.name : `${c.name}(${list.join(', ')})`;
    }
    case 'Structure':
      return `${c.name}(${withArgs(curvatureText(c.of), c.args)})`;
    case 'Transform': {
      const list = Object.entries(c.args).map(([k, v]) => `${k}: ${argText(v)}`);
      const inner = c.of._tag === 'Sum' || c.of._tag === 'Scale' || c.of._tag === 'Power' ? `(${curvatureText(c.of)})` : curvatureText(c.of);
      return `${inner} |> ${c.name}${list.length === 0 ? '' : `(${list.join(', ')})`}`;
    }
    case 'Sum':
      return c.terms.map(curvatureText).join(' + ');
    case 'Scale': {
      const inner = c.of._tag === 'Sum' ? `(${curvatureText(c.of)})` : curvatureText(c.of);
      return `${formatNumber(c.factor)} * ${inner}`;
    }
    case 'Power': {
      const inner = c.of._tag === 'Atom' || c.of._tag === 'Structure' ? curvatureText(c.of) : `(${curvatureText(c.of)})`;
      return `${inner} ^ ${formatNumber(c.exponent)}`;
    }
  }
}

/** The curvature as a formula, e.g. `√(EMA₀.₉₉₉[diag(g gᵀ)] / (1 − 0.999ᵗ))`. */
export function curvatureMath(c: Curvature): string {
  switch (c._tag) {
    case 'Atom':
      switch (c.name) {
        case 'identity':
          return 'I';
        case 'fisher':
          return c.args['sampled'] === 0 ? 'F' : `F̂${subscript(c.args['sampled'] as number)}`;
        case 'empirical_fisher':
          return 'F_emp';
        case 'outer':
          return 'g gᵀ';
        case 'ggn':
          return 'G';
        case 'hessian':
          return 'H';
        case 'gradient_covariance':
          return c.args['centered'] === false ? 'E[gᵢgᵢᵀ]' : 'Cov(gᵢ)';
        case 'lbfgs':
          return `B_lbfgs(m=${argText(c.args['memory']!)})`;
      }
    case 'Structure': {
      const inner = curvatureMath(c.of);
      switch (c.name) {
        case 'full':
          return `full(${inner})`;
        case 'block_diag':
          return `blockdiag(${inner})`;
        case 'diag':
          return `diag(${inner})`;
        case 'kfac':
          return `⊕ₗ Aₗ⊗Gₗ[${inner}]`;
        case 'ekfac':
          return `ekfac[${inner}]`;
        case 'lowrank':
          return `lowrank${subscript(c.args['rank'] as number)}(${inner})`;
      }
    }
    case 'Transform': {
      const inner = curvatureMath(c.of);
      if (c.name === 'sqrt') return `(${inner})^½`;
      if (c.name === 'sum') {
        const init = c.args['init'] as number;
        return `Σ_{s≤t} ${inner}${init === 0 ? '' : ` + ${formatNumber(init)}·I`}`;
      }
      const decay = formatNumber(c.args['decay'] as number);
      const avg = `EMA_${decay}[${inner}]`;
      return c.args['debias'] === true ? `${avg} / (1 − ${decay}ᵗ)` : avg;
    }
    case 'Sum':
      return c.terms.map(curvatureMath).join(' + ');
    case 'Scale':
      return `${formatNumber(c.factor)}·${c.of._tag === 'Sum' ? `(${curvatureMath(c.of)})` : curvatureMath(c.of)}`;
    case 'Power':
      return `(${curvatureMath(c.of)})^${formatNumber(c.exponent)}`;
  }
}

function curvatureParts(c: Curvature, out: Map<string, string>): void {
  const add = (kind: Kind, name: string): void => {
    const spec = findComponent([kind], name);
    if (spec !== undefined) out.set(`${name}`, `${spec.doc}: ${spec.math}  [${spec.reference}]`);
  };
  switch (c._tag) {
    case 'Atom':
      return add('atom', c.name);
    case 'Structure':
      add('structure', c.name);
      return curvatureParts(c.of, out);
    case 'Transform':
      add('transform', c.name);
      return curvatureParts(c.of, out);
    case 'Sum':
      return c.terms.forEach((t) => curvatureParts(t, out));
    default:
      return curvatureParts(c.of, out);
  }
}

const hyper = (v: ArgValue | undefined): string => (v === undefined ? '?' : argText(v));

/** The gradient chain; after the first ema the direction's input is ĝ, while curvature atoms such
 * as outer(gradient) keep seeing g (the gradient before any ema). */
function gradientLines(o: OptimizerSpec): { readonly lines: string[]; readonly symbol: string } {
  const lines = ['g ← ∇L(θ) on the minibatch'];
  let v = 'g';
  for (const c of o.gradient) {
    switch (c.name) {
      case 'weight_decay':
        lines.push(`${v} ← ${v} + ${hyper(c.args['lambda'])}·θ  (weight decay)`);
        break;
      case 'clip':
        lines.push(`${v} ← ${v} · min(1, ${hyper(c.args['norm'])} / ‖${v}‖)  (clipping)`);
        break;
      case 'ema': {
        const b = hyper(c.args['decay']);
        lines.push(`m ← ${b}·m + (1 − ${b})·${v}  (m₀ = 0);  ĝ = ${c.args['debias'] === true ? `m / (1 − ${b}ᵗ)` : 'm'}`);
        v = 'ĝ';
        break;
      }
      default:
        lines.push(`${v} ← ${componentText(c)}(${v})`);
    }
  }
  return { lines, symbol: v };
}

function dampingLine(d: Component): string {
  switch (d.name) {
    case 'none':
      return 'λ = 0';
    case 'tikhonov':
      return `λ = ${hyper(d.args['lambda'])}`;
    case 'factored':
      return `λ = ${hyper(d.args['lambda'])}, split per layer as (A + π√λ I) ⊗ (G + (√λ/π) I), π² = (tr A/dim A)/(tr G/dim G)`;
    case 'levenberg_marquardt':
      return (
        `λ₀ = ${hyper(d.args['initial'])}; every ${hyper(d.args['every'])} step(s): ρ = (L(θ+Δ) − L(θ)) / (q(Δ) − q(0)); ` +
        `λ ← ${hyper(d.args['decrease'])}·λ if ρ > ${hyper(d.args['upper'])}, λ ← ${hyper(d.args['increase'])}·λ if ρ < ${hyper(d.args['lower'])}`
      );
    default:
      return componentText(d);
  }
}

function stepLine(s: Component): string {
  switch (s.name) {
    case 'lr':
      return `Δ = −η d,  η = ${hyper(s.args['eta'])}`;
    case 'kl':
      return `Δ = −α d,  α = √(2ε / dᵀ(C+λI)d),  ε = ${hyper(s.args['epsilon'])}  (every step has KL ½ΔᵀFΔ = ε)`;
    case 'kl_trust':
      return `Δ = −α d,  α = min(η, √(2r / dᵀ(C+λI)d)),  η = ${hyper(s.args['lr'])}, r = ${hyper(s.args['radius'])}  (KL ½ΔᵀFΔ ≤ r)`;
    case 'line_search':
      return (
        `Δ = −α d,  α = ${hyper(s.args['initial'])}·${hyper(s.args['shrink'])}ᵏ for the smallest k ≤ ${hyper(s.args['max_iters'])} ` +
        `with L(θ − αd) ≤ L(θ) − ${hyper(s.args['c1'])}·α·gᵀd (Armijo)`
      );
    case 'quadratic_model':
      return 'Δ = −α d,  α = gᵀd / dᵀ(C̄ + λI)d  (minimizer of the quadratic model along d; C̄ the unstructured curvature)';
    default:
      return componentText(s);
  }
}

function momentumLines(m: Component, s: Component): string[] {
  const lrStep = s.name === 'lr';
  switch (m.name) {
    case 'none':
      return ['θ ← θ + Δ'];
    case 'heavy_ball':
      return lrStep
        ? [`v ← μ v + d,  μ = ${hyper(m.args['mu'])}  (v₀ = 0)`, 'θ ← θ − η v']
        : [`v ← μ v + Δ,  μ = ${hyper(m.args['mu'])}  (v₀ = 0)`, 'θ ← θ + v'];
    case 'nesterov':
      return lrStep
        ? [`v ← μ v + d,  μ = ${hyper(m.args['mu'])}  (v₀ = 0)`, 'θ ← θ − η (d + μ v)']
        : [`v ← μ v + Δ,  μ = ${hyper(m.args['mu'])}  (v₀ = 0)`, 'θ ← θ + Δ + μ v'];
    case 'quadratic_model':
      return ['(α, μ) = argmin q(α Δ + μ δ),  δ the previous update (K-FAC)', 'δ ← α Δ + μ δ;  θ ← θ + δ'];
    default:
      return [componentText(m)];
  }
}

function averagingLine(a: Component): string {
  switch (a.name) {
    case 'none':
      return 'evaluated parameters: θ (the last iterate)';
    case 'polyak':
      return `evaluated parameters: θ̄ = mean of θ_t over t ≥ ${hyper(a.args['from'])}`;
    case 'ema': {
      const b = hyper(a.args['decay']);
      return `evaluated parameters: θ̄ ← ${b}·θ̄ + (1 − ${b})·θ`;
    }
    default:
      return componentText(a);
  }
}

const every = (c: Component): number => c.args['n'] as number;
const cadence = (n: number, what: string): string => (n === 1 ? `${what} every step` : `${what} every ${n} steps`);

/** Whether a clause value came from the registry's defaults (check gives defaults the span of the
 * block header, which no written value can have). */
const isDefault = (o: OptimizerSpec, s: { readonly span: OptimizerSpec['span'] }): boolean =>
  s.span.file === o.span.file && s.span.start === o.span.start && s.span.end === o.span.end;

/** The explanation of one optimizer; clauses left at their defaults are marked with `*`. */
export function explain(o: OptimizerSpec): string {
  const choice = chooseSolver(o.curvature);
  const solverName = o.solver.name === 'auto' ? choice.solver : o.solver.name;
  const solverDetail = o.solver.name === 'auto' ? `auto → ${choice.solver}` : componentText(o.solver);
  const lines: string[] = [];
  lines.push(`optimizer ${o.name}${o.title === undefined ? '' : ` — ${o.title}`}`);
  lines.push(`  defined at ${o.span.file}:${o.span.line}:${o.span.column}`);
  lines.push('', 'update rule, at every step t:');
  const gradient = gradientLines(o);
  const g = gradient.symbol;
  const rule: string[] = [...gradient.lines];
  const identityOnly = o.curvature._tag === 'Atom' && o.curvature.name === 'identity';
  rule.push(`C = ${curvatureMath(o.curvature)}  (${cadence(every(o.estimate), 're-estimated')})`);
  rule.push(dampingLine(o.damping));
  if (o.curvature._tag === 'Atom' && o.curvature.name === 'lbfgs') rule.push(`d = H_m ${g}  by the L-BFGS two-loop recursion over the last m (s, y) pairs`);
  else rule.push(`d = (C + λI)⁻¹ ${g}  (${solverDetail}; ${cadence(every(o.refresh), 'decomposition refreshed')})${identityOnly && o.damping.name === 'none' ? `  — here d = ${g}` : ''}`);
  rule.push(stepLine(o.step));
  rule.push(...momentumLines(o.momentum, o.step));
  rule.push(averagingLine(o.averaging));
  lines.push(...rule.map((l) => `  ${l}`));
  const reject = o.onNonFinite;
  lines.push(`  a step with a NaN/Inf loss, gradient or update is rejected; after ${hyper(reject.args['max_failures'])} in a row the run stops`);

  const parts = new Map<string, string>();
  curvatureParts(o.curvature, parts);
  if (parts.size > 0) {
    lines.push('', 'where:');
    for (const [name, text] of parts) lines.push(`  ${name}: ${text}`);
  }

  lines.push('', `solver: ${solverName}`);
  lines.push(`  the curvature is ${classDescription[matrixClass(o.curvature)]}`);
  if (o.solver.name === 'auto') lines.push(`  auto chooses ${choice.solver}: ${choice.reason}`);
  else lines.push(`  chosen explicitly (auto would choose ${choice.solver}: ${choice.reason})`);
  lines.push(`  stored between refreshes: ${choice.storage}`);

  lines.push('', 'clauses (* = default):');
  const rows: [string, string, boolean][] = [
    ['curvature', curvatureText(o.curvature), isDefault(o, o.curvature)],
    ['estimate', componentText(o.estimate), isDefault(o, o.estimate)],
    ['refresh', componentText(o.refresh), isDefault(o, o.refresh)],
    ['damping', componentText(o.damping), isDefault(o, o.damping)],
    ['solver', componentText(o.solver), isDefault(o, o.solver)],
    ['step', componentText(o.step), isDefault(o, o.step)],
    ['momentum', componentText(o.momentum), isDefault(o, o.momentum)],
    ['averaging', componentText(o.averaging), isDefault(o, o.averaging)],
    ['gradient', o.gradient.length === 0 ? 'minibatch' : o.gradient.map(componentText).join(' |> '), o.gradient.length === 0],
    ['on_nonfinite', componentText(o.onNonFinite), isDefault(o, o.onNonFinite)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v, d] of rows) lines.push(`  ${k.padEnd(width)}${d ? ' *' : '  '} = ${v}`);
  return `${lines.join('\n')}\n`;
}

/** The registry entry of a component (for callers that want its doc or reference). */
export const describeComponent = (kind: Kind, name: string): string => {
  const c = mustFind(kind, name);
  return `${c.name}: ${c.doc} — ${c.math}${c.reference === '' ? '' : ` [${c.reference}]`}`;
};
