/**
 * What the unpaired and the paired bench share: timing a block of iterations, the
 * statistics and number format of the tables, and the compute model behind the
 * "Phased / DMD on compute alone" line.
 */
import type { Workload } from './workloads';

export const MB = 1024 * 1024;

export const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  const i = q * (s.length - 1);
  const [lo, hi] = [Math.floor(i), Math.ceil(i)];
  return s[lo] + (s[hi] - s[lo]) * (i - lo);
};
export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

export const fmt = (x: number | undefined, digits = 1): string =>
  x === undefined || !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(digits);

/**
 * Runs n + 1 iterations of one stream and returns the last n times (ms) between iteration
 * ends, as a training run pays them; the first iteration also builds the stream.
 */
export const timeBlock = (w: Workload, n: number): number[] => {
  const times: number[] = [];
  let last = 0;
  w.run(n + 1, (k) => {
    const now = performance.now();
    if (k > 0) times.push(now - last);
    last = now;
  });
  return times;
};

/** One generator and 5 fake-score updates per distillation iteration, each with one backward pass. */
export const UPDATES_PER_ITERATION = 6;
/** The usual rule of thumb: a backward pass costs about two forward passes. */
export const BACKWARD_COST = 2;

/** Phased / DMD cost from forward passes per iteration alone (backward passes as BACKWARD_COST forwards each). */
export const computeRatio = (forwardsDmd: number, forwardsPhased: number): number =>
  (forwardsPhased + BACKWARD_COST * UPDATES_PER_ITERATION) / (forwardsDmd + BACKWARD_COST * UPDATES_PER_ITERATION);

/** The table line that states computeRatio and what it assumes. */
export const computeRatioLine = (forwardsDmd: number, forwardsPhased: number): string =>
  `- On compute alone (${fmt(forwardsDmd)} forward passes per one-step DMD iteration, ${fmt(forwardsPhased)} per ` +
  `Phased DMD iteration (mean of its phases; batches, CFG over 2B counts 2), ` +
  `${UPDATES_PER_ITERATION} backward passes each, a backward pass ≈ ${BACKWARD_COST} forward passes): Phased / DMD ` +
  `= ${computeRatio(forwardsDmd, forwardsPhased).toFixed(2)}×`;
