/**
 * k-nearest-neighbour manifold metrics: precision/recall (Kynkäänniemi et al. 2019) and
 * density/coverage (Naeem et al. 2020). Balls are closed (‖·‖ ≤ radius), so a sample that
 * coincides with a reference point always lies in that point's ball.
 */
import { atLeastRows, MetricError, pairwiseSqDist, type Rows } from './points';

/** r_k(a_i)² = squared distance from each row of a to its k-th nearest other row of a (squared: ties compare exactly). */
const kthNeighbourSqRadii = (a: Rows, dim: number, k: number): Float64Array => {
  const n = atLeastRows(a, dim, k + 1, `kNN radii (k = ${k})`);
  const d = pairwiseSqDist(a, a, dim);
  const out = new Float64Array(n);
  const row = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (let j = 0; j < n; j++) if (j !== i) row[c++] = d[i * n + j];
    row.sort();
    out[i] = row[k - 1];
  }
  return out;
};

/** r_k(a_i) = distance from each row of a to its k-th nearest other row of a. */
export const kthNeighbourRadii = (a: Rows, dim: number, k: number): Float64Array => kthNeighbourSqRadii(a, dim, k).map(Math.sqrt);

const checkK = (k: number): void => {
  if (!Number.isInteger(k) || k < 1) throw new MetricError(`k must be a positive integer, got ${k}`);
};

/**
 * Counts, for each query row q_j, how many balls B(a_i, r_k(a_i)) contain it.
 * Returns an Int32Array of length M (queries).
 */
const ballCounts = (a: Rows, sqRadii: Float64Array, q: Rows, dim: number): Int32Array => {
  const n = sqRadii.length;
  const m = q.length / dim;
  const d = pairwiseSqDist(q, a, dim);
  const out = new Int32Array(m);
  for (let j = 0; j < m; j++) {
    let c = 0;
    for (let i = 0; i < n; i++) if (d[j * n + i] <= sqRadii[i]) c++;
    out[j] = c;
  }
  return out;
};

/** Share of rows of `q` inside the k-NN manifold of `a` (the union of its k-NN balls). */
const manifoldShare = (a: Rows, q: Rows, dim: number, k: number): number => {
  const counts = ballCounts(a, kthNeighbourSqRadii(a, dim, k), q, dim);
  return counts.reduce((s, c) => s + (c > 0 ? 1 : 0), 0) / counts.length;
};

/**
 * Improved precision and recall (Kynkäänniemi et al. 2019), with real X [N, D] and fake Y [M, D]:
 *   precision = (1/M) Σ_j 1[y_j ∈ ∪_i B(x_i, r_k(x_i))]   (fidelity),
 *   recall    = (1/N) Σ_i 1[x_i ∈ ∪_j B(y_j, r_k(y_j))]   (diversity),
 * r_k = distance to the k-th nearest neighbour within the same set (default k = 3, as in the paper).
 */
export const precisionRecall = (real: Rows, fake: Rows, dim: number, k = 3): { precision: number; recall: number } => {
  checkK(k);
  atLeastRows(fake, dim, k + 1, 'precisionRecall fake');
  atLeastRows(real, dim, k + 1, 'precisionRecall real');
  return { precision: manifoldShare(real, fake, dim, k), recall: manifoldShare(fake, real, dim, k) };
};

/**
 * Density and coverage (Naeem et al. 2020), real X [N, D], fake Y [M, D], k-NN radii on X only:
 *   density  = 1/(k·M) Σ_j Σ_i 1[y_j ∈ B(x_i, r_k(x_i))]   (can exceed 1),
 *   coverage = (1/N) Σ_i 1[∃ j: y_j ∈ B(x_i, r_k(x_i))]    (default k = 5, as in the paper).
 */
export const densityCoverage = (real: Rows, fake: Rows, dim: number, k = 5): { density: number; coverage: number } => {
  checkK(k);
  const n = atLeastRows(real, dim, k + 1, 'densityCoverage real');
  const m = atLeastRows(fake, dim, 1, 'densityCoverage fake');
  const sqRadii = kthNeighbourSqRadii(real, dim, k);
  const d = pairwiseSqDist(real, fake, dim);
  let inside = 0;
  let covered = 0;
  for (let i = 0; i < n; i++) {
    const r2 = sqRadii[i];
    let any = false;
    for (let j = 0; j < m; j++)
      if (d[i * m + j] <= r2) {
        inside++;
        any = true;
      }
    if (any) covered++;
  }
  return { density: inside / (k * m), coverage: covered / n };
};
