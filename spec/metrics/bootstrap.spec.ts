/** Percentile bootstrap intervals: hand-checkable cases, determinism, paired differences. */
import { bootstrapMean, pairedDifference, quantileSorted } from '../../lib/metrics/bootstrap';

describe('bootstrapMean', () => {
  it('a constant sample has a zero-width interval at its value', () => {
    expect(bootstrapMean([2, 2, 2, 2, 2])).toEqual({ mean: 2, lo: 2, hi: 2, n: 5 });
  });

  it(
    'two values {0, 1}: resampled means are 0, ½, 1 with probabilities ¼, ½, ¼, so the 95 % interval is ' + '[0, 1]',
    () => {
      const i = bootstrapMean([0, 1], { resamples: 20000, seed: 3 });
      expect(i.mean).toBe(0.5);
      expect(i.lo).toBe(0);
      expect(i.hi).toBe(1);
      // the 50 % interval lies inside [0, 1] and holds ½ (at least half the mass sits there)
      const half = bootstrapMean([0, 1], { resamples: 20000, seed: 3, level: 0.5 });
      expect(half.lo).toBeGreaterThanOrEqual(0);
      expect(half.hi).toBeLessThanOrEqual(1);
      expect(half.lo).toBeLessThanOrEqual(0.5);
      expect(half.hi).toBeGreaterThanOrEqual(0.5);
    },
  );

  it('contains the mean, narrows with more seeds, and is the same for the same seed', () => {
    const five = [1.1, 0.7, 1.4, 0.9, 1.2];
    const a = bootstrapMean(five, { seed: 9 });
    expect(a).toEqual(bootstrapMean(five, { seed: 9 }));
    expect(a.lo).toBeLessThan(a.mean);
    expect(a.hi).toBeGreaterThan(a.mean);
    const twenty = [...five, ...five, ...five, ...five];
    const b = bootstrapMean(twenty, { seed: 9 });
    expect(b.hi - b.lo).toBeLessThan(a.hi - a.lo);
  });

  it('refuses non-finite values and reports an empty set as NaN', () => {
    expect(() => bootstrapMean([1, NaN])).toThrow(/finite/);
    expect(bootstrapMean([]).n).toBe(0);
  });
});

describe('quantileSorted and pairedDifference', () => {
  it('interpolates between order statistics', () => {
    expect(quantileSorted([0, 10, 20, 30], 0.5)).toBe(15);
    expect(quantileSorted([0, 10, 20, 30], 1)).toBe(30);
  });

  it('differences are taken seed by seed', () => {
    const d = pairedDifference([3, 5, 7], [1, 1, 1], { seed: 2 });
    expect(d.diffs).toEqual([2, 4, 6]);
    expect(d.mean).toBe(4);
    expect(() => pairedDifference([1], [1, 2])).toThrow(/as many values/);
  });
});
