/**
 * Syntax trees → checked Specs. Phases (each an Either; problems within a phase are collected
 * applicatively, so every problem of every file is reported at once):
 *   1. load: parse the entry files and everything they import (missing files, syntax errors,
 *      import cycles);
 *   2. resolve: names of blocks, `extends` chains (unknown parents, cycles, duplicates);
 *   3. check each block: clause names, component names ("did you mean"), argument types and
 *      ranges, the typing rules of the curvature algebra, and rules across clauses; defaults filled.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as path from './paths.js';
import type { Arg, Call, ClauseAst, Expr, FileAst, Ident, OptimizerAst } from './ast.js';
import { didYouMean, error, fileSpan, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { parse, parseAll } from './parse.js';
import {
  clauses as clauseSpecs,
  componentsOf,
  describeType,
  findClause,
  findComponent,
  inRange,
  kindTitle,
  valueArgs,
  type ArgSpec,
  type ClauseSpec,
  type ComponentSpec,
  type Kind,
} from './registry.js';
import type { ArgValue, AtomName, Component, Curvature, OptimizerSpec, Span, Spec, StructureName, TransformName } from './spec.js';
import { classDescription, engineShape, explicitClasses, fisherLike, klDefect, kroneckerStructure, matrixClass } from './structure.js';
import { all, allOf, fail, ok, problemsOf, report, valueOf, type Validation } from './validation.js';

/** How `check` reads files: the text, or a one-line reason it could not. */
export type ReadFile = (file: string) => E.Either<string, string>;

// ---- phase 1: load -------------------------------------------------------------------------------

interface Loaded {
  readonly file: string;
  readonly ast: FileAst;
  /** Resolved paths of the files this one imports, in order. */
  readonly imports: readonly string[];
}

interface Program {
  readonly sources: Map<string, string>;
  readonly files: Map<string, Loaded>;
  readonly problems: Diagnostic[];
}

/** An import's file: an absolute path as written, a relative one from the importing file's folder. */
export const resolveImport = (importer: string, target: string): string =>
  path.isAbsolute(target) ? path.normalize(target) : path.normalize(path.join(path.dirname(importer), target));

function load(program: Program, file: string, read: ReadFile, from: Span | undefined): Loaded | undefined {
  if (program.files.has(file)) return program.files.get(file);
  if (program.sources.has(file)) return undefined; // read before, but unparseable
  const text = read(file);
  if (E.isLeft(text)) {
    if (from === undefined) program.problems.push(error(fileSpan(file), `cannot read ${file}: ${text.left}`));
    else program.problems.push(error(from, `cannot import ${file}: ${text.left}`));
    return undefined;
  }
  program.sources.set(file, text.right);
  const ast = parseAll(file, text.right);
  if (E.isLeft(ast)) {
    program.problems.push(...ast.left);
    return undefined;
  }
  const imports: string[] = [];
  const loaded: Loaded = { file, ast: ast.right, imports };
  program.files.set(file, loaded);
  for (const item of ast.right.items) {
    if (item._tag !== 'Import') continue;
    const target = resolveImport(file, item.path);
    imports.push(target);
    load(program, target, read, item.pathSpan);
  }
  return loaded;
}

/** Report every import that closes a cycle, with the cycle spelt out. */
function findImportCycles(program: Program, entry: string): void {
  const done = new Set<string>();
  const visit = (file: string, stack: readonly string[]): void => {
    const loaded = program.files.get(file);
    if (loaded === undefined || done.has(file)) return;
    const items = loaded.ast.items.filter((i) => i._tag === 'Import');
    items.forEach((item, k) => {
      const target = loaded.imports[k]!;
      const at = stack.indexOf(target);
      if (target === file || at >= 0) {
        const cycle = [...stack.slice(at < 0 ? stack.length : at), file, target];
        program.problems.push(error(item.pathSpan, `import cycle: ${cycle.join(' → ')}`));
      } else visit(target, [...stack, file]);
    });
    done.add(file);
  };
  visit(entry, []);
}

/** The entry file and everything it imports, in first-visit order. */
function closure(program: Program, entry: string): readonly Loaded[] {
  const out: Loaded[] = [];
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const loaded = program.files.get(file);
    if (loaded === undefined) return;
    out.push(loaded);
    loaded.imports.forEach(visit);
  };
  visit(entry);
  return out;
}

// ---- phase 2: resolve blocks -------------------------------------------------------------------

interface Block {
  readonly ast: OptimizerAst;
  readonly file: string;
}

const blocksOf = (files: readonly Loaded[]): readonly Block[] =>
  files.flatMap((f) => f.ast.items.filter((i) => i._tag === 'Optimizer').map((ast) => ({ ast, file: f.file })));

