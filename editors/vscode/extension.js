// The VS Code side of geodesic's editor support: starts `geodesic lsp --stdio` (diagnostics, hover,
// completion, formatting) for .optim files. Highlighting comes from syntaxes/optim.tmLanguage.json.
'use strict';
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** The server command: `geodesic` on PATH, or the `geodesic.server.command` setting. */
function serverOptions() {
  const command = vscode.workspace.getConfiguration('geodesic').get('server.command', 'geodesic');
  return { command, args: ['lsp', '--stdio'], transport: TransportKind.stdio };
}

let client;

function activate(context) {
  client = new LanguageClient('geodesic', 'geodesic', serverOptions(), { documentSelector: [{ language: 'optim' }] });
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate, serverOptions };
