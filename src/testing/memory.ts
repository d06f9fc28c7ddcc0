/**
 * Leak checks: run `fn` and require that `tf.memory().numTensors` is back to where it was, up to
 * `allowed` extra tensors (e.g. state the caller keeps on purpose).
 */
import * as tf from '@tensorflow/tfjs';

export class TensorLeakError extends Error {
  override readonly name = 'TensorLeakError';
}

export interface LeakOptions {
  /** Tensors `fn` may legitimately leave alive (default 0). */
  readonly allowed?: number;
}

function check(before: number, allowed: number, what: string): void {
  const after = tf.memory().numTensors;
  if (after - before > allowed) {
    throw new TensorLeakError(`${what} leaked ${after - before - allowed} tensor(s): ${before} before, ${after} after (${allowed} allowed)`);
  }
}

/** Run fn (sync) and throw TensorLeakError if it leaves more than `allowed` tensors alive. Returns fn's result. */
export function expectNoLeak<T>(fn: () => T, options: LeakOptions = {}, what = 'function'): T {
  const before = tf.memory().numTensors;
  const result = fn();
  if (result instanceof Promise) throw new Error('expectNoLeak: use expectNoLeakAsync for async functions');
  check(before, options.allowed ?? 0, what);
  return result;
}

/** Async variant of expectNoLeak. */
export async function expectNoLeakAsync<T>(fn: () => Promise<T>, options: LeakOptions = {}, what = 'function'): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  check(before, options.allowed ?? 0, what);
  return result;
}
