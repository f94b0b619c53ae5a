/**
 * Small dense linear algebra on the host, in Float64Array (TensorFlow.js has no
 * eigensolver): a symmetric eigen-solver, the symmetric matrix square root built on it,
 * sample means/covariances and the Fréchet distance between Gaussians.
 * Matrices are row-major n×n Float64Arrays.
 */
import { asRows, type Rows } from './points';

export interface SymEigen {
  /** Eigenvalues, descending. */
  readonly values: Float64Array;
  /** Eigenvectors as columns, row-major n×n: A = V·diag(values)·Vᵀ. Absent when not asked for. */
  readonly vectors: Float64Array | null;
}

export class LinalgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinalgError';
  }
}

const checkSquare = (a: ArrayLike<number>, n: number, what: string): void => {
  if (!Number.isInteger(n) || n < 1) throw new LinalgError(`${what}: size n must be a positive integer, got ${n}`);
  if (a.length !== n * n) throw new LinalgError(`${what}: expected ${n}×${n} = ${n * n} entries, got ${a.length}`);
};

/**
 * Cyclic Jacobi eigen-decomposition of a symmetric matrix A:
 *   repeat sweeps over all pairs (p < q): rotate by J(p, q, θ) with
 *   tan 2θ = 2·a_pq / (a_qq − a_pp), so that (JᵀAJ)_pq = 0,
 * until the off-diagonal Frobenius norm is below tol·‖A‖_F. Converges quadratically;
 * O(n³) per sweep, fine up to a few hundred rows. Only the upper triangle's symmetry is
 * assumed, A is not modified.
 */
export const symEigen = (
  a: ArrayLike<number>,
  n: number,
  opts: { vectors?: boolean; tol?: number; maxSweeps?: number } = {},
): SymEigen => {
  checkSquare(a, n, 'symEigen');
  const wantVectors = opts.vectors ?? true;
  const tol = opts.tol ?? 1e-14;
  const maxSweeps = opts.maxSweeps ?? 100;
  const A = Float64Array.from(a as ArrayLike<number>);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      if (!Number.isFinite(A[i * n + j]) || !Number.isFinite(A[j * n + i]))
        throw new LinalgError(`symEigen: entry (${i}, ${j}) is not finite`);
      const m = 0.5 * (A[i * n + j] + A[j * n + i]); // symmetrise rounding noise
      A[i * n + j] = m;
      A[j * n + i] = m;
    }
  const V = wantVectors ? new Float64Array(n * n) : null;
  if (V) for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let frob = 0;
  for (let i = 0; i < n * n; i++) frob += A[i] * A[i];
  const threshold = tol * tol * frob;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += 2 * A[p * n + q] * A[p * n + q];
    if (off <= threshold) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (apq === 0) continue;
        const app = A[p * n + p];
        const aqq = A[q * n + q];
        // stable rotation (Numerical Recipes §11.1): t = sgn(τ)/(|τ| + √(1+τ²)), τ = (a_qq − a_pp)/(2a_pq)
        const tau = (aqq - app) / (2 * apq);
        const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // columns p, q
          const akp = A[k * n + p];
          const akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          // rows p, q
          const apk = A[p * n + k];
          const aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        A[p * n + q] = 0;
        A[q * n + p] = 0;
        if (V) {
          for (let k = 0; k < n; k++) {
            const vkp = V[k * n + p];
            const vkq = V[k * n + q];
            V[k * n + p] = c * vkp - s * vkq;
            V[k * n + q] = s * vkp + c * vkq;
          }
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => A[j * n + j] - A[i * n + i]);
  const values = Float64Array.from(order, (i) => A[i * n + i]);
  let vectors: Float64Array | null = null;
  if (V) {
    vectors = new Float64Array(n * n);
    for (let r = 0; r < n; r++) order.forEach((src, dst) => (vectors![r * n + dst] = V[r * n + src]));
  }
  return { values, vectors };
};

/**
 * Eigenvalues only (descending) of a symmetric matrix, ~10× faster than Jacobi for large n:
 * Householder reduction to tridiagonal form T = QᵀAQ (n − 2 reflections H = I − 2uuᵀ/‖u‖²),
 * then the implicit-shift QL iteration on T (Numerical Recipes tred2/tqli, no vectors).
 * Used where only the spectrum matters (Vendi score, tr√M in the Fréchet distance).
 */
