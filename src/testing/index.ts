/**
 * geodesic/testing — property tests of optimizer theory (docs/theory.md).
 */
export { allClose, compareClose, expectAllClose, defaultTolerance, FLOAT64_TOLERANCE, toHost, type Tolerance, type CloseReport, type Numeric } from './allclose.js';
export { expectNoLeak, expectNoLeakAsync, TensorLeakError, type LeakOptions } from './memory.js';
export * from './arbitraries/models.js';
export { modelDef, initialParams, hostBatch, toBatch, toParams, fromParams, describeShape, type ModelShape, type ModelCase, type HostBatch } from './cases.js';
export {
  FAMILIES,
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
} from './reparam.js';
export { runTrajectory, lossScaledContext, type Trajectory, type RunOptions } from './run.js';
export { atomsOf, withVanishingDamping, lossScaleMode, LAMBDA_TEST } from './planning.js';
export { reparametrizationInvariance, measureInvariance, type InvarianceOptions, type InvarianceMeasure, type PropertyWithMeasure } from './properties/invariance.js';
