/**
 * Image-diversity measures on feature vectors, per class, as in the paper's tables:
 * mean pairwise cosine similarity (its DINO measure, lower = more diverse) and mean pairwise
 * Euclidean feature distance (its LPIPS measure, higher = more diverse).
 */
import { asRows, f64, MetricError, sqDist, type Rows } from './points';

export interface PerClass {
  /** Mean over the classes that have at least two samples. */
  readonly mean: number;
  /** Per class id (null where a class has fewer than two samples). */
  readonly perClass: ReadonlyArray<number | null>;
}

/** Rows grouped by label (one group, id 0, when labels are null). */
const groups = (n: number, labels: ArrayLike<number> | null): Map<number, number[]> => {
  if (labels !== null && labels.length !== n)
    throw new MetricError(`labels: expected ${n} labels (one per sample), got ${labels.length}`);
  const out = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = labels === null ? 0 : labels[i];
    if (!Number.isInteger(c) || c < 0)
      throw new MetricError(`labels[${i}]: expected a non-negative integer class id, got ${c}`);
    const g = out.get(c);
    if (g) g.push(i);
    else out.set(c, [i]);
  }
  return out;
};

/** Mean of f(i, j) over pairs i < j within each group, then the mean over groups. */
const perClassPairMean = (
  n: number,
  labels: ArrayLike<number> | null,
  f: (i: number, j: number) => number,
): PerClass => {
  const byClass = groups(n, labels);
  const numClasses = byClass.size === 0 ? 0 : Math.max(...byClass.keys()) + 1;
  const perClass = new Array<number | null>(numClasses).fill(null);
  for (const [c, rows] of byClass) {
    if (rows.length < 2) continue;
    let s = 0;
    for (let a = 0; a < rows.length; a++) for (let b = a + 1; b < rows.length; b++) s += f(rows[a], rows[b]);
    perClass[c] = s / ((rows.length * (rows.length - 1)) / 2);
  }
  const valid = perClass.filter((v): v is number => v !== null);
  if (valid.length === 0) throw new MetricError('per-class pairwise mean: no class has two or more samples');
  return { mean: valid.reduce((a, b) => a + b, 0) / valid.length, perClass };
};

/** cos(x_i, x_j) = ⟨x_i, x_j⟩ / (‖x_i‖‖x_j‖); a zero vector is an error. */
export const cosineSimilarity = (x: Rows, i: number, y: Rows, j: number, dim: number): number => {
  let dot = 0;
  let nx = 0;
  let ny = 0;
  for (let k = 0; k < dim; k++) {
    const a = x[i * dim + k];
    const b = y[j * dim + k];
    dot += a * b;
    nx += a * a;
    ny += b * b;
  }
  if (!(nx > 0) || !(ny > 0)) throw new MetricError(`cosine similarity: sample ${nx > 0 ? j : i} has zero norm`);
  return dot / Math.sqrt(nx * ny);
};

/**
 * Per-class mean pairwise cosine similarity (the paper's DINO measure; lower = more diverse):
 *   S_c = (2/(n_c(n_c − 1))) Σ_{i<j ∈ c} cos(f_i, f_j),   reported with mean_c S_c.
 */
export const meanPairwiseCosine = (features: Rows, dim: number, labels: ArrayLike<number> | null = null): PerClass => {
  const n = asRows(features, dim, 'meanPairwiseCosine features');
  const f = f64(features);
  return perClassPairMean(n, labels, (i, j) => cosineSimilarity(f, i, f, j, dim));
};

/**
 * Per-class mean pairwise Euclidean feature distance (the paper's LPIPS analogue; higher = more diverse):
 *   L_c = (2/(n_c(n_c − 1))) Σ_{i<j ∈ c} ‖f_i − f_j‖,   reported with mean_c L_c.
 */
export const meanPairwiseDistance = (
  features: Rows,
  dim: number,
  labels: ArrayLike<number> | null = null,
): PerClass => {
  const n = asRows(features, dim, 'meanPairwiseDistance features');
  const f = f64(features);
  return perClassPairMean(n, labels, (i, j) => Math.sqrt(sqDist(f, i, f, j, dim)));
};
