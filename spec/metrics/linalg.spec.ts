/** Symmetric eigen-solver, matrix square root, mean/covariance and the Fréchet distance against hand-computed cases. */
import {
  symEigen,
  symEigenvalues,
  sqrtmPsd,
  matMulSquare,
  meanCov,
  frechetDistance,
  frechetDistanceOfSamples,
  type Gaussian,
  LinalgError,
} from '../../lib/metrics/linalg';
import { uniformStream } from '../../lib/random/seed';

const randomSpd = (n: number, seed: number): Float64Array => {
  const u = uniformStream(seed);
  const a = Float64Array.from({ length: n * n }, () => u() - 0.5);
  const at = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) at[i * n + j] = a[j * n + i];
  return matMulSquare(a, at, n);
};

const transpose = (a: Float64Array, n: number): Float64Array => {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = a[j * n + i];
  return out;
};

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const gaussian = (mean: number[], cov: number[]): Gaussian => ({
  mean: Float64Array.from(mean),
  cov: Float64Array.from(cov),
  dim: mean.length,
});

describe('symEigen', () => {
  it('2×2 [[2,1],[1,2]]: eigenvalues 3, 1 with eigenvectors (1,1)/√2, (1,−1)/√2', () => {
    const { values, vectors } = symEigen([2, 1, 1, 2], 2);
    expect(values[0]).toBeCloseTo(3, 12);
    expect(values[1]).toBeCloseTo(1, 12);
    const V = vectors!;
    // columns up to sign
    expect(Math.abs(V[0])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(V[0] * V[2]).toBeCloseTo(0.5, 12); // first column ∝ (1, 1)
    expect(V[1] * V[3]).toBeCloseTo(-0.5, 12); // second column ∝ (1, −1)
  });

  it('3×3 tridiagonal [[2,−1,0],[−1,2,−1],[0,−1,2]]: eigenvalues 2+√2, 2, 2−√2', () => {
    const { values } = symEigen([2, -1, 0, -1, 2, -1, 0, -1, 2], 3);
    expect(values[0]).toBeCloseTo(2 + Math.SQRT2, 12);
    expect(values[1]).toBeCloseTo(2, 12);
    expect(values[2]).toBeCloseTo(2 - Math.SQRT2, 12);
  });

  it(
    'already-diagonal and block cases: diag(1, 5, 3) sorts to 5, 3, 1; [[4,1,0],[1,4,0],[0,0,2]] gives ' + '5, 3, 2',
    () => {
      expect(Array.from(symEigen([1, 0, 0, 0, 5, 0, 0, 0, 3], 3).values)).toEqual([5, 3, 1]);
      const { values } = symEigen([4, 1, 0, 1, 4, 0, 0, 0, 2], 3);
      [5, 3, 2].forEach((v, i) => expect(values[i]).toBeCloseTo(v, 12));
    },
  );

  it.each([5, 12, 40])('random SPD A·Aᵀ of size %i: V·diag(λ)·Vᵀ reconstructs it, VᵀV = I, λ ≥ 0 descending', (n) => {
    const s = randomSpd(n, n);
    const { values, vectors } = symEigen(s, n);
    const V = vectors!;
    const VL = Float64Array.from(V, (v, idx) => v * values[idx % n]);
    expect(maxAbsDiff(matMulSquare(VL, transpose(V, n), n), s)).toBeLessThan(1e-12);
    const eye = Float64Array.from({ length: n * n }, (_, idx) => (Math.floor(idx / n) === idx % n ? 1 : 0));
    expect(maxAbsDiff(matMulSquare(transpose(V, n), V, n), eye)).toBeLessThan(1e-12);
    for (let i = 0; i + 1 < n; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i + 1]);
    expect(values[n - 1]).toBeGreaterThan(-1e-12);
    // trace is preserved
    let tr = 0;
    for (let i = 0; i < n; i++) tr += s[i * n + i];
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(tr, 10);
  });

  it('eigenvalues without vectors match those with vectors', () => {
    const s = randomSpd(9, 3);
    expect(maxAbsDiff(symEigen(s, 9, { vectors: false }).values, symEigen(s, 9).values)).toBeLessThan(1e-12);
    expect(symEigen(s, 9, { vectors: false }).vectors).toBeNull();
  });

  it('refuses a wrong size and non-finite entries', () => {
    expect(() => symEigen([1, 2, 3], 2)).toThrow(/2×2 = 4 entries, got 3/);
    expect(() => symEigen([1, NaN, NaN, 1], 2)).toThrow(LinalgError);
  });
});

