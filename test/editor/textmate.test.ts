/**
 * editors/vscode's TextMate grammar: the committed file is the one src/editor/textmate.ts generates
 * from the registry; its keywords are grammar/optim.ohm's; and tokenized with vscode-textmate +
 * vscode-oniguruma (VS Code's own engine), every example has every keyword and component scoped
 * and nothing marked invalid.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as vsctm from 'vscode-textmate';
import { beforeAll, describe, expect, it } from 'vitest';
import { clauses, components } from '../../src/language/registry.js';
import { TM_BOOLEANS, TM_KEYWORDS, argumentValues, textmateJson } from '../../src/editor/textmate.js';
import { errorFiles, exampleFiles, read } from '../language/helpers.js';

const GRAMMAR_FILE = 'editors/vscode/syntaxes/optim.tmLanguage.json';
const require = createRequire(import.meta.url);

interface Token {
  readonly text: string;
  readonly scopes: readonly string[];
  readonly line: number;
  readonly column: number;
}

let grammar: vsctm.IGrammar;

beforeAll(async () => {
  if (process.env['GEODESIC_UPDATE_GOLDEN'] === '1') writeFileSync(GRAMMAR_FILE, textmateJson());
  const wasm = readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({ createOnigScanner: (s) => new oniguruma.OnigScanner(s), createOnigString: (s) => new oniguruma.OnigString(s) }),
    loadGrammar: async (scope) => (scope === 'source.optim' ? vsctm.parseRawGrammar(readFileSync(GRAMMAR_FILE, 'utf8'), GRAMMAR_FILE) : null),
  });
  const g = await registry.loadGrammar('source.optim');
  if (g === null) throw new Error('grammar did not load');
  grammar = g;
});

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let stack = vsctm.INITIAL;
  text.split('\n').forEach((line, i) => {
    const r = grammar.tokenizeLine(line, stack);
    for (const t of r.tokens) out.push({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes, line: i + 1, column: t.startIndex + 1 });
    stack = r.ruleStack;
  });
  return out;
}

const has = (t: Token, scope: string) => t.scopes.some((s) => s.startsWith(scope));
const componentNames = new Set(components.map((c) => c.name));
const clauseNames = new Set(clauses.map((c) => c.name));

describe('TextMate grammar (editors/vscode)', () => {
  it('is the file generated from the registry (GEODESIC_UPDATE_GOLDEN=1 regenerates)', () => {
    expect(readFileSync(GRAMMAR_FILE, 'utf8')).toBe(textmateJson());
  });

  it("has exactly the ohm grammar's keywords", () => {
    const ohm = read('grammar/optim.ohm');
    const rule = /keyword \(a keyword\) = \(([^)]*)\)/.exec(ohm);
    expect(rule, 'the keyword rule of grammar/optim.ohm').not.toBeNull();
    const ohmKeywords = [...rule![1]!.matchAll(/"([a-z]+)"/g)].map((m) => m[1]!);
    expect([...TM_KEYWORDS, ...TM_BOOLEANS].sort()).toEqual(ohmKeywords.sort());
  });

  it('scopes every clause and every component of the registry', () => {
    for (const c of clauses) {
      const t = tokenize(`  ${c.name} = x`).find((x) => x.text === c.name)!;
      expect(has(t, 'variable.other.property.clause'), c.name).toBe(true);
    }
    for (const c of components) {
      const t = tokenize(`  solver = ${c.name}(1)`).find((x) => x.text === c.name)!;
      expect(has(t, 'support.function.component'), c.name).toBe(true);
    }
  });

  it('tokenizes every example: keywords and components scoped, every token scoped, nothing invalid', () => {
    let keywords = 0;
    let comps = 0;
    for (const file of [...exampleFiles(), ...errorFiles().filter((f) => !/syntax_/.test(f))]) {
      const tokens = tokenize(read(file));
      for (const t of tokens) {
        const where = `${file}:${t.line}:${t.column} "${t.text}" ${t.scopes.join(' ')}`;
        expect(t.scopes.some((s) => s.includes('invalid')), where).toBe(false);
        if (t.text.trim() === '') continue;
        expect(t.scopes.length, `unscoped: ${where}`).toBeGreaterThan(1);
        if (has(t, 'comment') || has(t, 'string') || has(t, 'entity.name.type.optimizer')) continue; // an optimizer may be named like a component (ekfac)
        const word = t.text.trim();
        if ((TM_KEYWORDS as readonly string[]).includes(word)) {
          expect(has(t, `keyword.other.${word}`), where).toBe(true);
          keywords++;
        } else if ((TM_BOOLEANS as readonly string[]).includes(word)) expect(has(t, 'constant.language.boolean'), where).toBe(true);
        else if (componentNames.has(word) && !has(t, 'variable.other.property.clause') && !has(t, 'variable.parameter.argument')) {
          expect(has(t, 'support.function.component'), where).toBe(true);
          comps++;
        } else if (clauseNames.has(word)) expect(has(t, 'variable.other.property.clause') || has(t, 'constant.language.value') || has(t, 'variable.parameter'), where).toBe(true);
        else if (argumentValues().includes(word)) expect(has(t, 'constant.language.value'), where).toBe(true);
        else if (/^-?[0-9]/.test(word)) expect(has(t, 'constant.numeric'), where).toBe(true);
      }
    }
    expect(keywords).toBeGreaterThan(20);
    expect(comps).toBeGreaterThan(80);
  });

  it('keeps comments and strings whole, and numbers in every form the ohm grammar reads', () => {
    const t = tokenize('optimizer a "k(1) # not a comment" { # step = lr(1)\n  step = lr(-1.5e-3)\n}');
    expect(t.filter((x) => has(x, 'comment')).map((x) => x.text)).toEqual(['# step = lr(1)']);
    expect(t.filter((x) => has(x, 'string')).map((x) => x.text).join('')).toBe('"k(1) # not a comment"');
    expect(t.find((x) => x.text === 'a')!.scopes).toContain('entity.name.type.optimizer.optim');
    for (const n of ['0', '12', '0.5', '1e-3', '1E+10', '-2.5e7']) expect(tokenize(`  step = lr(${n})`).find((x) => x.text === n)?.scopes, n).toContain('constant.numeric.optim');
  });
});

describe('VS Code extension manifest (editors/vscode)', () => {
  it('wires the .optim language, this grammar and `geodesic lsp --stdio`', async () => {
    const manifest = JSON.parse(read('editors/vscode/package.json')) as {
      main: string;
      contributes: { languages: { id: string; extensions: string[]; configuration: string }[]; grammars: { language: string; scopeName: string; path: string }[] };
    };
    const [lang] = manifest.contributes.languages;
    const [g] = manifest.contributes.grammars;
    expect(lang).toMatchObject({ id: 'optim', extensions: ['.optim'] });
    expect(g).toMatchObject({ language: 'optim', scopeName: 'source.optim' });
    expect(path.normalize(path.join('editors/vscode', g!.path))).toBe(path.normalize(GRAMMAR_FILE));
    expect(JSON.parse(read(GRAMMAR_FILE)).scopeName).toBe(g!.scopeName);
    expect(() => JSON.parse(read(path.join('editors/vscode', lang!.configuration)))).not.toThrow();
    // the extension's server command, with `vscode` and the client library stubbed (they exist only inside VS Code)
    const Module = require('node:module') as { _load: (r: string, ...rest: unknown[]) => unknown };
    const load = Module._load;
    Module._load = (r: string, ...rest: unknown[]) =>
      r === 'vscode'
        ? { workspace: { getConfiguration: () => ({ get: (_k: string, d: string) => d }) } }
        : r === 'vscode-languageclient/node'
          ? { LanguageClient: class {}, TransportKind: { stdio: 0 } }
          : load(r, ...rest);
    try {
      const ext = require(path.resolve('editors/vscode', manifest.main)) as { serverOptions(): { command: string; args: string[] } };
      expect(ext.serverOptions()).toMatchObject({ command: 'geodesic', args: ['lsp', '--stdio'] });
    } finally {
      Module._load = load;
    }
  });
});
