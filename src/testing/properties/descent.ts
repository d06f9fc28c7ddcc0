/**
 * descentDirection(plan): d = (C + λI)⁻¹g has gᵀd > 0 whenever C + λI is SPD (docs/theory.md §5.4).
 * psd(curvature): the engine's dense C is symmetric and has λ_min ≥ −1e-5·λ_max (§5.6).
 * C is the engine's own dense matrix at the start (one update of any running estimate); the solve and
 * the eigenvalues are computed on the host (ml-matrix), independent of the engine's solvers.
 */
import * as fc from 'fast-check';
import { EigenvalueDecomposition, Matrix, solve } from 'ml-matrix';
import type { CurvatureExpr } from '../../curvature/types.js';
import { describeCurvature, type Plan } from '../../optim/plan.js';
import { arbModelCase, type ShapeOptions } from '../arbitraries/models.js';
import { describeShape, hostBatch, initialParams, modelDef, type ModelCase } from '../cases.js';
import { engineCurvature } from '../oracle.js';
import type { PropertyWithMeasure } from './types.js';

/** The damping λ a plan starts with (0 for none). */
export function initialDamping(plan: Plan): number {
  const d = plan.damping;
  switch (d._tag) {
    case 'none':
      return 0;
    case 'levenberg_marquardt':
      return d.initial;
    case 'tikhonov':
    case 'factored':
      return d.lambda._tag === 'constant' ? d.lambda.value : d.lambda.initial;
  }
}

export interface DescentMeasure {
  /** gᵀd / (‖g‖‖d‖). */
  readonly cosine: number;
  readonly lambda: number;
  readonly minEigenvalue: number;
}

function eigenvalues(C: Float64Array, P: number): number[] {
  const M = new Matrix(Array.from({ length: P }, (_, i) => Array.from(C.subarray(i * P, (i + 1) * P))));
  const sym = M.add(M.transpose()).mul(0.5);
  return [...new EigenvalueDecomposition(sym, { assumeSymmetric: true }).realEigenvalues].sort((a, b) => a - b);
}

export function measureDescent(plan: Plan, c: ModelCase): DescentMeasure {
  const def = modelDef(c.shape);
  const theta = initialParams(def, c.paramSeed);
  const batch = hostBatch(c.shape, c.n, c.dataSeed);
  const { C, g } = plan.preconditioned ? engineCurvature(plan.curvature, def, theta, batch, c.dataSeed) : { C: undefined, g: undefined };
  const lambda = initialDamping(plan);
  if (!C || !g) return { cosine: 1, lambda, minEigenvalue: 1 }; // identity: d = g
  const P = g.length;
  const K = Array.from({ length: P }, (_, i) => Array.from({ length: P }, (_, j) => C[i * P + j]! + (i === j ? lambda : 0)));
  const d = solve(new Matrix(K), Matrix.columnVector([...g])).to1DArray();
  const gd = d.reduce((s, v, i) => s + v * g[i]!, 0);
  const cosine = gd / (Math.hypot(...g) * Math.hypot(...d));
  return { cosine: Number.isNaN(cosine) ? -Infinity : cosine, lambda, minEigenvalue: eigenvalues(C, P)[0]! + lambda };
}

export function descentDirection(plan: Plan, options: { shape?: ShapeOptions } = {}): PropertyWithMeasure<ModelCase, DescentMeasure> {
  const arbitrary = arbModelCase(options.shape ?? {});
  const measure = (c: ModelCase) => measureDescent(plan, c);
  const passes = (m: DescentMeasure) => m.cosine > 0;
  return {
    arbitrary,
    property: fc.property(arbitrary, (c) => passes(measure(c))),
    measure,
    passes,
    statistic: (m) => m.cosine,
    statisticName: 'cos(g, d) with d = (C + λI)⁻¹g',
    describe: (c, m) =>
      `${plan.name}: model ${describeShape(c.shape)}, N = ${c.n}, seeds data ${c.dataSeed} params ${c.paramSeed}\n` +
      `  curvature ${plan.preconditioned ? describeCurvature(plan.curvature) : 'identity'}, λ = ${m.lambda}: gᵀd/(‖g‖‖d‖) = ${m.cosine.toExponential(3)}, λ_min(C + λI) = ${m.minEigenvalue.toExponential(3)}`,
  };
}

export interface PsdMeasure {
  /** ‖C − Cᵀ‖_max / ‖C‖_max. */
  readonly asymmetry: number;
  /** λ_min / λ_max of the symmetric part. */
  readonly minOverMax: number;
}

/** Symmetric within 1e-5 and λ_min ≥ −1e-5·λ_max (float32 products probed with basis vectors). */
export const PSD_TOLERANCE = 1e-5;

export function measurePsd(expr: CurvatureExpr, c: ModelCase): PsdMeasure {
  const def = modelDef(c.shape);
  const { C } = engineCurvature(expr, def, initialParams(def, c.paramSeed), hostBatch(c.shape, c.n, c.dataSeed), c.dataSeed);
  const P = Math.round(Math.sqrt(C.length));
  let maxC = 0;
  let asym = 0;
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) {
    maxC = Math.max(maxC, Math.abs(C[i * P + j]!));
    asym = Math.max(asym, Math.abs(C[i * P + j]! - C[j * P + i]!));
  }
  const ev = eigenvalues(C, P);
  const top = Math.max(Math.abs(ev[0]!), Math.abs(ev[P - 1]!));
  return { asymmetry: asym / Math.max(maxC, 1e-300), minOverMax: ev[0]! / Math.max(top, 1e-300) };
}

export function psd(expr: CurvatureExpr, options: { shape?: ShapeOptions } = {}): PropertyWithMeasure<ModelCase, PsdMeasure> {
  const arbitrary = arbModelCase(options.shape ?? {});
  const measure = (c: ModelCase) => measurePsd(expr, c);
  const passes = (m: PsdMeasure) => m.asymmetry <= PSD_TOLERANCE && m.minOverMax >= -PSD_TOLERANCE;
  return {
    arbitrary,
    property: fc.property(arbitrary, (c) => passes(measure(c))),
    measure,
    passes,
    statistic: (m) => m.minOverMax,
    statisticName: 'λ_min / λ_max of the dense curvature',
    describe: (c, m) =>
      `${describeCurvature(expr)}: model ${describeShape(c.shape)}, N = ${c.n}, seeds data ${c.dataSeed} params ${c.paramSeed}\n` +
      `  λ_min/λ_max = ${m.minOverMax.toExponential(3)}, asymmetry ${m.asymmetry.toExponential(3)}`,
  };
}
