/** Energy distance, MMD² (RBF, median heuristic) and sliced Wasserstein against hand-computed values. */
import { energyDistance } from '../../lib/metrics/energy';
import { mmd2Rbf, medianHeuristic } from '../../lib/metrics/mmd';
import { slicedWasserstein, wasserstein1dPow, randomDirections } from '../../lib/metrics/sliced';
import { MetricError } from '../../lib/metrics/points';
import { uniformStream } from '../../lib/random/seed';

/** N(0, I) rows via Box–Muller from a seed. */
const gaussianRows = (n: number, dim: number, seed: number, shift = 0): Float64Array => {
  const u = uniformStream(seed);
  return Float64Array.from(
    { length: n * dim },
    () => shift + Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()),
  );
};

describe('energyDistance', () => {
  it('is exactly 0 for identical sets', () => {
    const x = gaussianRows(50, 3, 1);
    expect(energyDistance(x, x, 3)).toBe(0);
  });

  it('two point masses a, b: 2‖a − b‖', () => {
    const x = new Float32Array([0, 0, 0, 0, 0, 0]); // three copies of (0, 0)
    const y = new Float32Array([3, 4, 3, 4]); // two copies of (3, 4)
    expect(energyDistance(x, y, 2)).toBeCloseTo(10, 12);
  });

  it('hand case X = {0, 1}, Y = {2}: 2·1.5 − 0.5 − 0 = 2.5', () => {
    expect(energyDistance([0, 1], [2], 1)).toBeCloseTo(2.5, 12);
  });

  it('grows with a shift and is symmetric', () => {
    const x = gaussianRows(100, 2, 2);
    const near = gaussianRows(100, 2, 3, 0.2);
    const far = gaussianRows(100, 2, 4, 2);
    expect(energyDistance(x, far, 2)).toBeGreaterThan(energyDistance(x, near, 2));
    expect(energyDistance(x, far, 2)).toBeCloseTo(energyDistance(far, x, 2), 12);
  });

  it('refuses ragged rows and empty sets', () => {
    expect(() => energyDistance([1, 2, 3], [1, 2], 2)).toThrow(
      /energyDistance x: 3 values is not a whole number of rows of dim 2/,
    );
    expect(() => energyDistance([], [1], 1)).toThrow(MetricError);
  });
});

describe('medianHeuristic', () => {
  it('median pairwise distance: {0, 1, 3} → median(1, 3, 2) = 2', () => {
    expect(medianHeuristic([0, 1, 3], 1)).toBe(2);
  });

  it('falls back to the mean distance when most pairs coincide, and to 1 when all do', () => {
    // {0, 0, 0, 3}: distances 0,0,3,0,3,3 → median 1.5 (even count), not a fallback
    expect(medianHeuristic([0, 0, 0, 3], 1)).toBe(1.5);
    // {0, 0, 0, 0, 3}: 10 pairs, 6 zero → median 0 → mean = 4·3/10
    expect(medianHeuristic([0, 0, 0, 0, 3], 1)).toBeCloseTo(1.2, 12);
    expect(medianHeuristic([5, 5, 5], 1)).toBe(1);
  });
});

describe('mmd2Rbf (unbiased)', () => {
  it('hand case in 1-D, σ = 1: X = {0, 1}, Y = {3, 5}', () => {
    const cross = (Math.exp(-9 / 2) + Math.exp(-25 / 2) + Math.exp(-4 / 2) + Math.exp(-16 / 2)) / 4;
    const expected = Math.exp(-1 / 2) + Math.exp(-4 / 2) - 2 * cross;
    expect(mmd2Rbf([0, 1], [3, 5], 1, 1)).toBeCloseTo(expected, 12);
  });

  it('Y = X gives the unbiased estimator’s closed form (2/N)·(mean_{i≠j} k − 1) ≈ 0', () => {
    expect(mmd2Rbf([0, 1], [0, 1], 1, 1)).toBeCloseTo(Math.exp(-0.5) - 1, 12);
    const x = gaussianRows(200, 2, 5);
    const v = mmd2Rbf(x, x, 2);
    expect(v).toBeLessThanOrEqual(0);
    expect(Math.abs(v)).toBeLessThan(2 / 200);
  });

  it('independent samples of one law are ≈ 0; a shifted law is clearly positive', () => {
    const x = gaussianRows(200, 2, 6);
    const same = mmd2Rbf(x, gaussianRows(200, 2, 7), 2);
    const shifted = mmd2Rbf(x, gaussianRows(200, 2, 8, 1), 2);
    expect(Math.abs(same)).toBeLessThan(0.02);
    expect(shifted).toBeGreaterThan(0.1);
  });

  it('uses the median heuristic of the pooled sample by default', () => {
    const x = gaussianRows(40, 2, 9);
    const y = gaussianRows(30, 2, 10, 0.5);
    const pooled = Float64Array.from([...x, ...y]);
    expect(mmd2Rbf(x, y, 2)).toBe(mmd2Rbf(x, y, 2, medianHeuristic(pooled, 2)));
  });

  it('refuses a non-positive bandwidth', () => {
    expect(() => mmd2Rbf([0, 1], [2, 3], 1, 0)).toThrow(/bandwidth sigma must be a positive finite number, got 0/);
  });
});

