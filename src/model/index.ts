/** Public surface of `src/model` (see briefs/model-api.md and DESIGN §3–§4). */
export type * from './types.js';
export { paramInfo, numParams, outputDim, denseLayers, layerWidths, modelDefProblems, initParams, flattenParams, unflattenParams, toFloat64, fromFloat64, assertParamsShape, zerosLikeParams, disposeParams } from './layout.js';
export type { DenseLayerInfo } from './layout.js';
export { forward, backward, preActivationGradients, jvp, rForward, perExampleGrads, disposeForward, disposeBackward, layerOutput } from './network.js';
export { lossAndGradient, hessianVectorProduct, ggnVectorProduct } from './objective.js';
export type { LossAndGradient } from './objective.js';
export { perExampleLoss, meanLoss, predictiveMean, outputGradient, outputHessianVp, outputHessianSqrt, outputHessianSqrtFactor, sampleTargets, predictiveKL } from './likelihood.js';
export type { HessianSqrtFactor } from './likelihood.js';
export { activate, derivative as activationDerivative, secondDerivative as activationSecondDerivative } from './activation.js';
export { makeRng, deriveSeed, permutation } from './random.js';
export type { Rng } from './random.js';
export { referencePermutation, vectorFromReference, matrixFromReference, rowsFromReference, referenceProblem } from './referenceLayout.js';
export type { ReferenceProblemJson } from './referenceLayout.js';
export { fromSequential, toSequential, copyToSequential } from './sequential.js';
export { paramMapProblems, denseParamMaps, hasParamMaps, withoutParamMaps, effectiveParams, pullBackParams, mapLayer, mapRows } from './paramMap.js';
export { tidy } from './tidy.js';
