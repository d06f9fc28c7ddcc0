/**
 * `geodesic lsp --stdio`: a Language Server for `.optim` files (vscode-languageserver). Diagnostics
 * as you type (the checker's, at the positions `geodesic check` prints), hover documentation from the
 * registry, completion of clauses, components and arguments — all computed by src/editor/service.ts,
 * the module the playground uses — and document formatting through `geodesic fmt`'s printer.
 * Imports are read from the open documents first, then from disk.
 */
import * as E from 'fp-ts/lib/Either.js';
import { fileURLToPath, pathToFileURL } from 'node:url';
import lsp from 'vscode-languageserver/node.js';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { ReadFile } from '../language/check.js';
import { readFileNode } from '../language/files.js';
import { format } from '../language/print.js';
import { complete, diagnose, hover, type CompletionKind } from '../editor/service.js';
import { withArgs, type CommandSpec } from './args.js';

export const summary = 'run the language server for .optim files over stdio (diagnostics, hover, completion, formatting)';

export const spec: CommandSpec = {
  name: 'lsp',
  usage: '--stdio',
  summary,
  description:
    'Speaks the Language Server Protocol on stdin/stdout for editors (VS Code: editors/vscode).\n' +
    'Diagnostics, hover, completion and formatting; see docs/editors.md.',
  flags: { stdio: { type: 'boolean', doc: 'talk LSP over stdin/stdout (the only transport)' } },
  maxPositionals: 0,
};

const KIND: Readonly<Record<CompletionKind, lsp.CompletionItemKind>> = {
  keyword: lsp.CompletionItemKind.Keyword,
  clause: lsp.CompletionItemKind.Property,
  component: lsp.CompletionItemKind.Function,
  argument: lsp.CompletionItemKind.Field,
  value: lsp.CompletionItemKind.Value,
};

/** A file path for a document URI (file: URIs; others are used as they are). */
const fileOf = (uri: string): string => (uri.startsWith('file:') ? fileURLToPath(uri) : uri);

export function startServer(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): lsp.Connection {
  const connection = lsp.createConnection(new lsp.StreamMessageReader(input), new lsp.StreamMessageWriter(output));
  const documents = new lsp.TextDocuments(TextDocument);

  const read: ReadFile = (file) => {
    const open = documents.get(pathToFileURL(file).href);
    return open !== undefined ? E.right(open.getText()) : readFileNode(file);
  };

  const validate = (doc: TextDocument): void => {
    const diagnostics = diagnose(fileOf(doc.uri), doc.getText(), read).map(
      (d): lsp.Diagnostic => ({
        range: { start: doc.positionAt(d.from), end: doc.positionAt(d.to) },
        severity: d.severity === 'error' ? lsp.DiagnosticSeverity.Error : lsp.DiagnosticSeverity.Warning,
        source: 'geodesic',
        message: d.hint === undefined ? d.message : `${d.message}\nhint: ${d.hint}`,
      }),
    );
    void connection.sendDiagnostics({ uri: doc.uri, diagnostics });
  };

  connection.onInitialize(
    (): lsp.InitializeResult => ({
      capabilities: {
        textDocumentSync: lsp.TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        completionProvider: { triggerCharacters: ['(', ',', ':', '=', '>', ' '] },
        documentFormattingProvider: true,
      },
      serverInfo: { name: 'geodesic' },
    }),
  );
  documents.onDidChangeContent((e) => validate(e.document));
  documents.onDidClose((e) => void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] }));

  connection.onHover((p): lsp.Hover | null => {
    const doc = documents.get(p.textDocument.uri);
    if (doc === undefined) return null;
    const h = hover(doc.getText(), doc.offsetAt(p.position));
    return h === undefined ? null : { contents: { kind: lsp.MarkupKind.Markdown, value: h.markdown }, range: { start: doc.positionAt(h.from), end: doc.positionAt(h.to) } };
  });

  connection.onCompletion((p): lsp.CompletionItem[] => {
    const doc = documents.get(p.textDocument.uri);
    if (doc === undefined) return [];
    const offset = doc.offsetAt(p.position);
    const c = complete(doc.getText(), offset);
    const range = { start: doc.positionAt(c.from), end: p.position };
    return c.items.map((i) => ({
      label: i.label,
      kind: KIND[i.kind],
      detail: i.detail,
      documentation: { kind: lsp.MarkupKind.Markdown, value: i.documentation },
      textEdit: { range, newText: i.insert ?? i.label },
    }));
  });

  connection.onDocumentFormatting((p): lsp.TextEdit[] => {
    const doc = documents.get(p.textDocument.uri);
    if (doc === undefined) return [];
    const text = doc.getText();
    const formatted = format(fileOf(doc.uri), text);
    if (E.isLeft(formatted) || formatted.right === text) return []; // a text that does not parse is left alone; its diagnostics say why
    return [{ range: { start: doc.positionAt(0), end: doc.positionAt(text.length) }, newText: formatted.right }];
  });

  documents.listen(connection);
  connection.listen();
  return connection;
}

export async function run(argv: string[]): Promise<number> {
  return withArgs(spec, argv, async ({ flags }) => {
    if (flags['stdio'] !== true) {
      process.stderr.write('geodesic lsp: give --stdio (the language server talks LSP over stdin/stdout)\n(see geodesic lsp --help)\n');
      return 2;
    }
    const connection = startServer(process.stdin, process.stdout);
    // The client ends the session with shutdown + exit (the library then exits the process), or closes stdin.
    return new Promise<number>((resolve) => {
      connection.onExit(() => resolve(0));
      process.stdin.on('end', () => resolve(0));
    });
  });
}
