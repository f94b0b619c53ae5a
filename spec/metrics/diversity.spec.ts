/** Per-class mean pairwise cosine similarity and Euclidean distance on hand cases. */
import { meanPairwiseCosine, meanPairwiseDistance, cosineSimilarity } from '../../lib/metrics/diversity';

describe('cosineSimilarity', () => {
  it('hand cases: parallel 1, orthogonal 0, opposite −1, 45° 1/√2', () => {
    const x = [1, 0, 2, 0, 0, 3, -1, 0, 1, 1];
    expect(cosineSimilarity(x, 0, x, 1, 2)).toBeCloseTo(1, 15);
    expect(cosineSimilarity(x, 0, x, 2, 2)).toBe(0);
    expect(cosineSimilarity(x, 0, x, 3, 2)).toBeCloseTo(-1, 15);
    expect(cosineSimilarity(x, 0, x, 4, 2)).toBeCloseTo(Math.SQRT1_2, 15);
  });
});

describe('meanPairwiseCosine (DINO analogue, lower = more diverse)', () => {
  // class 0: (1,0), (0,1), (1,1) → pairs 0, 1/√2, 1/√2 → √2/3; class 1: (1,0), (2,0) → 1
  const features = [1, 0, 1, 0, 0, 1, 2, 0, 1, 1];
  const labels = [0, 1, 0, 1, 0];

  it('per class and their mean', () => {
    const r = meanPairwiseCosine(features, 2, labels);
    expect(r.perClass[0]).toBeCloseTo(Math.SQRT2 / 3, 12);
    expect(r.perClass[1]).toBeCloseTo(1, 12);
    expect(r.mean).toBeCloseTo((Math.SQRT2 / 3 + 1) / 2, 12);
  });

  it('without labels: all pairs in one group', () => {
    // 10 pairs of the five vectors above
    const v = [
      [1, 0],
      [1, 0],
      [0, 1],
      [2, 0],
      [1, 1],
    ];
    let s = 0;
    for (let i = 0; i < 5; i++)
      for (let j = i + 1; j < 5; j++)
        s += (v[i][0] * v[j][0] + v[i][1] * v[j][1]) / (Math.hypot(...v[i]) * Math.hypot(...v[j]));
    expect(meanPairwiseCosine(features, 2).mean).toBeCloseTo(s / 10, 12);
  });

  it('a class with one sample is reported as null and left out of the mean', () => {
    const r = meanPairwiseCosine([1, 0, 0, 1, 5, 5], 2, [0, 0, 2]);
    expect(r.perClass).toEqual([0, null, null]);
    expect(r.mean).toBe(0);
  });

  it('refuses labels of the wrong length or kind', () => {
    expect(() => meanPairwiseCosine(features, 2, [0, 1])).toThrow(/expected 5 labels/);
    expect(() => meanPairwiseCosine(features, 2, [0, 1, 0, 1, -1])).toThrow(
      /labels\[4\]: expected a non-negative integer class id, got -1/,
    );
    expect(() => meanPairwiseCosine([1, 0, 0, 1], 2, [0, 1])).toThrow(/no class has two or more samples/);
  });
});

describe('meanPairwiseDistance (LPIPS analogue, higher = more diverse)', () => {
  it('hand case: (0,0), (3,4), (6,8) → distances 5, 10, 5 → 20/3; a second class of identical points → 0', () => {
    const r = meanPairwiseDistance([0, 0, 3, 4, 6, 8, 1, 1, 1, 1], 2, [0, 0, 0, 1, 1]);
    expect(r.perClass[0]).toBeCloseTo(20 / 3, 12);
    expect(r.perClass[1]).toBe(0);
    expect(r.mean).toBeCloseTo(10 / 3, 12);
  });
});