describe('symEigenvalues (Householder + QL)', () => {
  it('hand cases: tridiagonal 2±√2, 2; diagonal; rank-one all-ones 4×4 → 4, 0, 0, 0; 1×1', () => {
    const t = symEigenvalues([2, -1, 0, -1, 2, -1, 0, -1, 2], 3);
    [2 + Math.SQRT2, 2, 2 - Math.SQRT2].forEach((v, i) => expect(t[i]).toBeCloseTo(v, 12));
    expect(Array.from(symEigenvalues([1, 0, 0, 0, 5, 0, 0, 0, 3], 3))).toEqual([5, 3, 1]);
    const ones = symEigenvalues(new Float64Array(16).fill(1), 4);
    [4, 0, 0, 0].forEach((v, i) => expect(ones[i]).toBeCloseTo(v, 12));
    expect(Array.from(symEigenvalues([7], 1))).toEqual([7]);
  });

  it.each([6, 30, 80])('matches Jacobi on a random symmetric (indefinite) matrix of size %i', (n) => {
    const u = uniformStream(100 + n);
    const a = Float64Array.from({ length: n * n }, () => u() - 0.5);
    const s = Float64Array.from(a, (v, idx) => v + a[(idx % n) * n + Math.floor(idx / n)]);
    expect(maxAbsDiff(symEigenvalues(s, n), symEigen(s, n, { vectors: false }).values)).toBeLessThan(1e-12);
  });

  it(
    'converges on the RBF Gram matrix of collapsed samples (two clusters 1e-8 wide: near-zero eigenvalues the ' +
      'relative QL test alone never accepts)',
    () => {
      // a Vendi input from a mode-collapsed student; this exact matrix threw "did not converge" before
      const u = uniformStream(189);
      const n = 68;
      const centres = [
        [u() * 4, u() * 4],
        [u() * 4, u() * 4],
      ];
      const x = Array.from({ length: n }, (_, i) => centres[i % 2].map((c) => Math.fround(c + 1e-8 * (u() - 0.5))));
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          a[i * n + j] = Math.fround(
            Math.exp(-((x[i][0] - x[j][0]) ** 2 + (x[i][1] - x[j][1]) ** 2) / (2 * 0.4 ** 2)) / n,
          );
      const values = symEigenvalues(a, n);
      // two clusters → rank 2 (up to float32 rounding): the two top eigenvalues carry the trace
      const trace = Array.from({ length: n }, (_, i) => a[i * n + i]).reduce((s, v) => s + v, 0);
      expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(trace, 10);
      expect(maxAbsDiff(values, symEigen(a, n, { vectors: false }).values)).toBeLessThan(1e-9);
      expect(Math.max(...Array.from(values.slice(2), Math.abs))).toBeLessThan(1e-6);
    },
  );
});

describe('sqrtmPsd', () => {
  it('[[5,4],[4,5]]^{1/2} = [[2,1],[1,2]]', () => {
    expect(maxAbsDiff(sqrtmPsd([5, 4, 4, 5], 2), [2, 1, 1, 2])).toBeLessThan(1e-12);
  });

  it('squares back to a random SPD matrix and is symmetric', () => {
    const s = randomSpd(20, 7);
    const r = sqrtmPsd(s, 20);
    expect(maxAbsDiff(matMulSquare(r, r, 20), s)).toBeLessThan(1e-12);
    expect(maxAbsDiff(r, transpose(r, 20))).toBe(0);
  });

  it('clips the rounding-negative eigenvalue of a singular PSD matrix: [[1,1],[1,1]]^{1/2} = [[1,1],[1,1]]/√2', () => {
    expect(
      maxAbsDiff(sqrtmPsd([1, 1, 1, 1], 2), [Math.SQRT1_2, Math.SQRT1_2, Math.SQRT1_2, Math.SQRT1_2]),
    ).toBeLessThan(1e-12);
  });
});

