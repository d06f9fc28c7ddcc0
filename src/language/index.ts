/** The language front end: text → syntax tree → checked Spec, plus formatting and explanation. */
export type * from './spec.js';
export type * from './ast.js';
export { parse, parseAll, maxDepth } from './parse.js';
export { checkFiles, checkText, resolveImport, type CheckResult, type ReadFile } from './check.js';
export { defaultOptimizer } from './choose.js';
export { print, printExpr, format } from './print.js';
export { explain, componentText, curvatureText, curvatureMath } from './explain.js';
export {
  chooseSolver,
  matrixClass,
  joinClass,
  klDefect,
  kroneckerStructure,
  hasPower,
  atomsOf,
  type MatrixClass,
  type SolverChoice,
} from './structure.js';
export {
  components,
  clauses,
  findClause,
  findComponent,
  mustFind,
  valueArgs,
  type ArgSpec,
  type ArgType,
  type ClauseSpec,
  type ComponentSpec,
  type Kind,
} from './registry.js';
export { render, renderAll, toJson, sortDiagnostics, didYouMean, type Diagnostic, type DiagnosticJson } from './diagnostics.js';
export type { Validation } from './validation.js';
