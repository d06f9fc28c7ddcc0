/** Shared by the backend tests: deterministic data both backends see identically, and errors. */

/** n values uniform in [−scale/2, scale/2) from a fixed LCG (seeded), float32 or float64. */
export function lcgData(n: number, seed: number, scale = 1): Float32Array {
  return Float32Array.from(lcgValues(n, seed, scale));
}
export function lcgData64(n: number, seed: number, scale = 1): Float64Array {
  return Float64Array.from(lcgValues(n, seed, scale));
}
function lcgValues(n: number, seed: number, scale: number): number[] {
  const out = new Array<number>(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * scale;
  }
  return out;
}

/** max |x − ref| / max(floor, max |ref|): the error relative to the reference's largest entry. */
export function maxRelErr(x: ArrayLike<number>, ref: ArrayLike<number>, floor: number): number {
  let scale = floor;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]!));
  let e = 0;
  for (let i = 0; i < ref.length; i++) e = Math.max(e, Math.abs(x[i]! - ref[i]!));
  return e / scale;
}
