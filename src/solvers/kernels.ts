/**
 * Registry of optional accelerated dense float64 kernels (dependency inversion): src/solvers
 * defines what it can use, a backend (src/backend/select.ts) registers an implementation, and
 * every dense solver falls back to its own JS code when none is registered or the kernel declines.
 *
 * A kernel receives a symmetric, finite, row-major n×n matrix (the solvers validate and
 * symmetrize first) and returns `undefined` when it cannot answer (not positive definite, no
 * convergence, addon missing); the JS path then runs and produces the diagnostics (jitter
 * retries, error values). Kernels must not keep or modify their input.
 */

export interface DenseKernels {
  /** Short name for reports, e.g. 'native (avx512)'. */
  readonly name: string;
  /** Lower Cholesky factor L (row-major, zero upper triangle) of A + damping·I, or undefined. */
  readonly cholesky?: (A: Float64Array, n: number, damping: number) => Float64Array | undefined;
  /** (A + damping·I)⁻¹ (row-major, both triangles), or undefined. */
  readonly spdInverse?: (A: Float64Array, n: number, damping: number) => Float64Array | undefined;
  /**
   * Several (A + damping·I)⁻¹ in one call (each as `spdInverse`; undefined where it declines), so
   * a backend can spread the matrices over its threads.
   */
  readonly spdInverseMany?: (items: readonly { A: Float64Array; n: number; damping: number }[]) => (Float64Array | undefined)[];
  /** A = V diag(values) Vᵀ, values ascending, `vectors` row-major with eigenvector j in column j; or undefined. */
  readonly symmetricEigen?: (A: Float64Array, n: number) => { values: Float64Array; vectors: Float64Array } | undefined;
}

/** The pure-JS kernel set: nothing registered, every solver uses its own code. */
export const JS_KERNELS: DenseKernels = { name: 'js' };

let current: DenseKernels = JS_KERNELS;

/** Registers accelerated kernels (missing entries use JS); `null` restores the JS-only set. */
export function setDenseKernels(kernels: DenseKernels | null): void {
  current = kernels ?? JS_KERNELS;
}

/** The registered kernels (JS_KERNELS when none). */
export function denseKernels(): DenseKernels {
  return current;
}

/** Runs f with `kernels` registered, restoring the previous set afterwards (tests, benchmarks). */
export function withDenseKernels<T>(kernels: DenseKernels | null, f: () => T): T {
  const prev = current;
  current = kernels ?? JS_KERNELS;
  try {
    return f();
  } finally {
    current = prev;
  }
}