const describeSpan = (s: Span): string => `${s.file}:${s.line}:${s.column}`;

function duplicateBlocks(blocks: readonly Block[]): readonly Diagnostic[] {
  const first = new Map<string, Block>();
  const problems: Diagnostic[] = [];
  for (const b of blocks) {
    const prev = first.get(b.ast.name.value);
    if (prev === undefined) first.set(b.ast.name.value, b);
    else
      problems.push(
        error(b.ast.name.span, `optimizer "${b.ast.name.value}" is defined twice (first at ${describeSpan(prev.ast.name.span)})`),
      );
  }
  return problems;
}

/** The clauses a block ends up with: its ancestors' clauses, overridden by its own. */
function resolveExtends(block: Block, visible: (file: string) => readonly Block[]): Validation<readonly ClauseAst[]> {
  const chain: Block[] = [block];
  let current = block;
  while (current.ast.extends !== undefined) {
    const parentName = current.ast.extends;
    const candidates = visible(current.file);
    const parent = candidates.find((b) => b.ast.name.value === parentName.value);
    if (parent === undefined) {
      return fail(
        error(
          parentName.span,
          `unknown optimizer "${parentName.value}" to extend`,
          didYouMean(parentName.value, candidates.map((b) => b.ast.name.value)) ??
            (candidates.length > 1 ? undefined : 'import the file that defines it: import "file.optim"'),
        ),
      );
    }
    if (chain.includes(parent)) {
      const names = [...chain.slice(chain.indexOf(parent)).map((b) => b.ast.name.value), parent.ast.name.value];
      return fail(error(parentName.span, `extends cycle: ${names.join(' → ')}`));
    }
    chain.push(parent);
    current = parent;
  }
  const merged = new Map<string, ClauseAst>();
  for (const b of [...chain].reverse()) for (const c of b.ast.clauses) merged.set(c.name.value, c);
  return ok([...merged.values()]);
}

// ---- phase 3: values --------------------------------------------------------------------------

function describeExpr(e: Expr): string {
  switch (e._tag) {
    case 'Number':
      return `the number ${e.text}`;
    case 'Boolean':
      return `${e.value}`;
    case 'String':
      return `the string "${e.value}"`;
    case 'Ident':
      return `"${e.name}"`;
    case 'Call':
      return `the call ${e.callee.value}(…)`;
    case 'Binary':
      return `an expression with ${e.op}`;
    case 'Pipe':
      return 'an expression with |>';
  }
}

const kindList = (kinds: readonly Kind[]): string =>
  kinds.length === 3 && kinds.includes('atom') ? 'curvature' : kinds.map((k) => kindTitle[k]).join(' or ');

/** Look a name up among the components of some kinds; unknown → "did you mean" or where it belongs. */
function resolve(name: { value: string; span: Span }, kinds: readonly Kind[], where: string): Validation<ComponentSpec> {
  const found = findComponent(kinds, name.value);
  if (found !== undefined) return ok(found);
  const elsewhere = componentsOf(Object.keys(kindTitle) as Kind[]).find((c) => c.name === name.value && c.kind !== 'schedule');
  const suggestion = didYouMean(name.value, componentsOf(kinds).map((c) => c.name));
  const hint =
    suggestion ??
    (elsewhere !== undefined
      ? `${name.value} is a ${kindTitle[elsewhere.kind]}${clauseOfKind(elsewhere.kind)}`
      : `expected one of: ${componentsOf(kinds).map((c) => c.name).join(', ')}`);
  return fail(error(name.span, `unknown ${where} "${name.value}"`, hint));
}

function clauseOfKind(kind: Kind): string {
  const clause = clauseSpecs.find((c) => c.kinds.includes(kind));
  if (clause === undefined) return '';
  return clause.name === 'curvature' ? ', used in the curvature clause' : `; write it as ${clause.name} = …`;
}

type Bound = Readonly<Record<string, ArgValue | Curvature>>;

/** Bind a call's arguments to a component's parameters (positional first, then named), check each
 * value, and fill defaults. `subject` is the curvature already given by `|>` (so `of` is bound). */
