/**
 * Percentile bootstrap intervals for small sets of per-seed numbers.
 *
 * With n seeds the bootstrap distribution of the mean has at most C(2n−1, n) points, so
 * with 5 seeds an interval is coarse and tends to be too narrow (the percentile method
 * under-covers for small n); reports say so next to every interval.
 */
import { Seed, uniformStream } from '../random/seed';

export interface Interval {
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
}

/** The q-quantile of sorted values (linear interpolation between order statistics). */
export const quantileSorted = (sorted: readonly number[], q: number): number => {
  const h = (sorted.length - 1) * q;
  const i = Math.floor(h);
  return i + 1 < sorted.length ? sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
};

/**
 * Mean of x and its percentile bootstrap interval at `level`: `resamples` draws of n values
 * with replacement (from `seed`), the mean of each, then the (1 ± level)/2 quantiles.
 */
export const bootstrapMean = (
  x: readonly number[],
  opts: { level?: number; resamples?: number; seed?: Seed } = {},
): Interval => {
  const { level = 0.95, resamples = 10000, seed = 1 } = opts;
  const n = x.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN, n };
  if (x.some((v) => !Number.isFinite(v)))
    throw new RangeError(`bootstrapMean: every value must be finite, got [${x.join(', ')}]`);
  const mean = x.reduce((a, b) => a + b, 0) / n;
  const u = uniformStream(seed);
  const means = new Array<number>(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[Math.floor(u() * n)];
    means[r] = s / n;
  }
  means.sort((a, b) => a - b);
  return { mean, lo: quantileSorted(means, (1 - level) / 2), hi: quantileSorted(means, (1 + level) / 2), n };
};

/** Paired differences a_i − b_i (same seed i) and their bootstrap interval. */
export const pairedDifference = (
  a: readonly number[],
  b: readonly number[],
  opts: { level?: number; resamples?: number; seed?: Seed } = {},
): Interval & { readonly diffs: readonly number[] } => {
  if (a.length !== b.length)
    throw new RangeError(`pairedDifference: expected as many values on each side, got ${a.length} and ${b.length}`);
  const diffs = a.map((v, i) => v - b[i]);
  return { ...bootstrapMean(diffs, opts), diffs };
};
