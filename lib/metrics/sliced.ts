/** Sliced Wasserstein distance with seeded random projections. */
import { atLeastRows, f64, MetricError, type Rows } from './points';
import { splitSeed, uniformStream, type Seed } from '../random/seed';

/**
 * Exact p-Wasserstein distance^p between two 1-D empirical measures with uniform weights:
 *   W_p^p = ∫₀¹ |F⁻¹(u) − G⁻¹(u)|^p du,
 * evaluated by merging the two sorted quantile step functions (N ≠ M allowed).
 */
export const wasserstein1dPow = (a: Float64Array, b: Float64Array, p: number): number => {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  const n = x.length;
  const m = y.length;
  let i = 0;
  let j = 0;
  let u = 0; // quantile level reached, in units of 1/(N·M) so the merge compares integers
  let total = 0;
  while (i < n && j < m) {
    const nextX = (i + 1) * m;
    const nextY = (j + 1) * n;
    const next = Math.min(nextX, nextY);
    total += ((next - u) / (n * m)) * Math.abs(x[i] - y[j]) ** p;
    u = next;
    if (nextX === next) i++;
    if (nextY === next) j++;
  }
  return total;
};

/** L directions θ_l uniform on the unit sphere S^{D−1} (normalised Gaussians, Box–Muller), row-major [L, D]. */
export const randomDirections = (count: number, dim: number, seed: Seed): Float64Array => {
  const u = uniformStream(splitSeed(seed, 'sliced-directions'));
  const out = new Float64Array(count * dim);
  for (let l = 0; l < count; l++) {
    let norm = 0;
    do {
      norm = 0;
      for (let k = 0; k < dim; k++) {
        const g = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
        out[l * dim + k] = g;
        norm += g * g;
      }
    } while (norm === 0);
    const r = 1 / Math.sqrt(norm);
    for (let k = 0; k < dim; k++) out[l * dim + k] *= r;
  }
  return out;
};

const project = (x: Float64Array, dim: number, dirs: Float64Array, l: number): Float64Array => {
  const n = x.length / dim;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += x[i * dim + k] * dirs[l * dim + k];
    out[i] = s;
  }
  return out;
};

export interface SlicedOptions {
  /** Seed of the projections (required: the metric is random). */
  readonly seed: Seed;
  /** Number of projections L (default 128). */
  readonly projections?: number;
  /** Order p ≥ 1 (default 2). */
  readonly p?: number;
}

/**
 * Sliced p-Wasserstein distance with L seeded Monte-Carlo directions:
 *   SW_p(X, Y) = ( (1/L) Σ_l W_p^p(θ_l·X, θ_l·Y) )^{1/p},   θ_l ~ U(S^{D−1}).
 * In 1-D it is the exact W_p; a shift Y = X + δ gives SW_2² ≈ ‖δ‖²/D.
 */
export const slicedWasserstein = (x: Rows, y: Rows, dim: number, opts: SlicedOptions): number => {
  atLeastRows(x, dim, 1, 'slicedWasserstein x');
  atLeastRows(y, dim, 1, 'slicedWasserstein y');
  const L = opts.projections ?? 128;
  const p = opts.p ?? 2;
  if (!Number.isInteger(L) || L < 1)
    throw new MetricError(`slicedWasserstein: projections must be a positive integer, got ${L}`);
  if (!(p >= 1)) throw new MetricError(`slicedWasserstein: p must be ≥ 1, got ${p}`);
  const dirs = randomDirections(L, dim, opts.seed);
  const a = f64(x);
  const b = f64(y);
  let s = 0;
  for (let l = 0; l < L; l++) s += wasserstein1dPow(project(a, dim, dirs, l), project(b, dim, dirs, l), p);
  return (s / L) ** (1 / p);
};