function bindArgs(spec: ComponentSpec, node: Call | Ident, subject: Curvature | undefined): Validation<Bound> {
  const params = subject === undefined ? spec.args : spec.args.filter((a) => a.type.kind !== 'curvature');
  const args: readonly Arg[] = node._tag === 'Call' ? node.args : [];
  const problems: Diagnostic[] = [];
  const given = new Map<string, Arg>();
  let sawNamed = false;
  let position = 0;
  for (const arg of args) {
    if (arg.name === undefined) {
      if (sawNamed) {
        problems.push(error(arg.span, `${spec.name}: a positional argument cannot follow a named one`));
        continue;
      }
      const param = params[position++];
      if (param === undefined) {
        const names = params.map((p) => p.name).join(', ');
        problems.push(
          error(arg.span, `${spec.name} takes ${params.length === 0 ? 'no arguments' : `${params.length} argument${params.length === 1 ? '' : 's'} (${names})`}; this one is extra`),
        );
        continue;
      }
      given.set(param.name, arg);
    } else {
      sawNamed = true;
      const param = params.find((p) => p.name === arg.name!.value);
      if (param === undefined) {
        problems.push(
          error(
            arg.name.span,
            `${spec.name} has no argument "${arg.name.value}"`,
            didYouMean(arg.name.value, params.map((p) => p.name)) ??
              (params.length === 0 ? `${spec.name} takes no arguments` : `its arguments are: ${params.map((p) => p.name).join(', ')}`),
          ),
        );
      } else if (given.has(param.name)) problems.push(error(arg.span, `${spec.name}: argument ${param.name} is given twice`));
      else given.set(param.name, arg);
    }
  }
  const values: Validation<readonly [string, ArgValue | Curvature]>[] = params.map((p) => {
    const arg = given.get(p.name);
    if (arg !== undefined) return E.map((v: ArgValue | Curvature) => [p.name, v] as const)(checkArg(spec, p, arg.value));
    if (p.type.kind === 'curvature' && subject !== undefined) return ok([p.name, subject] as const);
    if (p.default !== undefined) return ok([p.name, p.default] as const);
    const how =
      p.type.kind === 'curvature'
        ? spec.kind === 'transform'
          ? `: write C |> ${spec.name}${valueArgs(spec).length > 0 ? '(…)' : ''} or ${spec.name}(C${valueArgs(spec).length > 0 ? ', …' : ''})`
          : `: write ${spec.name}(C${valueArgs(spec).length > 0 ? ', …' : ''})`
        : ` (${describeType(p.type)})`;
    return fail(error(node.span, `${spec.name} needs a${p.type.kind === 'curvature' ? ' curvature' : 'n argument'} ${p.name}${how}`));
  });
  return E.map((pairs: readonly (readonly [string, ArgValue | Curvature])[]) => Object.fromEntries(pairs) as Bound)(
    E.chain(() => all(values))(report(problems)) as Validation<readonly (readonly [string, ArgValue | Curvature])[]>,
  );
}

function checkArg(owner: ComponentSpec, p: ArgSpec, e: Expr): Validation<ArgValue | Curvature> {
  const t = p.type;
  const wrong = (): Validation<never> =>
    fail(error(e.span, `${owner.name}: ${p.name} must be ${describeType(t)}; got ${describeExpr(e)}`));
  switch (t.kind) {
    case 'curvature':
      return checkCurvature(e);
    case 'boolean':
      return e._tag === 'Boolean' ? ok(e.value) : wrong();
    case 'enum': {
      const v = e._tag === 'Ident' ? e.name : e._tag === 'String' ? e.value : undefined;
      if (v === undefined) return wrong();
      if (t.values.includes(v)) return ok(v);
      return fail(
        error(e.span, `${owner.name}: ${p.name} must be ${describeType(t)}; got "${v}"`, didYouMean(v, t.values)),
      );
    }
    case 'number': {
      if (e._tag === 'Number') {
        if (inRange(t.range, e.value)) return ok(e.value);
        return fail(error(e.span, `${owner.name}: ${p.name} must be ${describeType(t)}; got ${e.text}`));
      }
      if (e._tag === 'Ident' && t.keywords !== undefined && e.name in t.keywords) return ok(t.keywords[e.name]!);
      if (t.schedulable && (e._tag === 'Call' || e._tag === 'Ident')) {
        return E.chain((s: Component) => scheduleInRange(owner, p, s))(checkComponent(e, ['schedule'], 'schedule'));
      }
      if (e._tag === 'Ident' && t.keywords !== undefined) {
        return fail(
          error(e.span, `${owner.name}: ${p.name} must be ${describeType(t)}; got "${e.name}"`, didYouMean(e.name, Object.keys(t.keywords))),
        );
      }
      return wrong();
    }
  }
}

/** A scheduled hyper-parameter must stay in the parameter's range at its start and end values. */
function scheduleInRange(owner: ComponentSpec, p: ArgSpec, s: Component): Validation<Component> {
  if (p.type.kind !== 'number') return ok(s);
  const range = p.type.range;
  const ends = (['value', 'initial', 'final'] as const).filter((k) => typeof s.args[k] === 'number');
  // A schedule may decay onto an open bound (cosine to a learning rate of 0) but not start there.
  const rangeOf = (k: string) =>
    k === 'final' ? { ...range, integer: false, minExclusive: false, maxExclusive: false } : { ...range, integer: false };
  const bad = ends.find((k) => !inRange(rangeOf(k), s.args[k] as number));
  if (bad === undefined) return ok(s);
  return fail(
    error(s.span, `${owner.name}: ${p.name} must stay ${describeType({ ...p.type, schedulable: false }).replace(/^a number /, '')}; the schedule's ${bad} is ${s.args[bad] as number}`),
  );
}

