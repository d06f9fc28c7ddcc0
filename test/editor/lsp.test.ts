/**
 * `geodesic lsp --stdio` spawned for real (bin/geodesic.js → dist/; `npm test` builds first) and
 * driven by an LSP client (vscode-jsonrpc over the child's stdio): diagnostics at the positions
 * `geodesic check --json` prints, hover from the registry, completion, formatting through `fmt`.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as rpc from 'vscode-jsonrpc/node.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { components } from '../../src/language/registry.js';

interface Diag {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  message: string;
  severity: number;
}

let child: ChildProcessWithoutNullStreams;
let conn: rpc.MessageConnection;
const published = new Map<string, Diag[][]>();
let stderr = '';

/** The next diagnostics published for `uri` after `since` publications. */
async function diagnosticsFor(uri: string, since: number): Promise<Diag[]> {
  for (let k = 0; k < 400; k++) {
    const got = published.get(uri) ?? [];
    if (got.length > since) return got[got.length - 1]!;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no diagnostics for ${uri} (server stderr: ${stderr})`);
}

const dir = mkdtempSync(path.join(tmpdir(), 'geodesic-lsp-'));
let version = 1;

function open(name: string, text: string, onDisk = true): string {
  const file = path.join(dir, name);
  if (onDisk) writeFileSync(file, text);
  const uri = pathToFileURL(file).href;
  void conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'optim', version: version++, text } });
  return uri;
}

beforeAll(async () => {
  child = spawn(process.execPath, ['bin/geodesic.js', 'lsp', '--stdio'], { stdio: 'pipe' });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  conn = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: Diag[] }) => {
    published.set(p.uri, [...(published.get(p.uri) ?? []), p.diagnostics]);
  });
  conn.listen();
  const init = (await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} })) as { capabilities: Record<string, unknown> };
  expect(init.capabilities).toMatchObject({ hoverProvider: true, documentFormattingProvider: true });
  await conn.sendNotification('initialized', {});
});

afterAll(async () => {
  await conn.sendRequest('shutdown');
  await conn.sendNotification('exit');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  expect(code).toBe(0);
  conn.dispose();
});

describe('geodesic lsp --stdio', () => {
  it('publishes the diagnostics of geodesic check --json, at the same positions, with the did-you-mean', async () => {
    const file = 'examples/errors/three_mistakes.optim';
    const text = readFileSync(file, 'utf8');
    const uri = open('three_mistakes.optim', text);
    const ds = await diagnosticsFor(uri, 0);
    const cli = JSON.parse(spawnSync(process.execPath, ['bin/geodesic.js', 'check', '--json', file], { encoding: 'utf8' }).stdout) as {
      line: number; column: number; endLine: number; endColumn: number; message: string; hint?: string;
    }[];
    expect(cli.length).toBe(3);
    expect(ds.map((d) => [d.range.start.line + 1, d.range.start.character + 1, d.range.end.line + 1, d.range.end.character + 1])).toEqual(
      cli.map((d) => [d.line, d.column, d.endLine, d.endColumn]),
    );
    expect(ds.map((d) => d.message)).toEqual(cli.map((d) => (d.hint === undefined ? d.message : `${d.message}\nhint: ${d.hint}`)));
    expect(ds[0]!.message).toContain('did you mean "refresh"?');
  });

  it('re-checks on every change: a fix clears the diagnostics', async () => {
    const uri = open('typo.optim', 'optimizer a {\n  step = lr(eta: -1)\n}\n');
    const before = await diagnosticsFor(uri, 0);
    expect(before).toHaveLength(1);
    expect(before[0]!.range.start).toEqual({ line: 1, character: 17 });
    void conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: version++ },
      contentChanges: [{ range: { start: { line: 1, character: 17 }, end: { line: 1, character: 19 } }, text: '0.1' }],
    });
    expect(await diagnosticsFor(uri, 1)).toEqual([]);
  });

  it('resolves imports from disk and from open documents', async () => {
    writeFileSync(path.join(dir, 'base.optim'), 'optimizer base {\n  step = lr(0.1)\n}\n');
    const uri = open('child.optim', 'import "base.optim"\noptimizer child extends base {\n  momentum = heavy_ball(0.9)\n}\n');
    expect(await diagnosticsFor(uri, 0)).toEqual([]);
    // an import that exists only as an open (unsaved) document
    open('unsaved.optim', 'optimizer unsaved {\n  step = lr(0.2)\n}\n', false);
    const viaEditor = open('uses_unsaved.optim', 'import "unsaved.optim"\noptimizer u2 extends unsaved {\n}\n');
    expect(await diagnosticsFor(viaEditor, 0)).toEqual([]);
    const bad = open('orphan.optim', 'optimizer child extends nowhere {\n}\n');
    const ds = await diagnosticsFor(bad, 0);
    expect(ds[0]!.message).toMatch(/nowhere/);
  });

  it('hovers with the registry documentation of every component used in the examples', async () => {
    const text = readFileSync('examples/kfac.optim', 'utf8');
    const uri = open('kfac.optim', text);
    const names = [...new Set([...text.replace(/#.*$/gm, '').matchAll(/\b([a-z_]+)\(/g)].map((m) => m[1]!))];
    expect(names).toEqual(expect.arrayContaining(['kfac', 'fisher', 'every']));
    for (const name of names) {
      const offset = text.replace(/#.*$/gm, (m) => ' '.repeat(m.length)).search(new RegExp(`\\b${name}\\(`));
      const before = text.slice(0, offset);
      const position = { line: before.split('\n').length - 1, character: offset - before.lastIndexOf('\n') - 1 + 1 };
      const h = (await conn.sendRequest('textDocument/hover', { textDocument: { uri }, position })) as { contents: { value: string } } | null;
      expect(h, name).not.toBeNull();
      const docs = components.filter((c) => c.name === name).map((c) => c.doc);
      expect(docs.some((d) => h!.contents.value.includes(d)), `${name}: ${h!.contents.value}`).toBe(true);
    }
  });

  it('completes clause names, component names of the clause, and arguments', async () => {
    const text = 'optimizer a {\n  dam\n  step = lr(\n  momentum = nest\n}\n';
    const uri = open('complete.optim', text);
    const labels = async (line: number, character: number) =>
      ((await conn.sendRequest('textDocument/completion', { textDocument: { uri }, position: { line, character } })) as { label: string; textEdit: { newText: string; range: { start: { character: number } } } }[]);
    const clause = await labels(1, 5);
    expect(clause.map((c) => c.label)).toContain('damping');
    expect(clause.find((c) => c.label === 'damping')!.textEdit).toMatchObject({ newText: 'damping = ', range: { start: { character: 2 } } });
    expect((await labels(2, 12)).map((c) => c.label)).toEqual(expect.arrayContaining(['eta', 'cosine']));
    const momentum = (await labels(3, 17)).map((c) => c.label);
    expect(momentum).toEqual(expect.arrayContaining(['nesterov', 'heavy_ball', 'none']));
    expect(momentum).not.toContain('kfac');
  });

  it('formats through the fmt printer, and leaves a text that does not parse alone', async () => {
    const messy = 'optimizer   a {\n step=lr(  0.1 )   # keep me\n}\n';
    const uri = open('messy.optim', messy);
    const edits = (await conn.sendRequest('textDocument/formatting', { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } })) as { newText: string }[];
    const fmtFile = path.join(dir, 'messy-cli.optim');
    writeFileSync(fmtFile, messy);
    expect(spawnSync(process.execPath, ['bin/geodesic.js', 'fmt', fmtFile], { encoding: 'utf8' }).status).toBe(0);
    expect(edits).toHaveLength(1);
    expect(edits[0]!.newText).toBe(readFileSync(fmtFile, 'utf8'));
    expect(edits[0]!.newText).toContain('# keep me');
    const broken = open('broken.optim', 'optimizer a {\n step = \n');
    expect(await conn.sendRequest('textDocument/formatting', { textDocument: { uri: broken }, options: { tabSize: 2, insertSpaces: true } })).toEqual([]);
  });
});
