/** Maximum mean discrepancy with a Gaussian (RBF) kernel. */
import { MetricError, atLeastRows, concatRows, f64, median, sqDist, strideRows, type Rows } from './points';

/** Rows used for the median heuristic: the median of all pairs of 1000 points is already stable. */
const MEDIAN_POINTS = 1000;

/**
 * Median heuristic bandwidth: σ = median_{i<j} ‖z_i − z_j‖ over the pooled sample Z
 * (at most 1000 rows, taken at an even stride). When more than half the pairs coincide
 * (median 0) it falls back to the mean pairwise distance, and to 1 when all points coincide,
 * so the kernel stays defined.
 */
export const medianHeuristic = (z: Rows, dim: number): number => {
  const s = strideRows(z, dim, MEDIAN_POINTS);
  const n = atLeastRows(s, dim, 2, 'medianHeuristic samples');
  const d = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) d[k++] = Math.sqrt(sqDist(s, i, s, j, dim));
  const med = median(d);
  if (med > 0) return med;
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  return mean > 0 ? mean : 1;
};

/** k(a, b) = exp(−‖a − b‖² / (2σ²)). */
export const rbfKernel = (sqDistance: number, sigma: number): number => Math.exp(-sqDistance / (2 * sigma * sigma));

/** Mean of k(a_i, b_j) over pairs; `distinct` drops i = j (a = b). */
const meanKernel = (a: Float64Array, b: Float64Array, dim: number, sigma: number, distinct: boolean): number => {
  const n = a.length / dim;
  const m = b.length / dim;
  let s = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      if (distinct && i === j) continue;
      s += rbfKernel(sqDist(a, i, b, j, dim), sigma);
    }
  return s / (distinct ? n * (n - 1) : n * m);
};

/**
 * Unbiased MMD² estimator (Gretton et al. 2012, eq. 3) with an RBF kernel:
 *   MMD²_u = 1/(N(N−1)) Σ_{i≠j} k(x_i, x_j) + 1/(M(M−1)) Σ_{i≠j} k(y_i, y_j) − 2/(NM) Σ_{i,j} k(x_i, y_j).
 * Unbiased, so it can be slightly negative when the distributions match
 * (for Y = X it is exactly (2/N)·(mean_{i≠j} k(x_i, x_j) − 1)).
 * σ defaults to the median heuristic on the pooled sample.
 */
export const mmd2Rbf = (x: Rows, y: Rows, dim: number, sigma: number = medianHeuristic(concatRows(x, y), dim)): number => {
  atLeastRows(x, dim, 2, 'mmd2Rbf x');
  atLeastRows(y, dim, 2, 'mmd2Rbf y');
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new MetricError(`mmd2Rbf: bandwidth sigma must be a positive finite number, got ${sigma}`);
  const a = f64(x);
  const b = f64(y);
  return meanKernel(a, a, dim, sigma, true) + meanKernel(b, b, dim, sigma, true) - 2 * meanKernel(a, b, dim, sigma, false);
};