function splitArgs(bound: Bound): { of: Curvature | undefined; args: Readonly<Record<string, ArgValue>> } {
  const args: Record<string, ArgValue> = {};
  let of: Curvature | undefined;
  for (const [k, v] of Object.entries(bound)) {
    if (isCurvature(v)) of = v;
    else args[k] = v;
  }
  return { of, args };
}

function isCurvature(v: ArgValue | Curvature): v is Curvature {
  return typeof v === 'object' && '_tag' in v;
}

/** A call or bare name of one of `kinds`, with its arguments bound and checked. */
function checkComponent(e: Expr, kinds: readonly Kind[], where: string): Validation<Component> {
  if (e._tag !== 'Call' && e._tag !== 'Ident') {
    return fail(error(e.span, `expected a ${where}; got ${describeExpr(e)}`, `for example: ${componentsOf(kinds).slice(0, 3).map((c) => c.name).join(', ')}`));
  }
  const name = e._tag === 'Call' ? e.callee : { value: e.name, span: e.span };
  return E.chain((spec: ComponentSpec) =>
    E.map((bound: Bound) => ({ name: spec.name, args: splitArgs(bound).args, span: e.span }) satisfies Component)(bindArgs(spec, e, undefined)),
  )(resolve(name, kinds, where));
}

/** A `|>` chain of gradient transforms, left to right; `minibatch` (the identity) is dropped. */
function checkChain(e: Expr): Validation<readonly Component[]> {
  const elements: Expr[] = [];
  let cur: Expr = e;
  while (cur._tag === 'Pipe') {
    elements.unshift(cur.transform);
    cur = cur.subject;
  }
  elements.unshift(cur);
  return E.map((cs: readonly Component[]) => cs.filter((c) => c.name !== 'minibatch'))(
    all(elements.map((x) => checkComponent(x, ['gradient'], 'gradient transform'))),
  );
}

// ---- the curvature algebra -----------------------------------------------------------------------

function checkCurvature(e: Expr): Validation<Curvature> {
  return E.chain(typeRules)(buildCurvature(e));
}

