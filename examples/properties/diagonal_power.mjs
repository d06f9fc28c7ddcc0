// A property written by a user of geodesic/testing (docs/theory.md §6):
//
//   "A diagonal preconditioner diag(F)^p is invariant to per-parameter rescaling θ = Dφ
//    exactly when p = 1."
//
// diag(DFD) = D² diag(F), so (D² diag F)^(-p) Dg = D^(1−2p) diag(F)^(-p) g, which is the pulled-back
// step D⁻¹Δθ only for p = 1. Adam's p = ½ is the classic failure. Unlike the built-in invariance
// property (which compares functions), this one compares *parameters*: θₖ against Tφₖ, so it shows
// how to compose the module's pieces: arbitraries, a genuinely reparametrized model (a per-parameter
// scale map the engine sees as its own parameters), the trajectory runner, and fast-check.
//
// Run: npm run build && node examples/properties/diagonal_power.mjs   (exit 0 when the claim holds)
import * as fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import {
  arbModelCase,
  arbTransformSeed,
  checkProperty,
  describeReparametrization,
  drawReparametrization,
  hostBatch,
  initialParams,
  modelDef,
  planOrThrow,
  planText,
  pullBackParams,
  pushForwardParams,
  reparametrizedDef,
  runTrajectory,
} from 'geodesic/testing';

const STEPS = 3;
/** Parameter-space tolerance: λ = 1e-6 against diagonal Fisher entries ≥ ~1e-3 on these models, and
 * float32 steps: relative errors ~1e-3 are expected, non-invariant rules give O(1) (scales in [¼, 4]). */
const TOLERANCE = 0.05;

/** The optimizer under test, written in the spec language and checked by the front end. */
const diagonalPower = (p) =>
  planOrThrow(
    planText(`optimizer diag_power "diag(F)^${p}" {
  curvature = diag(fisher(exact)) ^ ${p}
  damping   = tikhonov(1e-6)
  solver    = eigen
  step      = lr(0.05)
}`),
  );

/** The statistic for one case: max |θₖ − Dφₖ| / max |θₖ − θ₀| over k = 1…STEPS. */
function measure(plan, c) {
  const def = modelDef(c.model.shape);
  const rp = drawReparametrization(def, 'elementwise', c.transformSeed);
  const theta0 = initialParams(def, c.model.paramSeed);
  const batch = hostBatch(c.model.shape, c.model.n, c.model.dataSeed);
  const a = runTrajectory(plan, def, theta0, batch, { steps: STEPS, seed: 0 });
  const b = runTrajectory(plan, reparametrizedDef(def, rp), pullBackParams(def, rp, theta0), batch, { steps: STEPS, seed: 0 });
  let moved = 0;
  let diff = 0;
  for (let k = 1; k <= STEPS; k++) {
    const th = a.params[k].flatMap((x) => [...x]);
    const back = pushForwardParams(def, rp, b.params[k]).flatMap((x) => [...x]);
    const t0 = theta0.flatMap((x) => [...x]);
    th.forEach((v, i) => {
      moved = Math.max(moved, Math.abs(v - t0[i]));
      diff = Math.max(diff, Math.abs(v - back[i]));
    });
  }
  return { gap: diff / moved, transform: describeReparametrization(rp) };
}

/** The property, in the module's PropertyWithMeasure shape so checkProperty can report it. */
function invariantToRescaling(plan) {
  const arbitrary = fc.record({ model: arbModelCase({ maxHidden: 0 }), transformSeed: arbTransformSeed() });
  const passes = (m) => m.gap <= TOLERANCE;
  return {
    arbitrary,
    property: fc.property(arbitrary, (c) => passes(measure(plan, c))),
    measure: (c) => measure(plan, c),
    passes,
    statistic: (m) => m.gap,
    statisticName: 'max |θ − Dφ| / max |θ − θ₀| (parameter space)',
    describe: (c, m) => `gap ${m.gap.toExponential(3)} on ${JSON.stringify(c.model.shape)}\n${m.transform}`,
  };
}

await tf.setBackend('cpu');
let ok = true;
for (const [p, expected] of [
  [1, true],
  [0.5, false],
]) {
  const r = checkProperty(invariantToRescaling(diagonalPower(p)), { numRuns: Number(process.env.RUNS ?? 5), seed: 1 });
  console.log(`diag(F)^${p}: ${r.holds ? 'invariant' : 'NOT invariant'} (expected ${expected ? 'invariant' : 'not invariant'}); gap largest ${r.worst.toExponential(3)}, smallest ${r.best.toExponential(3)}`);
  if (!r.holds) console.log(`  shrunk counterexample:\n${r.report.replace(/^/gm, '    ')}`);
  ok &&= r.holds === expected;
}
process.exitCode = ok ? 0 : 1;