describe('meanCov', () => {
  it('corners of a 2×2 square: μ = (1, 1), Σ = (4/3)·I with the N−1 normaliser', () => {
    const { mean, cov } = meanCov([0, 0, 2, 0, 0, 2, 2, 2], 2);
    expect(Array.from(mean)).toEqual([1, 1]);
    expect(maxAbsDiff(cov, [4 / 3, 0, 0, 4 / 3])).toBeLessThan(1e-15);
  });

  it('correlated 1-D pair: rows (0,0),(1,2),(2,4) give Σ = [[1,2],[2,4]]', () => {
    expect(maxAbsDiff(meanCov([0, 0, 1, 2, 2, 4], 2).cov, [1, 2, 2, 4])).toBeLessThan(1e-15);
  });

  it('needs two samples and whole rows', () => {
    expect(() => meanCov([1, 2], 2)).toThrow(/at least 2 samples/);
    expect(() => meanCov([1, 2, 3], 2)).toThrow(/not a whole number of rows/);
  });
});

describe('frechetDistance', () => {
  it('is 0 for identical Gaussians', () => {
    const s = randomSpd(6, 11);
    const g = { mean: Float64Array.from([1, 2, 3, 4, 5, 6]), cov: s, dim: 6 };
    expect(frechetDistance(g, g)).toBeLessThan(1e-10);
  });

  it('1-D closed form: (μ₁ − μ₂)² + (σ₁ − σ₂)²', () => {
    // N(1, 2²) vs N(−2, 0.5²): 9 + 2.25
    expect(frechetDistance(gaussian([1], [4]), gaussian([-2], [0.25]))).toBeCloseTo(11.25, 12);
  });

  it('diagonal covariances: Σ_j (μ₁ⱼ − μ₂ⱼ)² + (√a_j − √b_j)²', () => {
    const d = frechetDistance(gaussian([0, 0], [1, 0, 0, 9]), gaussian([3, 4], [4, 0, 0, 1]));
    expect(d).toBeCloseTo(25 + 1 + 4, 12);
  });

  it(
    'non-commuting covariances by hand: Σ₁ = I, Σ₂ = [[5,4],[4,5]] gives tr(I + Σ₂ − 2Σ₂^{1/2}) = 2 + 10 − ' + '8 = 4',
    () => {
      expect(frechetDistance(gaussian([0, 0], [1, 0, 0, 1]), gaussian([0, 0], [5, 4, 4, 5]))).toBeCloseTo(4, 12);
    },
  );

  it('is symmetric for random non-commuting covariances', () => {
    const g1 = { mean: new Float64Array(5), cov: randomSpd(5, 1), dim: 5 };
    const g2 = { mean: Float64Array.from([1, 0, 0, 0, 0]), cov: randomSpd(5, 2), dim: 5 };
    expect(frechetDistance(g1, g2)).toBeCloseTo(frechetDistance(g2, g1), 10);
  });

  it('of samples: a set against itself is 0, against a shifted copy is the squared shift', () => {
    const u = uniformStream(5);
    const x = Float64Array.from({ length: 300 }, () => u());
    const y = Float64Array.from(x, (v, i) => v + (i % 3 === 0 ? 2 : 0)); // shift column 0 by 2
    expect(frechetDistanceOfSamples(x, x, 3)).toBeLessThan(1e-10);
    expect(frechetDistanceOfSamples(x, y, 3)).toBeCloseTo(4, 8);
  });

  it('refuses mismatched dimensions', () => {
    expect(() => frechetDistance(gaussian([0], [1]), gaussian([0, 0], [1, 0, 0, 1]))).toThrow(/dimensions differ/);
  });
});