function buildCurvature(e: Expr): Validation<Curvature> {
  switch (e._tag) {
    case 'Number':
      return fail(error(e.span, `expected a curvature; got the number ${e.text}`, `to scale the identity, write ${e.text} * identity`));
    case 'Boolean':
    case 'String':
      return fail(error(e.span, `expected a curvature; got ${describeExpr(e)}`));
    case 'Ident':
    case 'Call': {
      const name = e._tag === 'Call' ? e.callee : { value: e.name, span: e.span };
      return E.chain((spec: ComponentSpec) =>
        E.map((bound: Bound): Curvature => {
          const { of, args } = splitArgs(bound);
          if (spec.kind === 'atom') return { _tag: 'Atom', name: spec.name as AtomName, args, span: e.span };
          if (spec.kind === 'structure') return { _tag: 'Structure', name: spec.name as StructureName, of: of!, args, span: e.span };
          return { _tag: 'Transform', name: spec.name as TransformName, of: of!, args, span: e.span };
        })(bindArgs(spec, e, undefined)),
      )(resolve(name, ['atom', 'structure', 'transform'], 'curvature'));
    }
    case 'Pipe': {
      const t = e.transform;
      const name = t._tag === 'Call' ? t.callee : { value: t.name, span: t.span };
      const subject = buildCurvature(e.subject);
      const transform = E.chain((spec: ComponentSpec) => {
        if (spec.kind !== 'transform') {
          return fail(
            error(name.span, `${spec.name} is a ${kindTitle[spec.kind]}, not a transform`, `transforms after |> are ${componentsOf(['transform']).map((c) => c.name).join(', ')}`),
          );
        }
        return ok(spec);
      })(resolve(name, ['transform', 'atom', 'structure'], 'curvature transform'));
      return E.chain(({ subject: of, spec }: { subject: Curvature; spec: ComponentSpec }) =>
        E.map((bound: Bound): Curvature => ({
          _tag: 'Transform',
          name: spec.name as TransformName,
          of,
          args: splitArgs(bound).args,
          span: e.span,
        }))(bindArgs(spec, t, of)),
      )(allOf({ subject, spec: transform }));
    }
    case 'Binary': {
      if (e.op === '+') {
        // The left spine of a + chain is walked in a loop: a sum of many terms costs no stack.
        const operands: Expr[] = [];
        let spine: Expr = e;
        while (spine._tag === 'Binary' && spine.op === '+') {
          operands.push(spine.right);
          spine = spine.left;
        }
        operands.push(spine);
        operands.reverse();
        return E.map((cs: readonly Curvature[]): Curvature => ({
          _tag: 'Sum',
          terms: cs.flatMap((c) => (c._tag === 'Sum' ? c.terms : [c])),
          span: e.span,
        }))(all(operands.map(buildCurvature)));
      }
      if (e.op === '*') {
        const [factor, operand] = e.left._tag === 'Number' ? [e.left, e.right] : e.right._tag === 'Number' ? [e.right, e.left] : [undefined, undefined];
        if (factor === undefined || operand === undefined) {
          return fail(error(e.span, 'a curvature can only be multiplied by a number', 'write s * C with s a number; products of curvatures are not supported'));
        }
        const f =
          Number.isFinite(factor.value) && factor.value > 0
            ? ok(factor.value)
            : fail(error(factor.span, `a scale factor must be a number > 0; got ${factor.text}`));
        return E.map(({ f: k, of }: { f: number; of: Curvature }): Curvature => ({ _tag: 'Scale', factor: k, of, span: e.span }))(
          allOf({ f, of: buildCurvature(operand) }),
        );
      }
      const exponent =
        e.right._tag !== 'Number'
          ? fail(
              error(e.right.span, `the exponent of ^ must be a number; got ${describeExpr(e.right)}`, e.right._tag === 'Pipe' ? '|> binds tighter than ^: write (C ^ p) |> t' : undefined),
            )
          : Number.isFinite(e.right.value) && e.right.value > 0
            ? ok(e.right.value)
            : fail(error(e.right.span, `the exponent of ^ must be a number > 0; got ${e.right.text}`));
      return E.map(({ p, of }: { p: number; of: Curvature }): Curvature => ({ _tag: 'Power', of, exponent: p, span: e.span }))(
        allOf({ p: exponent, of: buildCurvature(e.left) }),
      );
    }
  }
}

/** `block_diag(0.9 * ggn)` → `0.9 * block_diag(ggn)`: a structure moved onto one term of a sum. */
function structureOfTerm(name: string, t: Curvature): string {
  const atom = (a: Curvature): string => (a._tag === 'Atom' ? `${name}(${a.name}${Object.keys(a.args).length > 0 ? '(…)' : ''})` : `${name}(…)`);
  return t._tag === 'Scale' ? `${t.factor} * ${atom(t.of)}` : atom(t);
}

/** What the engine cannot build of an explicit-class power or running statistic (see engineShape). */
function engineRules(c: Curvature & { readonly _tag: 'Power' | 'Transform' }): Diagnostic[] {
  if (c._tag === 'Transform' && (c.name === 'ema' || c.name === 'sum')) {
    if (c.of._tag === 'Structure') return [];
    const hint =
      c.of._tag === 'Atom'
        ? `the identity is not estimated: drop |> ${c.name}`
        : c.of._tag === 'Sum'
          ? `apply it to each estimated term, e.g. diag(a) |> ${c.name}(…) + diag(b) |> ${c.name}(…)`
          : c.of._tag === 'Scale'
            ? `scale the average instead: s * (structure |> ${c.name}(…))`
            : `apply ${c.name} to the structure before any other transform or power`;
    return [error(c.span, `${c.name} averages the estimates of one structure (diag, block_diag, full, kfac, ekfac); it must be applied to the structure directly, not to ${describeCurvature(c.of)}`, hint)];
  }
  const of = engineShape(c.of);
  if (of.power) return [];
  const what = c._tag === 'Power' ? 'a matrix power (^)' : 'sqrt';
  return [
    error(
      c.span,
      `${what} is not defined on ${describeCurvature(c.of)}: it is ${of.description}, which has no structured power`,
      of.structure === 'shifted'
        ? 'take the power of the structured term and add the identity after it (e.g. kfac(…) ^ 0.5 + 1e-3 * identity), or damp with damping = tikhonov(…)'
        : 'powers exist for identity, diag, block_diag, full, kfac and ekfac, their multiples, and sums of diag, block_diag and full terms',
    ),
  ];
}

const unstructured = (c: Curvature): boolean =>
  c._tag === 'Atom' ? c.name !== 'lbfgs' : c._tag === 'Sum' ? c.terms.every(unstructured) : c._tag === 'Scale' ? unstructured(c.of) : false;

