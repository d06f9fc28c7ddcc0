import * as tf from '@tensorflow/tfjs';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { atom, comp, planOf, structure } from './helpers.js';
import { reparametrizationInvariance } from '../../src/testing/properties/invariance.js';
import type { Family } from '../../src/testing/reparam.js';
import type { Plan } from '../../src/optim/plan.js';

const RUNS = Number(process.env.GEODESIC_THEORY_RUNS ?? 4);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const sgd = planOf('sgd', { step: comp('lr', { eta: 0.1 }) });
const natgrad = planOf('natural_gradient', { curvature: structure('full', atom('fisher', { sampled: 0 })), damping: comp('tikhonov', { lambda: 1e-4 }), step: comp('lr', { eta: 0.1 }) });
const kfac = planOf('kfac', { curvature: structure('kfac', atom('fisher', { sampled: 0 }), { bias: 'homogeneous' }), damping: comp('tikhonov', { lambda: 1e-4 }), step: comp('lr', { eta: 0.1 }) });
const diagFisher = planOf('diag_fisher', { curvature: structure('diag', atom('fisher', { sampled: 0 })), damping: comp('tikhonov', { lambda: 1e-4 }), step: comp('lr', { eta: 0.1 }) });

/** Predicted pattern (docs/theory.md §4) for hand-built plans of the same structure as the examples. */
const PREDICTED: readonly [Plan, Family, boolean][] = [
  [sgd, 'elementwise', false],
  [sgd, 'layer-affine', false],
  [sgd, 'loss-scale', false],
  [natgrad, 'elementwise', true],
  [natgrad, 'layer-affine', true],
  [natgrad, 'linear', true],
  [natgrad, 'loss-scale', false],
  [kfac, 'layer-affine', true],
  [kfac, 'elementwise', true],
  [diagFisher, 'elementwise', true],
  [diagFisher, 'layer-affine', false],
];

describe('reparametrization invariance: the predicted pattern, failures included', () => {
  for (const [plan, family, invariant] of PREDICTED) {
    it(`${plan.name} × ${family}: ${invariant ? 'invariant' : 'not invariant (counterexample found and shrunk)'}`, () => {
      const prop = reparametrizationInvariance(plan, family);
      const result = fc.check(prop.property, { numRuns: RUNS, seed: 42 });
      if (invariant) {
        expect(result.failed, result.failed ? prop.describe(result.counterexample![0], prop.measure(result.counterexample![0])) : '').toBe(false);
      } else {
        expect(result.failed).toBe(true);
        const cx = result.counterexample![0];
        // Shrunk: seeds and widths go to their minimum when they still fail.
        expect(cx.model.shape.hidden.length).toBe(0);
        expect(prop.measure(cx).gap).toBeGreaterThan(0.25);
      }
    });
  }
});
