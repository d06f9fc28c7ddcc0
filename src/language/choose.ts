import * as E from 'fp-ts/lib/Either.js';

/**
 * The optimizer a command uses when the user names none: the only one defined in `file`, or else
 * the one named after the file (`kfac.optim` → `kfac`). Left: why none could be chosen.
 */
export function defaultOptimizer<T>(items: readonly T[], nameOf: (t: T) => string, file: string): E.Either<string, T> {
  if (items.length === 1) return E.right(items[0]!);
  const base = file.replace(/^.*[\\/]/, '').replace(/\.optim$/, '');
  const named = items.find((t) => nameOf(t) === base);
  if (named !== undefined) return E.right(named);
  return E.left(`${file} defines ${items.length} optimizers (${items.map(nameOf).join(', ')}); choose one with --optimizer NAME`);
}
