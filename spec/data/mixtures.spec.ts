/** Built-in 2-D mixtures (lib/data/mixtures.ts) and the mode metric (lib/metrics/mixture.ts). */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { ring8, grid25, mixtureDataset } from '../../lib/data/mixtures';
import { loadDataset } from '../../lib/data/config';
import { modeReport } from '../../lib/metrics/mixture';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('mixtures', () => {
  it('ring8: 8 centres on the circle of radius 2 at 45° steps, σ = .1; grid25 on {−2…2}², σ = .05', () => {
    expect(ring8.centers.length).toBe(8);
    ring8.centers.forEach(([x, y], k) => {
      expect(Math.hypot(x, y)).toBeCloseTo(2, 12);
      expect(Math.atan2(y, x)).toBeCloseTo(((k > 4 ? k - 8 : k) * Math.PI) / 4, 12);
    });
    expect(ring8.std).toBe(0.1);
    expect(grid25.centers).toContainEqual([-2, -2]);
    expect(grid25.centers).toContainEqual([2, 1]);
    expect(new Set(grid25.centers.map((c) => c.join())).size).toBe(25);
  });

  it('samples: labels are the components, x ≈ μ_label + σ·ε with the stated σ, deterministic per seed', () => {
    const ds = mixtureDataset('ring8');
    expect(ds.sampleShape).toEqual([2]);
    expect(ds.numClasses).toBe(8);
    const b = ds.sample(4000, 1);
    const x = b.x0.dataSync();
    const labels = b.labels!.dataSync();
    let sq = 0;
    labels.forEach((k, i) => {
      sq += (x[2 * i] - ring8.centers[k][0]) ** 2 + (x[2 * i + 1] - ring8.centers[k][1]) ** 2;
    });
    expect(Math.sqrt(sq / (2 * labels.length))).toBeCloseTo(0.1, 2);
    const again = ds.sample(4000, 1);
    expect(Array.from(again.x0.dataSync())).toEqual(Array.from(x));
    tf.dispose([b.x0, b.labels!, again.x0, again.labels!]);
  });

  it('loadDataset opens a mixture from its config', () => {
    const r = loadDataset({ kind: 'mixture', name: 'grid25' });
    expect(E.isRight(r) && r.right.numClasses).toBe(25);
  });
});

describe('modeReport', () => {
  it('counts samples within 3σ of their nearest centre and the modes holding ≥ 10 % of their share', () => {
    const [c0, c1] = [ring8.centers[0], ring8.centers[1]];
    // 100 samples: the expected share of a mode is 100/8 = 12.5, 10 % of it 1.25.
    // 80 on mode 0, 2 on mode 1 (covered), 1 on mode 2 (not covered), 17 far away at the origin
    const pts = [...Array(80).fill(c0), ...Array(2).fill(c1), ring8.centers[2], ...Array(17).fill([0, 0])].flat();
    const r = modeReport(pts, 2, ring8);
    expect(r.counts.slice(0, 3)).toEqual([80, 2, 1]);
    expect(r.highQualityPercent).toBeCloseTo(83, 10);
    expect(r.modesCovered).toBe(2);
    expect(r.numModes).toBe(8);
    // just inside / outside 3σ = .3
    expect(modeReport([c0[0] + 0.299, c0[1]], 2, ring8).highQualityPercent).toBe(100);
    expect(modeReport([c0[0] + 0.301, c0[1]], 2, ring8).highQualityPercent).toBe(0);
  });

  it('samples of the mixture itself cover every mode with ≈ 98.9 % within 3σ (2-D: 1 − e^{−9/2})', () => {
    const b = mixtureDataset('ring8').sample(8000, 3);
    const r = modeReport(b.x0.dataSync() as Float32Array, 2, ring8);
    expect(r.modesCovered).toBe(8);
    expect(r.highQualityPercent).toBeCloseTo(100 * (1 - Math.exp(-4.5)), 0);
    tf.dispose([b.x0, b.labels!]);
  });
});
