export * from './models.js';
export * from './specs.js';
export * as ast from './ast.js';
