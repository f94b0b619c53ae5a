/** Vendi score: N identical points → 1, N orthogonal points → N, two clusters → 2, a closed-form pair. */
import { vendiCosine, vendiRbf } from '../../lib/metrics/vendi';

const identity = (n: number, dim = n): Float64Array =>
  Float64Array.from({ length: n * dim }, (_, i) => (i % dim === Math.floor(i / dim) ? 1 : 0));

describe('vendiCosine', () => {
  it('N identical points → 1', () => {
    expect(
      vendiCosine(
        Float64Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 1 : 2)),
        2,
      ),
    ).toBeCloseTo(1, 10);
  });

  it('N orthogonal points → N, through the D×D (N ≥ D) and N×N (N < D) paths', () => {
    expect(vendiCosine(identity(5), 5)).toBeCloseTo(5, 10);
    expect(vendiCosine(identity(3, 6), 6)).toBeCloseTo(3, 10);
  });

  it('two equal clusters of parallel vectors → 2; scale does not matter', () => {
    const x = [1, 0, 2, 0, 0, 3, 0, 1];
    expect(vendiCosine(x, 2)).toBeCloseTo(2, 10);
  });

  it('two unit vectors with cosine c: λ = (1 ± c)/2, VS = exp(−Σ λ log λ)', () => {
    const c = 0.6;
    const x = [1, 0, c, Math.sqrt(1 - c * c)];
    const l = [(1 + c) / 2, (1 - c) / 2];
    expect(vendiCosine(x, 2)).toBeCloseTo(Math.exp(-l.reduce((a, v) => a + v * Math.log(v), 0)), 10);
  });

  it('refuses a zero vector', () => {
    expect(() => vendiCosine([1, 0, 0, 0], 2)).toThrow(/sample 1 has zero norm/);
  });
});

describe('vendiRbf', () => {
  it('N identical points → 1', () => {
    expect(vendiRbf([3, 3, 3, 3, 3, 3], 2)).toBeCloseTo(1, 10);
  });

  it('far-apart points (K ≈ I) → N', () => {
    expect(
      vendiRbf(
        Float64Array.from(identity(6), (v) => 100 * v),
        6,
        { sigma: 1 },
      ),
    ).toBeCloseTo(6, 6);
  });

  it('two tight, far-apart clusters → ≈ 2', () => {
    const x = [0, 0, 0.001, 0, 0, 0.001, 50, 50, 50.001, 50, 50, 50.001];
    expect(vendiRbf(x, 2, { sigma: 1 })).toBeCloseTo(2, 4);
  });

  it('uses at most maxPoints rows', () => {
    const x = Float64Array.from({ length: 40 }, (_, i) => 10 * i);
    expect(vendiRbf(x, 1, { sigma: 1, maxPoints: 8 })).toBeCloseTo(8, 6);
  });
});
