/**
 * Dense host solvers: geodesic's own flat-Float64Array Cholesky / tred2+tql2 / SPD inverse (JS),
 * the same calls through the registered native kernels (src/solvers/kernels.ts, when the addon is
 * built), and ml-matrix.
 * Run: npx vite-node bench/solvers.ts [sizes…]   (default 100 500 1000)
 * Prints median wall time (ms) per decomposition, the reconstruction error, and the load average.
 */
import { CholeskyDecomposition, EigenvalueDecomposition, Matrix } from 'ml-matrix';
import * as E from 'fp-ts/lib/Either.js';
import { cholesky, setDenseKernels, spdInverse, symmetricEigen, withDenseKernels } from '../src/solvers/index.js';
import { nativeDenseKernels } from '../src/backend/linalg.js';
import { loadavg } from 'node:os';

const spd = (n: number, seed: number): Float64Array => {
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const B = new Float64Array(n * n).map(() => rnd());
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let v = 0;
      for (let k = 0; k < n; k++) v += B[i * n + k]! * B[j * n + k]!;
      A[i * n + j] = v / n;
      A[j * n + i] = v / n;
    }
  for (let i = 0; i < n; i++) A[i * n + i] += 1e-3;
  return A;
};

const time = (f: () => void, reps: number): number => {
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)]!;
};

const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
for (const n of sizes.length ? sizes : [100, 500, 1000]) {
  const A = spd(n, n);
  const M = new Matrix(Array.from({ length: n }, (_, i) => Array.from(A.subarray(i * n, (i + 1) * n))));
  const reps = n <= 100 ? 9 : n <= 500 ? 3 : 1;
  const native = nativeDenseKernels();
  const nat = native
    ? withDenseKernels(native, () => ({
        chol: time(() => void cholesky(A, n), reps),
        inv: time(() => void spdInverse(A, n), reps),
        eig: time(() => void symmetricEigen(A, n), reps),
      }))
    : undefined;
  setDenseKernels(null);
  const ourChol = time(() => void cholesky(A, n), reps);
  const ourInv = time(() => void spdInverse(A, n), reps);
  const mlChol = time(() => void new CholeskyDecomposition(M), reps);
  const ourEig = time(() => void symmetricEigen(A, n), reps);
  const mlEig = time(() => void new EigenvalueDecomposition(M, { assumeSymmetric: true }), reps);
  // accuracy: ‖A − V diag(s) Vᵀ‖_max / ‖A‖_max
  const eig = symmetricEigen(A, n);
  let err = NaN;
  if (E.isRight(eig)) {
    const { values, vectors } = eig.right;
    let maxA = 0;
    err = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let v = 0;
        for (let k = 0; k < n; k++) v += vectors[i * n + k]! * values[k]! * vectors[j * n + k]!;
        err = Math.max(err, Math.abs(v - A[i * n + j]!));
        maxA = Math.max(maxA, Math.abs(A[i * n + j]!));
      }
    err /= maxA;
  }
  console.log(
    `n=${n}: cholesky JS ${ourChol.toFixed(1)} ms, ml-matrix ${mlChol.toFixed(1)} ms` +
      (nat ? `, native ${nat.chol.toFixed(1)} ms` : '') +
      ` | spdInverse JS ${ourInv.toFixed(1)} ms` +
      (nat ? `, native ${nat.inv.toFixed(1)} ms` : '') +
      ` | eigen JS ${ourEig.toFixed(1)} ms, ml-matrix ${mlEig.toFixed(1)} ms` +
      (nat ? `, native ${nat.eig.toFixed(1)} ms` : '') +
      ` | eigen (JS) rel. reconstruction error ${err.toExponential(2)} | load ${loadavg()[0]!.toFixed(2)}`,
  );
}
