/**
 * Public surface of the compiler: `plan(spec)` → `Plan` (every decision with its reason), then
 * `compile(plan, def)` → `Optimizer` { init, step, evaluationParams, dispose } wired to the
 * curvature engine. `compileWith` takes any estimator factory (tests, alternative engines).
 */
import type { ModelDef } from '../model/types.js';
import { createEstimator } from '../curvature/index.js';
import { compileWith, type EstimatorFactory, type Optimizer } from './compile.js';
import type { Plan } from './plan.js';

export const engineEstimator: EstimatorFactory = (expr, def) => createEstimator(expr, def);

export function compile(plan: Plan, def: ModelDef): Optimizer {
  return compileWith(plan, def, engineEstimator);
}

export { compileWith } from './compile.js';
export type { EstimatorFactory, Optimizer, OptState, StepMetrics } from './compile.js';
export { createStepContext } from './context.js';
export type { StepContext, StepContextInput } from './context.js';
export { plan, describeCurvature, toCurvatureExpr } from './plan.js';
export type { Plan, PlanError, PlanOptions, Decision, DampingPlan, StepPlan, MomentumPlan, AveragingPlan, GradientTransformPlan } from './plan.js';
export { scheduleValue, describeSchedule } from './schedules.js';
export type { ScheduleSpec } from './schedules.js';
export { levenbergMarquardtUpdate, reductionRatio } from './damping.js';
