/** The registry is the vocabulary: documented, used by the examples, and mirrored in the manual. */
import { existsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Expr } from '../../src/language/ast.js';
import { generateReference, updateManual } from '../../src/language/docs.js';
import { parse } from '../../src/language/parse.js';
import { clauses, components, findClause, findComponent, inRange, type Kind } from '../../src/language/registry.js';
import { exampleFiles, read } from './helpers.js';

const update = process.env['GEODESIC_UPDATE_GOLDEN'] === '1';

/** Every (kind, name) written in the examples, found by walking their syntax trees with the clause's
 * kinds as context (schedules may appear inside any argument). */
function usedInExamples(): Set<string> {
  const used = new Set<string>();
  for (const file of exampleFiles()) {
    const ast = parse(file, read(file));
    if (ast._tag === 'Left') throw new Error(ast.left.message);
    for (const item of ast.right.items) {
      if (item._tag !== 'Optimizer') continue;
      for (const clause of item.clauses) {
        const spec = findClause(clause.name.value);
        if (spec === undefined) continue;
        const kinds: Kind[] = [...spec.kinds, 'schedule'];
        const visit = (e: Expr): void => {
          const name = e._tag === 'Call' ? e.callee.value : e._tag === 'Ident' ? e.name : undefined;
          if (name !== undefined) {
            const c = findComponent(kinds, name);
            if (c !== undefined) used.add(`${c.kind}:${c.name}`);
          }
          if (e._tag === 'Call') e.args.forEach((a) => visit(a.value));
          if (e._tag === 'Binary') [e.left, e.right].forEach(visit);
          if (e._tag === 'Pipe') [e.subject, e.transform].forEach(visit);
        };
        visit(clause.value);
      }
    }
  }
  return used;
}

describe('registry', () => {
  it('documents every component, clause and argument', () => {
    for (const c of components) {
      expect(c.doc.length, `${c.kind} ${c.name}`).toBeGreaterThan(10);
      expect(c.math.length, `${c.kind} ${c.name}`).toBeGreaterThan(0);
      for (const a of c.args) expect(a.doc.length, `${c.name}.${a.name}`).toBeGreaterThan(5);
      // Only bookkeeping entries (none, auto, …) may lack a paper.
      if (c.reference === '') expect(['none', 'auto', 'constant', 'exponential', 'reject']).toContain(c.name);
    }
    for (const c of clauses) expect(c.doc.length).toBeGreaterThan(10);
  });

  it('has unique names within each kind and argument defaults inside their ranges', () => {
    const keys = components.map((c) => `${c.kind}:${c.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const c of components) {
      for (const a of c.args) {
        if (a.default === undefined) continue;
        if (a.type.kind === 'number') {
          const isKeyword = Object.values(a.type.keywords ?? {}).includes(a.default as number);
          expect(isKeyword || inRange(a.type.range, a.default as number), `${c.name}.${a.name}`).toBe(true);
        } else if (a.type.kind === 'enum') expect(a.type.values).toContain(a.default);
        else expect(typeof a.default, `${c.name}.${a.name}`).toBe('boolean');
      }
    }
  });

  it('uses every component in at least one example', () => {
    const used = usedInExamples();
    const unused = components.map((c) => `${c.kind}:${c.name}`).filter((k) => !used.has(k));
    expect(unused).toEqual([]);
  });

  it('uses every clause in at least one example', () => {
    const written = new Set(
      exampleFiles().flatMap((f) => {
        const ast = parse(f, read(f));
        return ast._tag === 'Right' ? ast.right.items.flatMap((i) => (i._tag === 'Optimizer' ? i.clauses.map((c) => c.name.value) : [])) : [];
      }),
    );
    expect(clauses.map((c) => c.name).filter((n) => !written.has(n))).toEqual([]);
  });

  it('docs/language.md carries the current generated reference and names every component', () => {
    const manual = existsSync('docs/language.md') ? read('docs/language.md') : '';
    if (update) writeFileSync('docs/language.md', updateManual(manual));
    const current = read('docs/language.md');
    expect(current).toContain(generateReference());
    for (const c of components) expect(current).toContain(`\`${c.name}`);
  });
});