describe('wasserstein1dPow', () => {
  it('equal sizes: sorted matching', () => {
    expect(wasserstein1dPow(Float64Array.from([2, 0, 1]), Float64Array.from([1.5, 3.5, 2.5]), 1)).toBeCloseTo(1.5, 12);
  });

  it(
    'unequal sizes by quantiles: {0, 1} vs {0.5} gives W₁ = 0.5, W₂² = 0.25; {0, 1, 2} vs {0, 2} gives W₁ ' + '= 1/3',
    () => {
      expect(wasserstein1dPow(Float64Array.from([0, 1]), Float64Array.from([0.5]), 1)).toBeCloseTo(0.5, 12);
      expect(wasserstein1dPow(Float64Array.from([0, 1]), Float64Array.from([0.5]), 2)).toBeCloseTo(0.25, 12);
      expect(wasserstein1dPow(Float64Array.from([0, 1, 2]), Float64Array.from([2, 0]), 1)).toBeCloseTo(1 / 3, 12);
    },
  );
});

describe('slicedWasserstein', () => {
  it('in 1-D is the exact W_p: a shift by 0.7 gives 0.7 for any seed', () => {
    const x = [0, 1, 2, 5];
    const y = x.map((v) => v + 0.7);
    expect(slicedWasserstein(x, y, 1, { seed: 1 })).toBeCloseTo(0.7, 12);
    expect(slicedWasserstein(x, y, 1, { seed: 2, p: 1 })).toBeCloseTo(0.7, 12);
  });

  it('shifted Gaussians in 4-D: SW₂² = mean_l (θ_l·δ)² ≈ ‖δ‖²/D', () => {
    const x = gaussianRows(100, 4, 11);
    const delta = [1, -1, 0.5, 0];
    const y = Float64Array.from(x, (v, i) => v + delta[i % 4]);
    const sw = slicedWasserstein(x, y, 4, { seed: 3, projections: 2000 });
    expect(sw * sw).toBeCloseTo(2.25 / 4, 1);
    // exactly the projected shift, whatever the directions
    const dirs = randomDirections(2000, 4, 3);
    let s = 0;
    for (let l = 0; l < 2000; l++) s += delta.reduce((a, d, k) => a + d * dirs[l * 4 + k], 0) ** 2;
    expect(sw * sw).toBeCloseTo(s / 2000, 10);
  });

  it('is 0 for identical sets, deterministic per seed, different across seeds', () => {
    const x = gaussianRows(60, 3, 12);
    const y = gaussianRows(60, 3, 13, 0.3);
    expect(slicedWasserstein(x, x, 3, { seed: 4 })).toBe(0);
    expect(slicedWasserstein(x, y, 3, { seed: 4 })).toBe(slicedWasserstein(x, y, 3, { seed: 4 }));
    expect(slicedWasserstein(x, y, 3, { seed: 4, projections: 8 })).not.toBe(
      slicedWasserstein(x, y, 3, { seed: 5, projections: 8 }),
    );
  });

  it('directions are unit vectors', () => {
    const d = randomDirections(10, 5, 7);
    for (let l = 0; l < 10; l++) expect(Math.hypot(...d.subarray(l * 5, l * 5 + 5))).toBeCloseTo(1, 12);
  });

  it('refuses bad options', () => {
    expect(() => slicedWasserstein([0], [1], 1, { seed: 1, projections: 0 })).toThrow(
      /projections must be a positive integer/,
    );
    expect(() => slicedWasserstein([0], [1], 1, { seed: 1, p: 0.5 })).toThrow(/p must be ≥ 1/);
  });
});
