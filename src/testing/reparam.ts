/**
 * Reparametrizations realised as genuinely different models (docs/theory.md §2).
 *
 * Around a dense layer z = aW + b we insert fixed, non-trainable layers a ↦ aΩ + ω (before) and
 * z' ↦ z'Φ + ψ (after, on the pre-activation). The new model's dense layer has its own weights
 * (V, b_v); it computes the same function as the original when
 *   W = Ω V Φ,   b = ω V Φ + b_v Φ + ψ   ⇔   V = Ω⁻¹ W Φ⁻¹,  b_v = (b − ψ)Φ⁻¹ − ω V.
 * The engine only ever sees the new ModelDef and its parameters φ; T is used to build φ₀ and for
 * reporting, never handed to the optimizer.
 */
import type { LayerDef, ModelDef, ParamMap } from '../model/types.js';
import { diagMat, eye, invert, matmul, rand, randomInvertible, signedLogUniform, vecmat, type Mat } from './linalg.js';

export type ParamFamily = 'elementwise' | 'layer-affine' | 'linear';
export type Family = ParamFamily | 'loss-scale';
export const FAMILIES: readonly Family[] = ['elementwise', 'layer-affine', 'linear', 'loss-scale'];

/** The fixed maps around one dense layer (identity/zero where a layer is untouched). */
export interface LayerMap {
  readonly denseIndex: number;
  readonly omega: Mat; // in × in
  readonly omegaOffset: readonly number[]; // in
  readonly phi: Mat; // out × out
  readonly phiOffset: readonly number[]; // out
}

/** A map of one dense layer's own parameters φ = [vec W (row-major); b]: θ_l = T φ_l (src/model ParamMap). */
export interface LayerParamMap {
  readonly denseIndex: number;
  readonly map: ParamMap;
}

export interface Reparametrization {
  readonly family: ParamFamily;
  readonly seed: number;
  /** Fixed layers around dense layers (layer-affine). */
  readonly maps: readonly LayerMap[];
  /** Parameter maps of dense layers (elementwise: diagonal; linear: a general invertible T). */
  readonly paramMaps: readonly LayerParamMap[];
}

/** How the `elementwise` and `linear` families are realised: 'kronecker' (fixed layers around dense
 * layers: per-unit scaling, Ω̄ ⊗ Φᵀ maps) or 'param-map' (a dense layer's own parameter map). */
export const PARAM_MAP_REALISATION: 'kronecker' | 'param-map' = 'param-map';

/** Bounds that keep maps well-conditioned yet far from orthogonal (docs/theory.md §5.1). */
export const MAX_SCALE = 4; // elementwise scales in [1/4, 4] with random signs
export const MAX_COND = 16; // cond(Ω), cond(Φ) for the dense families

const dims = (def: ModelDef): { inDim: number; outDim: number }[] =>
  def.layers.flatMap((l) => (l.kind === 'dense' ? [{ inDim: l.inDim, outDim: l.outDim }] : []));

/** Draw the maps of a family for a model, deterministically from `seed`. For `linear`, `layer`
 * picks the one dense layer transformed (default: seed mod #layers). */
