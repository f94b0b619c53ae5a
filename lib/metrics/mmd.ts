/** Maximum mean discrepancy with a Gaussian (RBF) kernel. */
import {
  MetricError,
  atLeastRows,
  median,
  pairDistances,
  sqDist,
  strideRows,
  type PairDistances,
  type Rows,
} from './points';

/** Rows used by medianHeuristic: the median of all pairs of 1000 points is already stable. */
const MEDIAN_POINTS = 1000;

/**
 * Median of pairwise distances with fallbacks: when more than half the pairs coincide
 * (median 0) the mean distance, and 1 when all points coincide, so the kernel stays defined.
 */
const bandwidthOf = (distances: Float64Array): number => {
  const med = median(distances);
  if (med > 0) return med;
  const mean = distances.reduce((a, b) => a + b, 0) / distances.length;
  return mean > 0 ? mean : 1;
};

/**
 * Median heuristic bandwidth: σ = median_{i<j} ‖z_i − z_j‖ over the sample Z (at most 1000
 * rows, taken at an even stride), with the fallbacks of bandwidthOf.
 */
export const medianHeuristic = (z: Rows, dim: number): number => {
  const s = strideRows(z, dim, MEDIAN_POINTS);
  const n = atLeastRows(s, dim, 2, 'medianHeuristic samples');
  const d = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) d[k++] = Math.sqrt(sqDist(s, i, s, j, dim));
  return bandwidthOf(d);
};

/** Median heuristic over every pair of the pooled sample X ∪ Y, from precomputed distances. */
export const pooledMedianHeuristic = (d: PairDistances): number => {
  const { n, m } = d;
  const all = new Float64Array((n * (n - 1)) / 2 + (m * (m - 1)) / 2 + n * m);
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) all[k++] = Math.sqrt(d.aa[i * n + j]);
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) all[k++] = Math.sqrt(d.bb[i * m + j]);
  for (let i = 0; i < n * m; i++) all[k++] = Math.sqrt(d.ab[i]);
  return bandwidthOf(all);
};

/** k(a, b) = exp(−‖a − b‖² / (2σ²)). */
export const rbfKernel = (sqDistance: number, sigma: number): number => Math.exp(-sqDistance / (2 * sigma * sigma));

/** Mean kernel over a squared-distance matrix; `square` drops its diagonal (i = j). */
const meanKernel = (d: Float64Array, rows: number, cols: number, sigma: number, square: boolean): number => {
  let s = 0;
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      if (square && i === j) continue;
      s += rbfKernel(d[i * cols + j], sigma);
    }
  return s / (square ? rows * (rows - 1) : rows * cols);
};

/** Unbiased MMD² from precomputed squared distances (see mmd2Rbf); σ defaults to the pooled median heuristic. */
export const mmd2FromDistances = (d: PairDistances, sigma: number = pooledMedianHeuristic(d)): number => {
  if (d.n < 2 || d.m < 2) throw new MetricError(`mmd2: need at least 2 samples in each set, got ${d.n} and ${d.m}`);
  if (!(sigma > 0) || !Number.isFinite(sigma))
    throw new MetricError(`mmd2Rbf: bandwidth sigma must be a positive finite number, got ${sigma}`);
  return (
    meanKernel(d.aa, d.n, d.n, sigma, true) +
    meanKernel(d.bb, d.m, d.m, sigma, true) -
    2 * meanKernel(d.ab, d.n, d.m, sigma, false)
  );
};

/**
 * Unbiased MMD² estimator (Gretton et al. 2012, eq. 3) with an RBF kernel:
 *   MMD²_u = 1/(N(N−1)) Σ_{i≠j} k(x_i, x_j) + 1/(M(M−1)) Σ_{i≠j} k(y_i, y_j) − 2/(NM) Σ_{i,j} k(x_i, y_j).
 * Unbiased, so it can be slightly negative when the distributions match
 * (for Y = X it is exactly (2/N)·(mean_{i≠j} k(x_i, x_j) − 1)).
 * σ defaults to the median heuristic over all pairs of the pooled sample X ∪ Y.
 */
export const mmd2Rbf = (x: Rows, y: Rows, dim: number, sigma?: number): number => {
  atLeastRows(x, dim, 2, 'mmd2Rbf x');
  atLeastRows(y, dim, 2, 'mmd2Rbf y');
  return mmd2FromDistances(pairDistances(x, y, dim), sigma);
};
