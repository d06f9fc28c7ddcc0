/**
 * Every spec the documentation shows passes `check`: the fenced blocks of README.md and docs/*.md
 * that hold `optimizer` blocks, and the inline curvature expressions of the prose (wrapped in a
 * minimal optimizer block). Expressions the prose shows as the *wrong* form are listed below and
 * must be rejected, so the list cannot go stale.
 */
import * as E from 'fp-ts/lib/Either.js';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkText } from '../../src/language/check.js';

const FILES = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))];

/** Inline expressions the docs present as rejected forms (with the sentence that says so). */
const SHOWN_AS_REJECTED: Readonly<Record<string, string>> = {
  'block_diag(0.5 * ggn + 0.5 * hessian)': 'docs/language.md: "write 0.5 * (block_diag(ggn) + block_diag(hessian)), not …"',
};

interface Snippet {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

const lineOf = (s: string, index: number): number => s.slice(0, index).split('\n').length;

/** Fenced code blocks that contain an optimizer block (a lower-case name: `optimizer NAME` is the grammar sketch). */
function fencedSpecs(file: string, s: string): Snippet[] {
  const out: Snippet[] = [];
  for (const m of s.matchAll(/```[^\n]*\n([\s\S]*?)```/g)) {
    if (/^\s*optimizer\s+[a-z_][a-z0-9_]*\b/m.test(m[1]!)) out.push({ file, line: lineOf(s, m.index!) + 1, text: m[1]! });
  }
  return out;
}

const CURVATURE_HEAD = /^[\d.]*\s*\*?\s*\(?\s*(kfac|ekfac|diag|block_diag|full|lowrank|fisher|ggn|hessian|identity|empirical_fisher|outer|gradient_covariance)\b/;

/** Inline `code` spans outside fences that are whole curvature expressions with an operator, without
 * placeholders (…, ·, a single capital letter standing for a curvature). */
function inlineCurvatures(file: string, s: string): Snippet[] {
  const out: Snippet[] = [];
  const fences = [...s.matchAll(/```[\s\S]*?```/g)].map((m) => [m.index!, m.index! + m[0].length] as const);
  for (const m of s.matchAll(/`([^`\n]+)`/g)) {
    if (fences.some(([a, b]) => m.index! >= a && m.index! < b)) continue;
    const t = m[1]!;
    if (!CURVATURE_HEAD.test(t) || !/\+|\|>|\*|\^/.test(t) || t.includes('=')) continue;
    if (/…|·|\b[A-Z]\b/.test(t)) continue;
    out.push({ file, line: lineOf(s, m.index!), text: t });
  }
  return out;
}

const wrap = (curvature: string): string => `optimizer snippet {\n  curvature = ${curvature}\n  damping   = tikhonov(1e-3)\n  step      = lr(0.1)\n}\n`;

const problems = (file: string, text: string): string[] => {
  const r = checkText(file, text);
  return E.isLeft(r.specs) ? r.specs.left.map((d) => d.message) : [];
};

const fenced = FILES.flatMap((f) => fencedSpecs(f, readFileSync(f, 'utf8')));
const inline = FILES.flatMap((f) => inlineCurvatures(f, readFileSync(f, 'utf8')));

describe('specs shown in README.md and docs/*.md', () => {
  it('finds the snippets (the extraction itself works)', () => {
    expect(fenced.some((s) => s.file === 'README.md')).toBe(true);
    expect(inline.map((s) => s.text)).toContain('0.5 * kfac(fisher(sampled: 1)) + 0.5 * diag(hessian)');
  });

  it('every fenced optimizer block passes check', () => {
    const bad = fenced.map((s) => ({ s, p: problems(`${s.file}:${s.line}`, s.text) })).filter((x) => x.p.length > 0);
    expect(bad.map((b) => `${b.s.file}:${b.s.line}: ${b.p.join('; ')}`)).toEqual([]);
  });

  it('every inline curvature expression passes check (those shown as the wrong form are rejected)', () => {
    const bad: string[] = [];
    for (const s of inline) {
      const p = problems(`${s.file}:${s.line}`, wrap(s.text));
      const rejected = SHOWN_AS_REJECTED[s.text];
      if (rejected !== undefined) {
        if (p.length === 0) bad.push(`${s.file}:${s.line}: \`${s.text}\` is shown as rejected (${rejected}) but passes check`);
      } else if (p.length > 0) bad.push(`${s.file}:${s.line}: \`${s.text}\`: ${p.join('; ')}`);
    }
    expect(bad).toEqual([]);
    for (const t of Object.keys(SHOWN_AS_REJECTED)) expect(inline.map((s) => s.text), `${t} no longer in the docs: drop it from SHOWN_AS_REJECTED`).toContain(t);
  });
});
