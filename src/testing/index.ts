/**
 * geodesic/testing — property tests of optimizer theory (docs/theory.md).
 *
 * Every property returns a PropertyWithMeasure: `property` (a fast-check property that shrinks),
 * `measure` (the statistic for one case), `passes`, `statistic`, `describe`. Run one with
 * `fc.check(p.property, …)` or with `checkProperty(p, {numRuns, seed})`, which also reports the worst
 * statistic seen and the replay path.
 */
export { allClose, compareClose, expectAllClose, defaultTolerance, FLOAT64_TOLERANCE, toHost, type Tolerance, type CloseReport, type Numeric } from './allclose.js';
export { expectNoLeak, expectNoLeakAsync, TensorLeakError, type LeakOptions } from './memory.js';
export * from './arbitraries/models.js';
export { arbSpecParts, arbSpecText, arbPlan, specText, type SpecParts } from './arbitraries/specs.js';
/** The language's syntax-level generators (ASTs, valid or not): arbFileAst, arbOptimizer, arbExpr, … */
export * as astArbitraries from './arbitraries/ast.js';
export { modelDef, initialParams, hostBatch, toBatch, toParams, fromParams, describeShape, type ModelShape, type ModelCase, type HostBatch } from './cases.js';
export {
  FAMILIES,
  PARAM_MAP_REALISATION,
  drawReparametrization,
  reparametrizedDef,
  pullBackParams,
  pushForwardParams,
  lossScaledGaussianDef,
  describeReparametrization,
  type Family,
  type ParamFamily,
  type Reparametrization,
  type LayerMap,
  type LayerParamMap,
} from './reparam.js';
export { runTrajectory, lossScaledContext, type Trajectory, type RunOptions } from './run.js';
export { atomsOf, withVanishingDamping, lossScaleMode, LAMBDA_TEST } from './planning.js';
export { planText, planOrThrow, type PlannedSpec } from './specs.js';
export { planFile, planDirectory } from './specFiles.js';
export { predictInvariance, symbol, INVARIANCE_STEPS, NEGLIGIBLE_IDENTITY, MIN_LOSS_SCALE, INVARIANCE_TOLERANCE, MAX_COND_T, type Prediction } from './predict.js';
export { measureTable, measureCell, renderTable, cellText, disagreements, type TableRow, type TableCell, type TableOptions } from './table.js';
export { fisherByLabels, empiricalFisherByHand, engineCurvature, logitsAt, meanKL, klOfLogits } from './oracle.js';
export { checkProperty, type PropertyWithMeasure, type CheckOptions, type CheckReport } from './properties/types.js';
export { reparametrizationInvariance, measureInvariance, MIN_MOVEMENT, type InvarianceOptions, type InvarianceMeasure } from './properties/invariance.js';
export { klStep, measureKlStep, KL_EPSILONS, klTolerance, type KlMeasure } from './properties/kl.js';
export { fisherEqualsGGN, empiricalFisherCounterexample, measureFisherGgn, measureEmpiricalFisher, FISHER_GGN_RTOL, EMPIRICAL_FISHER_GAP, type MatrixGapMeasure } from './properties/fisher.js';
export { descentDirection, psd, measureDescent, measurePsd, initialDamping, PSD_TOLERANCE, type DescentMeasure, type PsdMeasure } from './properties/descent.js';
export { reducesTo, largeDampingLimit, measureReduction, REDUCTION_TOLERANCE, type ReductionMeasure } from './properties/reduces.js';
export { averagingRule, measureAveraging, referenceAverages, withReachableAveraging, AVERAGING_TOLERANCE, AVERAGING_STEPS, type AveragingMeasure, type AveragingOptions } from './properties/averaging.js';
export { solverLaws, measureSolver, arbSolverCase, BACKWARD_ERROR_TOLERANCE, type SolverCase, type SolverMeasure } from './properties/laws.js';