export function drawReparametrization(def: ModelDef, family: ParamFamily, seed: number, layer?: number): Reparametrization {
  const r = rand(seed ^ 0x1b873593);
  const ds = dims(def);
  const chosen = layer ?? seed % ds.length;
  const maps: LayerMap[] = [];
  const paramMaps: LayerParamMap[] = [];
  ds.forEach((d, k) => {
    const size = d.inDim * d.outDim + d.outDim;
    switch (family) {
      case 'elementwise':
        // θ = Dφ with an independent scale per parameter (not rank one over W: not a Kronecker map).
        paramMaps.push({ denseIndex: k, map: { kind: 'scale', scale: Array.from({ length: size }, () => signedLogUniform(r, MAX_SCALE)) } });
        break;
      case 'layer-affine':
        maps.push({
          denseIndex: k,
          omega: randomInvertible(d.inDim, r, MAX_COND),
          omegaOffset: Array.from({ length: d.inDim }, () => r.normal()),
          // On a softmax head, Φ keeps the all-ones direction (1Φ ∝ 1, Φ1 ∝ 1). Otherwise K-FAC's λ→0
          // limit keeps a λ-independent common-logit-shift component of relative size ~cond(T)²:
          // harmless in exact arithmetic, but float32 logits cannot absorb it (docs/theory.md §5.1).
          phi: randomInvertible(d.outDim, r, MAX_COND, k === ds.length - 1 && def.likelihood === 'categorical' ? new Array<number>(d.outDim).fill(1) : undefined),
          phiOffset: Array.from({ length: d.outDim }, () => 0.5 * r.normal()),
        });
        break;
      case 'linear':
        // θ_l = Tφ_l with a dense, well-conditioned, far-from-orthogonal T mixing all of W and b.
        if (k === chosen) paramMaps.push({ denseIndex: k, map: { kind: 'linear', matrix: randomInvertible(size, r, MAX_COND) } });
        break;
    }
  });
  return { family, seed, maps, paramMaps };
}

const applyMap = (m: ParamMap, v: readonly number[]): number[] =>
  m.kind === 'scale' ? v.map((x, i) => x * m.scale[i]!) : m.matrix.map((row) => row.reduce((acc, t, j) => acc + t * v[j]!, 0));

function invertMap(m: ParamMap, v: readonly number[]): number[] {
  if (m.kind === 'scale') return v.map((x, i) => x / m.scale[i]!);
  const inv = invert(m.matrix.map((row) => [...row]));
  return inv.map((row) => row.reduce((acc, t, j) => acc + t * v[j]!, 0));
}

/** The reparametrized model: fixed layers inserted around each mapped dense layer. */
export function reparametrizedDef(def: ModelDef, rp: Reparametrization): ModelDef {
  const layers: LayerDef[] = [];
  let k = 0;
  for (const l of def.layers) {
    if (l.kind !== 'dense') {
      layers.push(l);
      continue;
    }
    const m = rp.maps.find((x) => x.denseIndex === k);
    const pm = rp.paramMaps.find((x) => x.denseIndex === k);
    if (m) layers.push({ kind: 'fixed_linear', matrix: m.omega, offset: [...m.omegaOffset] });
    layers.push(pm ? { ...l, paramMap: pm.map } : l);
    if (m) layers.push({ kind: 'fixed_linear', matrix: m.phi, offset: [...m.phiOffset] });
    k++;
  }
  return { ...def, layers };
}

const toMat = (a: Float64Array, rows: number, cols: number): Mat => Array.from({ length: rows }, (_, i) => Array.from(a.subarray(i * cols, (i + 1) * cols)));

/** φ₀ = T⁻¹(θ₀ − c): the new model's parameters that make it compute the original function. */
export function pullBackParams(def: ModelDef, rp: Reparametrization, theta: readonly Float64Array[]): Float64Array[] {
  const ds = dims(def);
  const out: Float64Array[] = [];
  ds.forEach((d, k) => {
    const W = theta[2 * k]!;
    const b = theta[2 * k + 1]!;
    const pm = rp.paramMaps.find((x) => x.denseIndex === k);
    if (pm) {
      const phi = invertMap(pm.map, [...W, ...b]);
      out.push(Float64Array.from(phi.slice(0, W.length)), Float64Array.from(phi.slice(W.length)));
      return;
    }
    const m = rp.maps.find((x) => x.denseIndex === k);
    if (!m) {
      out.push(Float64Array.from(W), Float64Array.from(b));
      return;
    }
    const oi = invert(m.omega);
    const pi = invert(m.phi);
    const V = matmul(matmul(oi, toMat(W, d.inDim, d.outDim)), pi);
    const bMinus = [...b].map((x, j) => x - m.phiOffset[j]!);
    const bv = vecmat(bMinus, pi).map((x, j) => x - vecmat(m.omegaOffset, V)[j]!);
    out.push(Float64Array.from(V.flat()), Float64Array.from(bv));
  });
  return out;
}

