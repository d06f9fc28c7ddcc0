/**
 * src/editor/service.ts (shared by the playground and `geodesic lsp`): its diagnostics are the
 * checker's, at the positions of `geodesic check --json` (toJson, the CLI's own conversion); hover
 * and completion read the registry.
 */
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkFiles } from '../../src/language/check.js';
import { toJson } from '../../src/language/diagnostics.js';
import { readFileNode } from '../../src/language/files.js';
import { clauses, components } from '../../src/language/registry.js';
import { complete, diagnose, hover } from '../../src/editor/service.js';
import { errorFiles, exampleFiles, read } from '../language/helpers.js';

describe('editor service: diagnostics', () => {
  it('equal geodesic check --json for every broken example (same lines, columns, messages, hints)', () => {
    let compared = 0;
    for (const file of errorFiles()) {
      const r = checkFiles([file], readFileNode);
      expect(E.isLeft(r.specs), file).toBe(true);
      const cli = E.isLeft(r.specs) ? r.specs.left.filter((d) => d.span.file === file).map((d) => toJson(d, (f) => r.sources.get(f))) : [];
      const ours = diagnose(file, read(file), readFileNode).filter((d) => !d.message.startsWith('in '));
      expect(ours.map((d) => [d.line, d.column, d.message, d.hint])).toEqual(cli.map((d) => [d.line, d.column, d.message, d.hint]));
      // the end too, except where the checker's span is empty (the editor widens it to one character)
      for (const [k, d] of ours.entries()) if (d.to > d.from && cli[k]!.endColumn !== cli[k]!.column) expect([d.endLine, d.endColumn]).toEqual([cli[k]!.endLine, cli[k]!.endColumn]);
      compared += cli.length;
    }
    expect(compared).toBeGreaterThan(20);
  });

  it('are empty for every example; every offset range lies in the text', () => {
    for (const file of exampleFiles()) expect(diagnose(file, read(file), readFileNode), file).toEqual([]);
    const t = 'optimizer a {\n  step = lr(eta: -1\n';
    for (const d of diagnose('t.optim', t)) {
      expect(d.from).toBeGreaterThanOrEqual(0);
      expect(d.to).toBeLessThanOrEqual(t.length);
    }
  });
});

describe('editor service: hover', () => {
  it('documents every component and clause written in the examples, from the registry', () => {
    let hovered = 0;
    for (const file of exampleFiles()) {
      const text = read(file);
      const code = text.replace(/#.*$/gm, (m) => ' '.repeat(m.length)).replace(/"[^"\n]*"/g, (m) => ' '.repeat(m.length));
      for (const m of code.matchAll(/\b[a-z_][a-z_0-9]*\b/g)) {
        const name = m[0];
        const h = hover(text, m.index + 1);
        const clause = clauses.find((c) => c.name === name);
        const comps = components.filter((c) => c.name === name);
        const after = code.slice(m.index + name.length).trimStart();
        if (after.startsWith('=') && clause !== undefined) expect(h?.markdown, `${file}: ${name}`).toContain(clause.doc);
        else if (after.startsWith(':') || after.startsWith('=')) continue; // argument names: see below
        else if (comps.length > 0 && /[=(|,:]\s*$/.test(code.slice(0, m.index))) {
          expect(comps.some((c) => h?.markdown.includes(c.doc)), `${file}: ${name} → ${h?.markdown}`).toBe(true);
          expect({ from: h!.from, to: h!.to }).toEqual({ from: m.index, to: m.index + name.length });
          hovered++;
        }
      }
    }
    expect(hovered).toBeGreaterThan(60);
  });

  it('documents every component of the registry where its clause accepts it', () => {
    for (const c of components) {
      const clause = clauses.find((k) => k.kinds.includes(c.kind));
      const text = clause === undefined ? `optimizer a {\n  step = lr(${c.name}(1))\n}\n` : `optimizer a {\n  ${clause.name} = ${c.name}\n}\n`;
      const h = hover(text, text.indexOf(clause === undefined ? `(${c.name}` : `= ${c.name}`) + (clause === undefined ? 2 : 3));
      expect(h?.markdown, `${c.kind} ${c.name}`).toContain(c.doc);
      expect(h?.markdown).toContain(c.math);
    }
  });

  it('documents arguments by the enclosing component and keywords', () => {
    const t = 'optimizer a {\n  damping = levenberg_marquardt(initial: 150, every: 5)\n}\n';
    expect(hover(t, t.indexOf('every') + 2)?.markdown).toContain('adapt λ every n steps');
    expect(hover(t, 3)?.markdown).toContain('optimizer NAME');
    expect(hover(t, t.indexOf('150'))).toBeUndefined();
  });
});

describe('editor service: completion', () => {
  const labels = (t: string, at = t.length) => complete(t, at).items.map((i) => i.label);

  it('offers clauses at the start of a clause, components of that clause after =, transforms after |>', () => {
    expect(labels('optimizer a {\n  ')).toEqual(clauses.map((c) => c.name));
    expect(labels('optimizer a {\n  solver = ')).toEqual(components.filter((c) => c.kind === 'solver').map((c) => c.name));
    expect(labels('optimizer a {\n  curvature = diag(fisher) |> ')).toEqual(components.filter((c) => c.kind === 'transform').map((c) => c.name));
    const cur = labels('optimizer a {\n  curvature = ki');
    expect(cur).toContain('kfac');
    expect(cur).not.toContain('ema');
    expect(complete('optimizer a {\n  curvature = ki', 30).from).toBe(28);
  });

  it('offers the arguments not yet written, and argument values by type', () => {
    expect(labels('optimizer a {\n  damping = levenberg_marquardt(initial: 1, ')).toEqual(['decrease', 'increase', 'every', 'lower', 'upper']);
    expect(labels('optimizer a {\n  curvature = kfac(fisher, bias: ')).toEqual(['homogeneous', 'separate']);
    expect(labels('optimizer a {\n  gradient = ema(decay: 0.9, debias: ')).toEqual(['true', 'false']);
    expect(labels('optimizer a {\n  curvature = fisher(')).toEqual(expect.arrayContaining(['sampled', 'exact']));
    expect(labels('')).toEqual(['optimizer', 'import']);
  });
});
