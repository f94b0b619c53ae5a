/**
 * k-nearest-neighbour manifold metrics: precision/recall (Kynkäänniemi et al. 2019) and
 * density/coverage (Naeem et al. 2020). Balls are closed (‖·‖ ≤ radius), so a sample that
 * coincides with a reference point always lies in that point's ball. The *FromDistances
 * forms take precomputed squared distances with the real (reference) set first.
 */
import { atLeastRows, MetricError, pairDistances, type PairDistances, type Rows } from './points';

/**
 * r_k² per row of a square [n, n] squared-distance matrix: its k-th smallest off-diagonal entry (squared: ties compare
 * exactly).
 */
const kthSqRadii = (d: Float64Array, n: number, k: number): Float64Array => {
  if (n < k + 1) throw new MetricError(`kNN radii (k = ${k}): need at least ${k + 1} samples, got ${n}`);
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
export const kthNeighbourRadii = (a: Rows, dim: number, k: number): Float64Array => {
  const n = atLeastRows(a, dim, 1, 'kNN radii');
  return kthSqRadii(pairDistances(a, [], dim).aa, n, k).map(Math.sqrt);
};

const checkK = (k: number): void => {
  if (!Number.isInteger(k) || k < 1) throw new MetricError(`k must be a positive integer, got ${k}`);
};

/** Improved precision/recall from squared distances, real = first set (see precisionRecall). */
export const precisionRecallFromDistances = (d: PairDistances, k = 3): { precision: number; recall: number } => {
  checkK(k);
  const { n, m, ab } = d;
  const rReal = kthSqRadii(d.aa, n, k);
  const rFake = kthSqRadii(d.bb, m, k);
  let precise = 0;
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < n; i++)
      if (ab[i * m + j] <= rReal[i]) {
        precise++;
        break;
      }
  }
  let recalled = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++)
      if (ab[i * m + j] <= rFake[j]) {
        recalled++;
        break;
      }
  }
  return { precision: precise / m, recall: recalled / n };
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
  return precisionRecallFromDistances(pairDistances(real, fake, dim), k);
};

/** Density/coverage from squared distances, real = first set (see densityCoverage). */
export const densityCoverageFromDistances = (d: PairDistances, k = 5): { density: number; coverage: number } => {
  checkK(k);
  const { n, m, ab } = d;
  const sqRadii = kthSqRadii(d.aa, n, k);
  let inside = 0;
  let covered = 0;
  for (let i = 0; i < n; i++) {
    const r2 = sqRadii[i];
    let any = false;
    for (let j = 0; j < m; j++)
      if (ab[i * m + j] <= r2) {
        inside++;
        any = true;
      }
    if (any) covered++;
  }
  return { density: inside / (k * m), coverage: covered / n };
};

/**
 * Density and coverage (Naeem et al. 2020), real X [N, D], fake Y [M, D], k-NN radii on X only:
 *   density  = 1/(k·M) Σ_j Σ_i 1[y_j ∈ B(x_i, r_k(x_i))]   (can exceed 1),
 *   coverage = (1/N) Σ_i 1[∃ j: y_j ∈ B(x_i, r_k(x_i))]    (default k = 5, as in the paper).
 */
export const densityCoverage = (real: Rows, fake: Rows, dim: number, k = 5): { density: number; coverage: number } => {
  checkK(k);
  atLeastRows(real, dim, k + 1, 'densityCoverage real');
  atLeastRows(fake, dim, 1, 'densityCoverage fake');
  return densityCoverageFromDistances(pairDistances(real, fake, dim), k);
};
