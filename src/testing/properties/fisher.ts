/**
 * fisherEqualsGGN(likelihood): the Fisher as an expectation over the model's own labels (enumerated
 * exactly, oracle.ts) equals the engine's GGN JᵀHJ (docs/theory.md §5.3; [M20] §9.2).
 * empiricalFisherCounterexample(): the claim "F̂ = F" — expected to FAIL, with a shrunk counterexample ([M20] §11).
 */
import * as fc from 'fast-check';
import type { LikelihoodName } from '../../model/types.js';
import { arbModelCase, type ShapeOptions } from '../arbitraries/models.js';
import { describeShape, hostBatch, initialParams, modelDef, type ModelCase } from '../cases.js';
import { engineCurvature, fisherByLabels } from '../oracle.js';
import type { PropertyWithMeasure } from './types.js';

/** |F − G| ≤ 1e-4·max|G| (+1e-7): float32 per-example gradients and products, float64 accumulation. */
export const FISHER_GGN_RTOL = 1e-4;
/** The counterexample threshold: F̂ differs from F by more than 10% of max|F|. */
export const EMPIRICAL_FISHER_GAP = 0.1;

export interface MatrixGapMeasure {
  /** max|X − Y| / max|Y|. */
  readonly relativeGap: number;
  readonly maxAbs: number;
  readonly size: number;
  readonly worstEntry: readonly [number, number, number, number]; // i, j, X[i,j], Y[i,j]
}

function gap(X: Float64Array, Y: Float64Array, P: number): MatrixGapMeasure {
  let maxY = 0;
  let maxD = 0;
  let wi = 0;
  for (let i = 0; i < Y.length; i++) {
    maxY = Math.max(maxY, Math.abs(Y[i]!));
    const d = Math.abs(X[i]! - Y[i]!);
    if (!(d <= maxD)) {
      maxD = Number.isNaN(d) ? Infinity : d;
      wi = i;
    }
  }
  return { relativeGap: maxD / Math.max(maxY, 1e-300), maxAbs: maxY, size: P, worstEntry: [Math.floor(wi / P), wi % P, X[wi]!, Y[wi]!] };
}

const describeGap = (what: string, c: ModelCase, m: MatrixGapMeasure): string =>
  `${what}: model ${describeShape(c.shape)}, N = ${c.n}, seeds data ${c.dataSeed} params ${c.paramSeed}, P = ${m.size}\n` +
  `  max|X − Y| / max|Y| = ${m.relativeGap.toExponential(3)} (max|Y| = ${m.maxAbs.toExponential(3)}); worst entry [${m.worstEntry[0]}, ${m.worstEntry[1]}]: ${m.worstEntry[2].toPrecision(6)} vs ${m.worstEntry[3].toPrecision(6)}`;

export function measureFisherGgn(c: ModelCase): MatrixGapMeasure {
  const def = modelDef(c.shape);
  const theta = initialParams(def, c.paramSeed);
  const batch = hostBatch(c.shape, c.n, c.dataSeed);
  const F = fisherByLabels(def, theta, batch);
  const { C: G } = engineCurvature({ _tag: 'Atom', name: 'ggn', args: {} }, def, theta, batch);
  return gap(F, G, Math.round(Math.sqrt(G.length)));
}

export function fisherEqualsGGN(likelihood: LikelihoodName, options: { shape?: ShapeOptions } = {}): PropertyWithMeasure<ModelCase, MatrixGapMeasure> {
  const arbitrary = arbModelCase({ ...(options.shape ?? {}), likelihoods: [likelihood] });
  const passes = (m: MatrixGapMeasure) => m.relativeGap <= FISHER_GGN_RTOL + 1e-7 / Math.max(m.maxAbs, 1e-300);
  return {
    arbitrary,
    property: fc.property(arbitrary, (c) => passes(measureFisherGgn(c))),
    measure: measureFisherGgn,
    passes,
    statistic: (m) => m.relativeGap,
    statisticName: 'max|F − G| / max|G| (F by label enumeration, G the engine GGN)',
    describe: (c, m) => describeGap(`fisher = ggn (${likelihood})`, c, m),
  };
}

export function measureEmpiricalFisher(c: ModelCase): MatrixGapMeasure {
  const def = modelDef(c.shape);
  const theta = initialParams(def, c.paramSeed);
  const batch = hostBatch(c.shape, c.n, c.dataSeed);
  const F = fisherByLabels(def, theta, batch);
  const { C: Fhat } = engineCurvature({ _tag: 'Atom', name: 'empirical_fisher', args: {} }, def, theta, batch);
  return gap(Fhat, F, Math.round(Math.sqrt(F.length)));
}

/** The (false) claim "empirical_fisher = fisher" within 10%: fast-check must find and shrink a counterexample. */
export function empiricalFisherCounterexample(options: { shape?: ShapeOptions } = {}): PropertyWithMeasure<ModelCase, MatrixGapMeasure> {
  const arbitrary = arbModelCase(options.shape ?? {});
  const passes = (m: MatrixGapMeasure) => m.relativeGap <= EMPIRICAL_FISHER_GAP;
  return {
    arbitrary,
    property: fc.property(arbitrary, (c) => passes(measureEmpiricalFisher(c))),
    measure: measureEmpiricalFisher,
    passes,
    statistic: (m) => m.relativeGap,
    statisticName: 'max|F̂ − F| / max|F|',
    describe: (c, m) => describeGap('empirical_fisher vs fisher (X = F̂, Y = F)', c, m),
  };
}