export const symEigenvalues = (a: ArrayLike<number>, n: number): Float64Array => {
  checkSquare(a, n, 'symEigenvalues');
  const z = Float64Array.from(a as ArrayLike<number>);
  for (let i = 0; i < n * n; i++)
    if (!Number.isFinite(z[i]))
      throw new LinalgError(`symEigenvalues: entry (${Math.floor(i / n)}, ${i % n}) is not finite`);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // tred2: z's lower triangle is reduced; d, e receive the diagonal and sub-diagonal
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k < i; k++) scale += Math.abs(z[i * n + k]);
      if (scale === 0) e[i] = z[i * n + l];
      else {
        for (let k = 0; k < i; k++) {
          z[i * n + k] /= scale;
          h += z[i * n + k] * z[i * n + k];
        }
        let f = z[i * n + l];
        let g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        z[i * n + l] = f - g;
        f = 0;
        for (let j = 0; j < i; j++) {
          g = 0;
          for (let k = 0; k <= j; k++) g += z[j * n + k] * z[i * n + k];
          for (let k = j + 1; k < i; k++) g += z[k * n + j] * z[i * n + k];
          e[j] = g / h;
          f += e[j] * z[i * n + j];
        }
        const hh = f / (h + h);
        for (let j = 0; j < i; j++) {
          f = z[i * n + j];
          e[j] = g = e[j] - hh * f;
          for (let k = 0; k <= j; k++) z[j * n + k] -= f * e[k] + g * z[i * n + k];
        }
      }
    } else e[i] = z[i * n + l];
    d[i] = h;
  }
  for (let i = 0; i < n; i++) d[i] = z[i * n + i];
  // tqli: implicit QL with Wilkinson-like shifts on the tridiagonal (d, e)
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  if (n > 0) e[n - 1] = 0;
  const eps = Number.EPSILON;
  // Why an absolute floor too: NR's relative test |e_m| ≤ ε(|d_m| + |d_m+1|) never holds when
  // both diagonals are (near) zero — the many zero eigenvalues of a rank-deficient Gram
  // matrix (collapsed samples in Vendi). Dropping |e_m| ≤ ε‖T‖ moves eigenvalues by ≤ ε‖T‖.
  let normT = 0;
  for (let i = 0; i < n; i++)
    normT = Math.max(normT, Math.abs(d[i]) + Math.abs(e[i]) + (i > 0 ? Math.abs(e[i - 1]) : 0));
  const floor = eps * normT;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= eps * dd || Math.abs(e[m]) <= floor) break;
      }
      if (m !== l) {
        // rare stall: Jacobi always converges (slower)
        if (iter++ === 60) return symEigen(a, n, { vectors: false }).values;
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
        let s = 1;
        let c = 1;
        let p = 0;
        let i: number;
        for (i = m - 1; i >= l; i--) {
          const f = s * e[i];
          const b = c * e[i];
          e[i + 1] = r = Math.hypot(f, g);
          if (r === 0) {
            d[i + 1] -= p;
            e[m] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          d[i + 1] = g + (p = s * r);
          g = c * r - b;
        }
        if (r === 0 && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
  return d.sort().reverse();
};

/** f(A) = V·diag(f(λ))·Vᵀ for a symmetric A. */
export const symFunction = (a: ArrayLike<number>, n: number, f: (lambda: number) => number): Float64Array => {
  const { values, vectors } = symEigen(a, n);
  const V = vectors!;
  const fl = values.map(f);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += V[i * n + k] * fl[k] * V[j * n + k];
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  return out;
};

/**
 * Principal square root of a symmetric positive semi-definite matrix:
 *   A^{1/2} = V·diag(√max(λ, 0))·Vᵀ.
 * Eigenvalues that rounding pushed slightly below zero are clipped to 0.
 */
export const sqrtmPsd = (a: ArrayLike<number>, n: number): Float64Array =>
  symFunction(a, n, (l) => Math.sqrt(Math.max(l, 0)));

/** C = A·B for row-major n×n matrices. */
export const matMulSquare = (a: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array => {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  return c;
};

export const trace = (a: ArrayLike<number>, n: number): number => {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i * n + i];
  return s;
};

export interface Gaussian {
  /** μ, length d. */
  readonly mean: Float64Array;
  /** Σ, row-major d×d. */
  readonly cov: Float64Array;
  readonly dim: number;
}

/**
 * Sample mean and unbiased covariance of rows x [N, D]:
 *   μ = (1/N) Σ_i x_i,   Σ = (1/(N−1)) Σ_i (x_i − μ)(x_i − μ)ᵀ.
 */
export const meanCov = (x: Rows, dim: number): Gaussian => {
  const n = asRows(x, dim, 'meanCov samples');
  if (n < 2) throw new LinalgError(`meanCov: need at least 2 samples for a covariance, got ${n}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += x[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  const cov = new Float64Array(dim * dim);
  const c = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) c[j] = x[i * dim + j] - mean[j];
    for (let j = 0; j < dim; j++) {
      const cj = c[j];
      for (let k = j; k < dim; k++) cov[j * dim + k] += cj * c[k];
    }
  }
  for (let j = 0; j < dim; j++)
    for (let k = j; k < dim; k++) {
      const v = cov[j * dim + k] / (n - 1);
      cov[j * dim + k] = v;
      cov[k * dim + j] = v;
    }
  return { mean, cov, dim };
};

/**
 * Fréchet (2-Wasserstein) distance² between N(μ₁, Σ₁) and N(μ₂, Σ₂):
 *   d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2·(Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}).
 * Σ₁^{1/2}Σ₂Σ₁^{1/2} is symmetric PSD, so only symmetric eigen-decompositions are needed:
 * tr(M^{1/2}) = Σ √max(λ_i(M), 0). This is the FID formula; small negative results from
 * rounding are clipped to 0.
 */
export const frechetDistance = (g1: Gaussian, g2: Gaussian): number => {
  if (g1.dim !== g2.dim) throw new LinalgError(`frechetDistance: dimensions differ (${g1.dim} vs ${g2.dim})`);
  const d = g1.dim;
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (g1.mean[j] - g2.mean[j]) ** 2;
  const s1 = sqrtmPsd(g1.cov, d);
  const m = matMulSquare(matMulSquare(s1, g2.cov, d), s1, d);
  let trSqrt = 0;
  for (const l of symEigenvalues(m, d)) trSqrt += Math.sqrt(Math.max(l, 0));
  return Math.max(0, meanTerm + trace(g1.cov, d) + trace(g2.cov, d) - 2 * trSqrt);
};

/** Fréchet distance between Gaussians fitted to two sample sets [N, D] and [M, D]. */
export const frechetDistanceOfSamples = (x: Rows, y: Rows, dim: number): number =>
  frechetDistance(meanCov(x, dim), meanCov(y, dim));
