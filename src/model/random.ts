/**
 * Seeded, platform-independent pseudo-random numbers on the host (no tfjs): every random choice
 * geodesic makes outside tfjs kernels (initialisation, synthetic data, subsampling, shuffling)
 * goes through this generator, so runs are reproducible across backends.
 *
 * The generator is splitmix32 (a 32-bit variant of SplitMix); normals use Box–Muller.
 */

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal. */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

/** Mixes a number seed (any finite number) into a 32-bit state. */
function seedState(seed: number): number {
  let h = Math.floor(seed) >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  h = Math.imul(h ^ (hi + 0x9e3779b9), 0x85ebca6b) >>> 0;
  return h;
}

export function makeRng(seed: number): Rng {
  let state = seedState(seed);
  let spare: number | undefined;
  const next = (): number => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = next();
    while (u === 0) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, normal, int };
}

/** Derives an independent seed from a seed and a stream index (for sub-generators). */
export function deriveSeed(seed: number, stream: number): number {
  const r = makeRng(seedState(seed) ^ Math.imul(stream + 1, 0x27d4eb2f));
  return Math.floor(r.next() * 4294967296);
}

/** A seeded Fisher–Yates permutation of 0..n-1. */
export function permutation(n: number, seed: number): Int32Array {
  const rng = makeRng(seed);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
