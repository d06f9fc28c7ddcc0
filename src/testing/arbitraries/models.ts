/**
 * fast-check arbitraries for small structured problems, data, parameter vectors, SPD matrices and
 * reparametrizations. Everything is plain data built by construction (no filters), so it shrinks:
 * depth → 1 dense layer, widths → 2, seeds → 0.
 */
import * as fc from 'fast-check';
import type { ActivationName, LikelihoodName } from '../../model/types.js';
import type { ModelCase, ModelShape } from '../cases.js';
import type { Mat } from '../linalg.js';
import type { Family } from '../reparam.js';

export const LIKELIHOODS: readonly LikelihoodName[] = ['categorical', 'gaussian', 'bernoulli'];
/** Smooth activations: invariance is exact for any activation, but kinks make float32 gaps noisy. */
export const SMOOTH_ACTIVATIONS: readonly ActivationName[] = ['tanh', 'sigmoid', 'softplus', 'identity'];

export interface ShapeOptions {
  readonly likelihoods?: readonly LikelihoodName[];
  readonly maxHidden?: number; // number of hidden layers (default 1)
  readonly maxWidth?: number; // default 4
  readonly activations?: readonly ActivationName[];
}

export function arbModelShape(o: ShapeOptions = {}): fc.Arbitrary<ModelShape> {
  const maxWidth = o.maxWidth ?? 4;
  return fc.record({
    inputDim: fc.integer({ min: 2, max: maxWidth }),
    hidden: (o.maxHidden ?? 1) === 0 ? fc.constant([]) : fc.array(fc.integer({ min: 2, max: maxWidth }), { minLength: 0, maxLength: o.maxHidden ?? 1 }),
    activations: fc.array(fc.constantFrom(...(o.activations ?? SMOOTH_ACTIVATIONS)), { minLength: 2, maxLength: 2 }),
    outputDim: fc.integer({ min: 2, max: 3 }),
    likelihood: fc.constantFrom(...(o.likelihoods ?? LIKELIHOODS)),
  });
}

/** A model, a batch of n examples and initial parameters, all from seeds. */
export function arbModelCase(o: ShapeOptions & { readonly n?: number } = {}): fc.Arbitrary<ModelCase> {
  return fc.record({
    shape: arbModelShape(o),
    n: fc.constant(o.n ?? 12),
    dataSeed: fc.nat({ max: 1_000_000 }),
    paramSeed: fc.nat({ max: 1_000_000 }),
  });
}

/** A parameter vector of float32-representable values (bounded: |θᵢ| ≤ 10 keeps tanh/softmax unsaturated enough to matter). */
export const arbParamVector = (size: number): fc.Arbitrary<number[]> =>
  fc.array(fc.float({ min: Math.fround(-10), max: Math.fround(10), noNaN: true, noDefaultInfinity: true }), { minLength: size, maxLength: size });

/** An SPD matrix B Bᵀ + εI, built by construction (never filtered). Entries of B in [−2, 2]. */
export function arbSpdMatrix(n: number, epsilon = 1e-2): fc.Arbitrary<Mat> {
  return fc
    .array(fc.double({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }), { minLength: n * n, maxLength: n * n })
    .map((b) => {
      const B = Array.from({ length: n }, (_, i) => b.slice(i * n, (i + 1) * n));
      return B.map((ri, i) => B.map((rj, j) => ri.reduce((s, v, k) => s + v * rj[k]!, 0) + (i === j ? epsilon : 0)));
    });
}

/** A reparametrization draw: the maps come from the seed (see reparam.ts), so shrinking goes to seed 0. */
export const arbTransformSeed = (): fc.Arbitrary<number> => fc.nat({ max: 1_000_000 });

/** Loss multipliers away from 1 (c ∈ [1/20, 1/2] ∪ [2, 20]). */
export const arbLossScale = (): fc.Arbitrary<number> => fc.constantFrom(10, 0.1, 4, 0.25, 20, 0.05);

export interface InvarianceCase {
  readonly model: ModelCase;
  readonly family: Family;
  readonly transformSeed: number;
  readonly lossScale: number;
}

export function arbInvarianceCase(family: Family, o: ShapeOptions = {}): fc.Arbitrary<InvarianceCase> {
  return fc.record({
    model: arbModelCase(o),
    family: fc.constant(family),
    transformSeed: arbTransformSeed(),
    lossScale: family === 'loss-scale' ? arbLossScale() : fc.constant(1),
  });
}
