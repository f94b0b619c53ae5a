/** Vendi score (Friedman & Dieng 2023): the effective number of distinct samples. */
import { atLeastRows, MetricError, sqDist, strideRows, type Rows } from './points';
import { symEigenvalues } from './linalg';
import { medianHeuristic, rbfKernel } from './mmd';

/** exp(−Σ λ log λ) over the positive eigenvalues λ of a PSD matrix with trace 1. */
const expEntropy = (eigenvalues: Float64Array): number => {
  let h = 0;
  for (const l of eigenvalues) if (l > 1e-15) h -= l * Math.log(l);
  return Math.exp(h);
};

/**
 * Vendi score with the cosine kernel k(x, y) = ⟨x, y⟩ / (‖x‖‖y‖):
 *   VS = exp(−Σ_i λ_i log λ_i),   λ_i = eigenvalues of K/N.
 * K/N = X̂X̂ᵀ/N shares its non-zero eigenvalues with X̂ᵀX̂/N (X̂ = rows normalised), so the
 * smaller of the N×N and D×D matrices is decomposed. N identical rows give 1, N orthogonal rows N.
 */
export const vendiCosine = (x: Rows, dim: number): number => {
  const n = atLeastRows(x, dim, 1, 'vendiCosine samples');
  const xh = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) norm += x[i * dim + k] ** 2;
    if (!(norm > 0))
      throw new MetricError(`vendiCosine: sample ${i} has zero norm; the cosine kernel is undefined for it`);
    const r = 1 / Math.sqrt(norm);
    for (let k = 0; k < dim; k++) xh[i * dim + k] = x[i * dim + k] * r;
  }
  let g: Float64Array;
  let size: number;
  if (dim < n) {
    size = dim;
    g = new Float64Array(dim * dim);
    for (let i = 0; i < n; i++)
      for (let a = 0; a < dim; a++) {
        const v = xh[i * dim + a] / n;
        for (let b = a; b < dim; b++) g[a * dim + b] += v * xh[i * dim + b];
      }
    for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) g[a * dim + b] = g[b * dim + a];
  } else {
    size = n;
    g = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = i; j < n; j++) {
        let s = 0;
        for (let k = 0; k < dim; k++) s += xh[i * dim + k] * xh[j * dim + k];
        g[i * n + j] = s / n;
        g[j * n + i] = s / n;
      }
  }
  return expEntropy(symEigenvalues(g, size));
};

/**
 * Vendi score with the RBF kernel k(x, y) = exp(−‖x − y‖²/(2σ²)):
 *   VS = exp(−Σ_i λ_i log λ_i),   λ_i = eigenvalues of K/N.
 * σ defaults to the median heuristic of x itself, which makes the score scale-free: a
 * collapsed set scores like a spread one. To compare methods, pass one σ for all of them
 * (evaluateSamples uses the reference set's median heuristic).
 * The N×N eigenproblem is O(N³): at most `maxPoints` rows (default 300, even stride; ~1 s) are used.
 */
export const vendiRbf = (x: Rows, dim: number, opts: { sigma?: number; maxPoints?: number } = {}): number => {
  const s = strideRows(x, dim, opts.maxPoints ?? 300);
  const n = atLeastRows(s, dim, 1, 'vendiRbf samples');
  const sigma = opts.sigma ?? (n >= 2 ? medianHeuristic(s, dim) : 1);
  if (!(sigma > 0) || !Number.isFinite(sigma))
    throw new MetricError(`vendiRbf: sigma must be a positive finite number, got ${sigma}`);
  const k = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      const v = rbfKernel(sqDist(s, i, s, j, dim), sigma) / n;
      k[i * n + j] = v;
      k[j * n + i] = v;
    }
  return expEntropy(symEigenvalues(k, n));
};
