/** Energy distance between two sample sets (Székely & Rizzo). */
import { atLeastRows, f64, sqDist, type Rows } from './points';

/** E‖a_i − b_j‖ over all pairs (i, j), including i = j when a = b. */
const meanPairDistance = (a: Float64Array, b: Float64Array, dim: number): number => {
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
  const a = f64(x);
  const b = f64(y);
  return Math.max(0, 2 * meanPairDistance(a, b, dim) - meanPairDistance(a, a, dim) - meanPairDistance(b, b, dim));
};