function describeCurvature(c: Curvature): string {
  switch (c._tag) {
    case 'Atom':
    case 'Structure':
      return c.name;
    case 'Transform':
      return `${c.name}(…)`;
    case 'Sum':
      return 'a sum';
    case 'Scale':
      return 'a multiple';
    case 'Power':
      return 'a power';
  }
}

/** The typing rules of the algebra, on a structurally valid expression. */
function typeRules(c: Curvature): Validation<Curvature> {
  return E.map(() => c)(all(rules(c, true).map((d) => fail(d))));
}

function rules(c: Curvature, top: boolean): Diagnostic[] {
  switch (c._tag) {
    case 'Atom':
      return c.name === 'lbfgs' && !top
        ? [error(c.span, 'lbfgs must be the whole curvature: it is an inverse approximation built from past steps and cannot be combined')]
        : [];
    case 'Structure': {
      const inner = rules(c.of, false);
      if (c.name === 'kfac' || c.name === 'ekfac') {
        if (c.of._tag !== 'Atom' || !fisherLike.includes(c.of.name)) {
          return [
            ...inner,
            error(c.of.span, `${c.name} needs a Fisher/GGN-like curvature inside (${fisherLike.join(', ')}); got ${describeCurvature(c.of)}`),
          ];
        }
        return inner;
      }
      if (c.of._tag === 'Atom' && c.of.name === 'identity') return [...inner, error(c.of.span, `the identity needs no structure: write identity, not ${c.name}(identity)`)];
      if (c.of._tag !== 'Atom') {
        // The engine estimates a structure of one atom; a structure of a sum (or multiple) is the sum
        // (multiple) of the structures, which it builds term by term.
        const hint =
          c.of._tag === 'Sum' && c.of.terms.every(unstructured)
            ? `a structure is linear: write ${c.of.terms.map((t) => structureOfTerm(c.name, t)).join(' + ')}${c.of.terms.some((t) => t._tag === 'Scale') ? ' (solved by cg: only unscaled diag, block_diag and full terms merge into one matrix for cholesky or eigen)' : ''}`
            : c.of._tag === 'Scale' && unstructured(c.of.of)
              ? `write ${structureOfTerm(c.name, c.of)}`
              : undefined;
        return [...inner, error(c.of.span, `${c.name} takes a matrix-free curvature atom inside (hessian, ggn, fisher(…), …), not ${describeCurvature(c.of)}`, hint)];
      }
      return inner;
    }
    case 'Sum':
      return c.terms.flatMap((t) => rules(t, false));
    case 'Scale':
      return rules(c.of, false);
    case 'Power':
    case 'Transform': {
      const inner = rules(c.of, false);
      const cls = matrixClass(c.of);
      if (cls === 'lbfgs') return inner;
      if (explicitClasses.includes(cls)) return [...inner, ...engineRules(c)];
      const what = c._tag === 'Power' ? 'a matrix power (^)' : c.name === 'sqrt' ? 'sqrt' : `${c.name}`;
      const needs = c._tag === 'Power' || c.name === 'sqrt' ? 'needs' : 'accumulates over steps and needs';
      return [
        ...inner,
        error(
          c.span,
          `${what} ${needs} an explicit structure (identity, diag, block_diag, kfac, ekfac or full); ${describeCurvature(c.of)} is ${classDescription[cls]}`,
          cls === 'matrixfree' ? 'wrap it in a structure, e.g. diag(…), kfac(…) or full(…)' : undefined,
        ),
      ];
    }
  }
}

// ---- clauses and blocks ----------------------------------------------------------------------------

type ClauseValue =
  | { readonly clause: 'curvature'; readonly value: Curvature }
  | { readonly clause: 'gradient'; readonly value: readonly Component[] }
  | { readonly clause: 'component'; readonly value: Component };

function checkClauseValue(spec: ClauseSpec, e: Expr): Validation<ClauseValue> {
  if (spec.name === 'curvature') return E.map((value: Curvature): ClauseValue => ({ clause: 'curvature', value }))(checkCurvature(e));
  if (spec.chain) return E.map((value: readonly Component[]): ClauseValue => ({ clause: 'gradient', value }))(checkChain(e));
  return E.map((value: Component): ClauseValue => ({ clause: 'component', value }))(checkComponent(e, spec.kinds, kindList(spec.kinds)));
}

/** Clause defaults, checked once from the registry's source text (so docs and behaviour agree). */
const defaults: ReadonlyMap<string, ClauseValue> = (() => {
  const out = new Map<string, ClauseValue>();
  for (const spec of clauseSpecs) {
    const file = parse('<defaults>', `optimizer defaults { ${spec.name} = ${spec.defaultText} }`);
    if (E.isLeft(file)) throw new Error(`registry default for ${spec.name} does not parse: ${file.left.message}`);
    const block = file.right.items[0] as OptimizerAst;
    const v = checkClauseValue(spec, block.clauses[0]!.value);
    if (E.isLeft(v)) throw new Error(`registry default for ${spec.name} does not check: ${v.left[0].message}`);
    out.set(spec.name, v.right);
  }
  return out;
})();

