/** Energy distance between two sample sets (Székely & Rizzo). */
import { atLeastRows, pairDistances, type PairDistances, type Rows } from './points';

/** Mean of √d over all entries of a squared-distance matrix. */
const meanSqrt = (d: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < d.length; i++) s += Math.sqrt(d[i]);
  return s / d.length;
};

/** Energy distance from precomputed squared distances (see energyDistance). */
export const energyFromDistances = (d: PairDistances): number =>
  Math.max(0, 2 * meanSqrt(d.ab) - meanSqrt(d.aa) - meanSqrt(d.bb));

/**
 * Energy distance (the squared form, a V-statistic over all pairs):
 *   D²(X, Y) = 2·E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖,
 * each expectation an average over all N·M (or N², M²) pairs, so D²(X, X) = 0 exactly and
 * two point masses a, b give 2‖a − b‖. Non-negative; zero iff the empirical measures match.
 */
export const energyDistance = (x: Rows, y: Rows, dim: number): number => {
  atLeastRows(x, dim, 1, 'energyDistance x');
  atLeastRows(y, dim, 1, 'energyDistance y');
  return energyFromDistances(pairDistances(x, y, dim));
};
