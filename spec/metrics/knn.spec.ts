/** k-NN precision/recall and density/coverage on hand-made 1-D sets. */
import { precisionRecall, densityCoverage, kthNeighbourRadii } from '../../lib/metrics/knn';
import { uniformStream } from '../../lib/random/seed';

// real X = {0, 1, 2, 3, 10}; fake Y = {0.5, 5, 20}
const real = [0, 1, 2, 3, 10];
const fake = [0.5, 5, 20];

describe('kthNeighbourRadii', () => {
  it('distance to the k-th nearest other point', () => {
    expect(Array.from(kthNeighbourRadii(real, 1, 1))).toEqual([1, 1, 1, 1, 7]);
    expect(Array.from(kthNeighbourRadii(real, 1, 2))).toEqual([2, 1, 1, 2, 8]);
  });
});

describe('precisionRecall (Kynkäänniemi et al.)', () => {
  it('identical sets: precision = recall = 1', () => {
    const u = uniformStream(1);
    const x = Float32Array.from({ length: 100 }, () => u());
    expect(precisionRecall(x, x, 2)).toEqual({ precision: 1, recall: 1 });
  });

  it('hand case, k = 1: 2 of 3 fakes lie in real balls; every real lies in a fake ball', () => {
    // real radii (1,1,1,1,7): 0.5 ∈ B(0,1), 5 ∈ B(10,7), 20 ∉ any → precision 2/3
    // fake radii (4.5, 4.5, 15): 0,1,2,3 ∈ B(0.5, 4.5), 10 ∈ B(20, 15) → recall 1
    const r = precisionRecall(real, fake, 1, 1);
    expect(r.precision).toBeCloseTo(2 / 3, 12);
    expect(r.recall).toBe(1);
  });

  it('a collapsed generator has full precision but low recall', () => {
    const collapsed = [0, 0.1, 0.2, 0.3]; // radii k=3: 0.3,0.2,0.2,0.3 → only real 0 is inside
    const r = precisionRecall(real, collapsed, 1, 3);
    expect(r.precision).toBe(1);
    expect(r.recall).toBeCloseTo(1 / 5, 12);
  });

  it('needs more than k samples', () => {
    expect(() => precisionRecall(real, [1, 2], 1, 3)).toThrow(/precisionRecall fake: need at least 4 samples, got 2/);
  });
});

describe('densityCoverage (Naeem et al.)', () => {
  it('hand case, k = 1: 3 ball memberships of 3 fakes → density 1; 3 of 5 real balls hit → coverage 0.6', () => {
    // B(0,1) ∋ 0.5, B(1,1) ∋ 0.5, B(2,1) ∌, B(3,1) ∌, B(10,7) ∋ 5
    const r = densityCoverage(real, fake, 1, 1);
    expect(r.density).toBeCloseTo(1, 12);
    expect(r.coverage).toBeCloseTo(0.6, 12);
  });

  it('fakes piled on one real point: density above 1, coverage tiny', () => {
    const r = densityCoverage(real, [0, 0, 0, 0], 1, 2);
    // 0 ∈ B(0,2), B(1,1), B(2,1)? no (dist 2 > 1), B(3,2)? no → 2 balls per fake → 8/(2·4) = 1
    expect(r.density).toBeCloseTo(1, 12);
    expect(r.coverage).toBeCloseTo(2 / 5, 12);
  });

  it('identical sets: coverage 1', () => {
    const u = uniformStream(2);
    const x = Float64Array.from({ length: 60 }, () => u());
    expect(densityCoverage(x, x, 3, 5).coverage).toBe(1);
  });
});