/** Move every span of a default value to the block header (defaults have no text of their own). */
function respan<T>(value: T, span: Span): T {
  if (Array.isArray(value)) return value.map((v) => respan(v, span)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'span' ? span : respan(v, span)])) as T;
  }
  return value;
}

function ownClauseProblems(block: OptimizerAst): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const seen = new Map<string, ClauseAst>();
  for (const c of block.clauses) {
    if (findClause(c.name.value) === undefined) {
      problems.push(
        error(c.name.span, `unknown clause "${c.name.value}"`, didYouMean(c.name.value, clauseSpecs.map((s) => s.name)) ?? `clauses are ${clauseSpecs.map((s) => s.name).join(', ')}`),
      );
    }
    const prev = seen.get(c.name.value);
    if (prev !== undefined) problems.push(error(c.name.span, `clause ${c.name.value} is set twice in this block (first at line ${prev.name.span.line})`));
    else seen.set(c.name.value, c);
  }
  return problems;
}

const solverName = (c: Component): string => c.name;

/** Rules that relate two clauses; each only runs when both clauses checked. */
function crossRules(
  curvature: Curvature | undefined,
  values: ReadonlyMap<string, Component | undefined>,
): Diagnostic[] {
  if (curvature === undefined) return [];
  const problems: Diagnostic[] = [];
  const cls = matrixClass(curvature);
  const solver = values.get('solver');
  if (solver !== undefined) {
    const name = solverName(solver);
    const bad = (msg: string, hint?: string): void => void problems.push(error(solver.span, msg, hint));
    if (name === 'kronecker' && cls !== 'kronecker')
      bad(`solver kronecker needs a Kronecker-factored curvature (kfac or ekfac); this curvature is ${classDescription[cls]}`, 'use solver = auto');
    if (name === 'woodbury' && cls !== 'lowrank')
      bad(`solver woodbury needs a lowrank(…) curvature; this curvature is ${classDescription[cls]}`, 'use solver = auto');
    if (name === 'lbfgs_two_loop' && cls !== 'lbfgs')
      bad(`solver lbfgs_two_loop needs the lbfgs curvature; this curvature is ${classDescription[cls]}`, 'use solver = auto');
    if (name !== 'lbfgs_two_loop' && name !== 'auto' && cls === 'lbfgs')
      bad(`the lbfgs curvature is applied by solver lbfgs_two_loop, not ${name}`, 'use solver = auto or lbfgs_two_loop');
    if ((name === 'cholesky' || name === 'eigen') && cls === 'matrixfree')
      bad(`solver ${name} needs an explicit matrix; this curvature is ${classDescription[cls]}`, 'wrap it in full(…), block_diag(…) or diag(…), or use solver = cg');
    // Whatever the rules above let through must be a solver the engine's operator accepts.
    const engine = engineShape(curvature);
    if (problems.length === 0 && name !== 'auto' && !engine.solvers.includes(name as never))
      bad(
        `solver ${name} cannot solve this curvature: it is ${engine.description}, solved by ${engine.solvers.join(' or ')}`,
        `use solver = auto (${engine.solvers[0]})${engine.solvers.length > 1 ? ` or ${engine.solvers.slice(1).join(', ')}` : ''}`,
      );
  }
  const step = values.get('step');
  if (step !== undefined && (step.name === 'kl' || step.name === 'kl_trust')) {
    const defect = klDefect(curvature);
    if (defect !== undefined)
      problems.push(
        error(step.span, `step ${step.name} needs a curvature that defines a KL divergence (built from fisher, empirical_fisher or ggn); ${defect}`, 'use step = lr(…), or a Fisher-based curvature'),
      );
  }
  const damping = values.get('damping');
  if (damping !== undefined && damping.name === 'factored' && kroneckerStructure(curvature) !== 'kfac')
    problems.push(error(damping.span, 'factored damping splits λ between Kronecker factors and needs a kfac(…) curvature', 'use damping = tikhonov(…)'));
  for (const [clause, c] of [['damping', damping], ['step', step], ['momentum', values.get('momentum')]] as const) {
    if (c === undefined) continue;
    const needsModel = c.name === 'levenberg_marquardt' || c.name === 'quadratic_model';
    if (needsModel && cls === 'lbfgs')
      problems.push(error(c.span, `${clause} ${c.name} needs curvature-vector products for its quadratic model; the lbfgs curvature has none`));
  }
  return problems;
}

