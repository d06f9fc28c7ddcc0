/**
 * Solvers: apply (C + λI)⁻¹ (or a power) for the curvature engine.
 * Dense host float64 solvers return Either<SolverError, …>; matrix-free solvers (cg, lbfgsTwoLoop)
 * report convergence/breakdown/skips in their result; tensor paths (kronecker) throw a
 * SolverException carrying a SolverError. Nothing returns NaN.
 */
export * from './errors.js';
export * from './dense.js';
export * from './vectorOps.js';
export * from './cg.js';
export * from './kronecker.js';
export * from './woodbury.js';
export * from './lbfgs.js';
export * from './spd.js';
export * from './kernels.js';
