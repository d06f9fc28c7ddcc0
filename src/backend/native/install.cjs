// Build the addon with node-gyp against the RUNNING Node's own headers (no download), so that
// `npm ci` works offline. Never fails the install: without a compiler the package stays
// unbuilt, the failure is recorded in build-error.log, and geodesic falls back to plain wasm.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = __dirname;
const logFile = path.join(here, 'build-error.log');

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => fs.existsSync(c));
}

/** The running Node's install prefix if it ships headers (include/node/node_api.h). */
function findNodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const ok = (dir) => fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h')) && fs.existsSync(path.join(dir, 'include', 'node', 'common.gypi'));
  return ok(prefix) ? prefix : undefined;
}

function main() {
  try { fs.rmSync(logFile, { force: true }); } catch {}
  if (process.env.GEODESIC_NATIVE === '0') {
    fs.writeFileSync(logFile, 'build skipped (GEODESIC_NATIVE=0 at install time)\n');
    return;
  }
  const gyp = findNodeGyp();
  if (!gyp) {
    fs.writeFileSync(logFile, 'build skipped: node-gyp not found (looked next to npm and in node_modules)\n');
    console.warn('geodesic-native: node-gyp not found; geodesic will use the wasm backend');
    return;
  }
  const args = [gyp, 'rebuild', '--release'];
  const nodedir = findNodeDir();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const r = spawnSync(process.execPath, args, { cwd: here, encoding: 'utf8', env: process.env });
  if (r.status !== 0) {
    fs.writeFileSync(logFile, `build failed at install: node-gyp exited ${r.status} (no C++ toolchain?)\n` +
      `node ${args.join(' ')}\n${r.error ? r.error.message + '\n' : ''}${r.stdout}\n${r.stderr}\n`);
    console.warn('geodesic-native: build failed (no C++ toolchain?); geodesic will use the wasm backend. See ' + logFile);
    return;
  }
}

main();