function checkBlock(block: Block, merged: readonly ClauseAst[]): Validation<OptimizerSpec> {
  const own = ownClauseProblems(block.ast);
  const byName = new Map<string, ClauseAst>();
  for (const c of merged) if (!byName.has(c.name.value) || block.ast.clauses.includes(c)) byName.set(c.name.value, c);
  const checked = new Map<string, Validation<ClauseValue>>();
  for (const spec of clauseSpecs) {
    const ast = byName.get(spec.name);
    checked.set(spec.name, ast === undefined ? ok(respan(defaults.get(spec.name)!, block.ast.headerSpan)) : checkClauseValue(spec, ast.value));
  }
  const value = (name: string): ClauseValue | undefined => valueOf(checked.get(name)!);
  const curvature = value('curvature');
  const components = new Map<string, Component | undefined>();
  for (const name of ['solver', 'step', 'damping', 'momentum']) {
    const v = value(name);
    components.set(name, v?.clause === 'component' ? v.value : undefined);
  }
  const cross = crossRules(curvature?.clause === 'curvature' ? curvature.value : undefined, components);
  const problems = [...own, ...[...checked.values()].flatMap(problemsOf), ...cross];
  return E.map(() => {
    const comp = (name: string): Component => (value(name) as { value: Component }).value;
    const spec: OptimizerSpec = {
      name: block.ast.name.value,
      title: block.ast.title,
      span: block.ast.headerSpan,
      curvature: (value('curvature') as { value: Curvature }).value,
      estimate: comp('estimate'),
      refresh: comp('refresh'),
      damping: comp('damping'),
      solver: comp('solver'),
      step: comp('step'),
      momentum: comp('momentum'),
      averaging: comp('averaging'),
      gradient: (value('gradient') as { value: readonly Component[] }).value,
      onNonFinite: comp('on_nonfinite'),
    };
    return spec;
  })(report(problems));
}

// ---- entry points ------------------------------------------------------------------------------

export interface CheckResult {
  /** One Spec per entry file, in order; or every problem of every file, sorted and de-duplicated. */
  readonly specs: E.Either<readonly [Diagnostic, ...Diagnostic[]], readonly Spec[]>;
  /** The text of every file read (for rendering diagnostics with their source lines). */
  readonly sources: ReadonlyMap<string, string>;
}

function checkEntry(program: Program, entry: string): Validation<Spec> {
  const files = closure(program, entry);
  if (files.length === 0) return ok({ file: entry, optimizers: [] }); // its problem is already in program.problems
  const blocks = blocksOf(files);
  const visibleCache = new Map<string, readonly Block[]>();
  const visible = (file: string): readonly Block[] => {
    const cached = visibleCache.get(file);
    if (cached !== undefined) return cached;
    const v = blocksOf(closure(program, file));
    visibleCache.set(file, v);
    return v;
  };
  const checkedBlocks = blocks.map((b) => E.chain((merged: readonly ClauseAst[]) => checkBlock(b, merged))(resolveExtends(b, visible)));
  const dups = duplicateBlocks(blocks);
  return E.map(({ optimizers }: { optimizers: readonly OptimizerSpec[]; unique: undefined }): Spec => ({ file: entry, optimizers }))(
    allOf({ optimizers: all(checkedBlocks), unique: report(dups) }),
  );
}

/** Check files (and everything they import) together: all problems of all files, or their Specs. */
export function checkFiles(entries: readonly string[], read: ReadFile): CheckResult {
  const program: Program = { sources: new Map(), files: new Map(), problems: [] };
  const normalized = entries.map((f) => path.normalize(f));
  for (const f of normalized) load(program, f, read, undefined);
  for (const f of normalized) findImportCycles(program, f);
  const results = normalized.map((f): Validation<Spec> => {
    try {
      return checkEntry(program, f);
    } catch (err) {
      // A tree that parsed but is too deep for the (recursive) checker: say so, located at the file.
      if (err instanceof RangeError) return fail(error(fileSpan(f), 'the spec is too deeply nested to check'));
      throw err;
    }
  });
  const problems = sortDiagnostics([...program.problems, ...results.flatMap(problemsOf)], [...program.sources.keys()]);
  const specs = results.map(valueOf);
  return {
    specs: problems.length > 0 ? E.left(problems as [Diagnostic, ...Diagnostic[]]) : E.right(specs as Spec[]),
    sources: program.sources,
  };
}

/** Check one text; imports are read with `read` (by default: none exist). */
export function checkText(file: string, text: string, read: ReadFile = () => E.left('no such file')): CheckResult {
  const normalized = path.normalize(file);
  return checkFiles([normalized], (f) => (f === normalized ? E.right(text) : read(f)));
}