/** θ = Tφ + c: push the new model's parameters back to the original parametrization. */
export function pushForwardParams(def: ModelDef, rp: Reparametrization, phi: readonly Float64Array[]): Float64Array[] {
  const ds = dims(def);
  const out: Float64Array[] = [];
  ds.forEach((d, k) => {
    const V = phi[2 * k]!;
    const bv = phi[2 * k + 1]!;
    const pm = rp.paramMaps.find((x) => x.denseIndex === k);
    if (pm) {
      const theta = applyMap(pm.map, [...V, ...bv]);
      out.push(Float64Array.from(theta.slice(0, V.length)), Float64Array.from(theta.slice(V.length)));
      return;
    }
    const m = rp.maps.find((x) => x.denseIndex === k);
    if (!m) {
      out.push(Float64Array.from(V), Float64Array.from(bv));
      return;
    }
    const Vm = toMat(V, d.inDim, d.outDim);
    const W = matmul(matmul(m.omega, Vm), m.phi);
    const b = vecmat(vecmat(m.omegaOffset, Vm), m.phi).map((x, j) => x + vecmat([...bv], m.phi)[j]! + m.phiOffset[j]!);
    out.push(Float64Array.from(W.flat()), Float64Array.from(b));
  });
  return out;
}

/** Loss scaling L ↦ cL with a Gaussian head, as a different model: f̃ = √c·f, targets √c·t
 * (c·½‖f − t‖² = ½‖√c f − √c t‖²). */
export function lossScaledGaussianDef(def: ModelDef, c: number): ModelDef {
  if (def.likelihood !== 'gaussian') throw new Error(`loss scaling by a model needs a gaussian head, not ${def.likelihood}`);
  const out = dims(def).at(-1)!.outDim;
  const s = Math.sqrt(c);
  return { ...def, layers: [...def.layers, { kind: 'fixed_linear', matrix: diagMat(new Array<number>(out).fill(s)) }] };
}

/** A short, printable description of the maps (for counterexamples). */
export function describeReparametrization(rp: Reparametrization): string {
  const fmt = (m: Mat) => `[${m.map((r) => r.map((v) => v.toPrecision(3)).join(' ')).join('; ')}]`;
  const fv = (v: readonly number[]) => `[${v.map((x) => x.toPrecision(3)).join(' ')}]`;
  const pms = rp.paramMaps.map((p) =>
    p.map.kind === 'scale'
      ? `layer ${p.denseIndex}: θ = diag(s)·φ, s = ${fv(p.map.scale)}`
      : `layer ${p.denseIndex}: θ = T·φ on [vec W; b], T = ${fmt(p.map.matrix.map((r) => [...r]))}`,
  );
  return rp.maps
    .map((m) => {
      const isDiag = m.omega.every((r, i) => r.every((v, j) => i === j || v === 0)) && m.phi.every((r, i) => r.every((v, j) => i === j || v === 0));
      return isDiag
        ? `layer ${m.denseIndex}: inputs × diag${fv(m.omega.map((r, i) => r[i]!))}, pre-activations × diag${fv(m.phi.map((r, i) => r[i]!))}`
        : `layer ${m.denseIndex}: a ↦ a·${fmt(m.omega)} + ${fv(m.omegaOffset)}, z ↦ z·${fmt(m.phi)} + ${fv(m.phiOffset)}`;
    })
    .concat(pms)
    .join('\n');
}

export const identityMap = (denseIndex: number, inDim: number, outDim: number): LayerMap => ({
  denseIndex,
  omega: eye(inDim),
  omegaOffset: new Array<number>(inDim).fill(0),
  phi: eye(outDim),
  phiOffset: new Array<number>(outDim).fill(0),
});
