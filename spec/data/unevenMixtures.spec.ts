/** The unequal-weight, unequal-spread mixtures: draws follow the weights and each mode's σ. */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { MIXTURES, drawComponents, sampleMixture, componentStd, ring8 } from '../../lib/data/mixtures';
import { modeReport } from '../../lib/metrics/mixture';
import { randomInts } from '../../lib/random/seed';

beforeAll(async () => {
  await useBackend('wasm');
});

describe.each(['uneven7', 'rings2', 'skew3'] as const)('%s', (name) => {
  const m = MIXTURES[name];
  const n = 40000;

  it('weights sum to 1 and every mode has its own σ', () => {
    expect(m.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(Array.isArray(m.std) && m.std.length === m.centers.length).toBe(true);
    expect(new Set(m.weights).size).toBeGreaterThan(1);
  });

  it('component frequencies match the weights (within 4 binomial standard errors)', () => {
    const ids = drawComponents(m, n, 5);
    const counts = new Array(m.centers.length).fill(0);
    ids.forEach((k) => counts[k]++);
    m.weights.forEach((w, k) => expect(Math.abs(counts[k] / n - w)).toBeLessThan(4 * Math.sqrt((w * (1 - w)) / n)));
  });

  it('samples scatter around their centre with that mode σ, and the data cover every mode at ~99 % within 3σ', () => {
    const before = tf.memory().numTensors;
    const { x0, labels } = sampleMixture(m, n, 9);
    const x = x0.dataSync() as Float32Array;
    const ids = labels!.dataSync();
    const sq = new Array(m.centers.length).fill(0);
    const cnt = new Array(m.centers.length).fill(0);
    ids.forEach((k, i) => {
      sq[k] += (x[2 * i] - m.centers[k][0]) ** 2 + (x[2 * i + 1] - m.centers[k][1]) ** 2;
      cnt[k]++;
    });
    sq.forEach((s, k) => expect(Math.sqrt(s / (2 * cnt[k])) / componentStd(m, k)).toBeCloseTo(1, 1));
    const report = modeReport(x, 2, m);
    expect(report.modesCovered).toBe(m.centers.length);
    expect(report.highQualityPercent).toBeGreaterThan(97); // 3σ in 2-D holds 98.9 %
    tf.dispose([x0, labels!]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

it('equal weights draw exactly the uniform integers of earlier versions (ring8 data unchanged)', () => {
  expect(Array.from(drawComponents(ring8, 100, 3))).toEqual(Array.from(randomInts(3, 100, 8)));
});
