/** Energy distance between two sample sets (Székely & Rizzo). */
import { atLeastRows, sqDist, type Rows } from './points';

/** E‖a_i − b_j‖ over all pairs (i, j), including i = j when a = b. */
const meanPairDistance = (a: Rows, b: Rows, dim: number): number => {
  const n = a.length / dim;
  const m = b.length / dim;
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) s += Math.sqrt(sqDist(a, i, b, j, dim));
  return s / (n * m);
};

/**
 * Energy distance (the squared form, a V-statistic over all pairs):
 *   D²(X, Y) = 2·E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖,
 * each expectation an average over all N·M (or N², M²) pairs, so D²(X, X) = 0 exactly and
 * two point masses a, b give 2‖a − b‖. Non-negative; zero iff the empirical measures match.
 */
export const energyDistance = (x: Rows, y: Rows, dim: number): number => {
  atLeastRows(x, dim, 1, 'energyDistance x');
  atLeastRows(y, dim, 1, 'energyDistance y');
  return Math.max(0, 2 * meanPairDistance(x, y, dim) - meanPairDistance(x, x, dim) - meanPairDistance(y, y, dim));
};
