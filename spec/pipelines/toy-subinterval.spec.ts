/**
 * The paper's toy check (Fig. 2) at a small budget (the full run and its
 * numbers: docs/results.md "Results: subinterval score matching"). Data on {−1, 0, 1, 2}; a model
 * trained with the subinterval objective on (.5, 1] from samples x_.5 alone approaches
 * the exact velocity, while the naive target ε − x_s stays at its biased optimum.
 */
import { useBackend } from '../../lib/backend';
import { runToy, toyVelocity, toyNaiveLimit, toyDensity, TOY_POINTS } from '../../pipelines/toy-subinterval';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('toy subinterval score matching', () => {
  it(
    'the closed forms: exact velocity at t = 1 is x − mean(x0); the naive optimum is off by (s·mean) there; ' +
      'density integrates to 1',
    () => {
      const mean = TOY_POINTS.reduce((a, b) => a + b, 0) / TOY_POINTS.length;
      expect(toyVelocity(0.3, 1)).toBeCloseTo(0.3 - mean, 10);
      // at t = 1: x_t = ε, so E[ε − x_s | x_t] = x − (1 − s)·mean
      expect(toyNaiveLimit(0.3, 1, 0.5) - toyVelocity(0.3, 1)).toBeCloseTo(0.5 * mean, 10);
      let mass = 0;
      for (let x = -8; x <= 8; x += 0.01) mass += toyDensity(x, 0.6) * 0.01;
      expect(mass).toBeCloseTo(1, 3);
    },
  );

  it('(b) subinterval ≈ exact and ≈ (a) ordinary; (c) naive is biased (600 steps, MLP 32×32)', async () => {
    const r = await runToy({ steps: 600, batchSize: 256, hidden: [32, 32], seed: 1 });
    expect(r.rms.naiveLimitVsExact).toBeCloseTo(0.273, 2); // the naive objective's bias, training-free
    expect(r.rms.subintervalVsExact).toBeLessThan(0.2);
    expect(r.rms.ordinaryVsExact).toBeLessThan(0.15);
    expect(r.rms.naiveVsExact).toBeGreaterThan(0.8 * r.rms.naiveLimitVsExact); // (c) sits at its biased optimum
    expect(r.rms.naiveVsExact).toBeGreaterThan(1.4 * r.rms.subintervalVsExact);
    expect(r.rms.naiveVsOrdinary).toBeGreaterThan(1.4 * r.rms.subintervalVsOrdinary);
    for (const band of r.byBand) expect(band.subinterval).toBeLessThan(band.naive);
  });
});
