/** evaluateSamples: which metrics apply to which data, and that they agree with the single-metric functions. */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { evaluateSamples } from '../../lib/metrics/evaluate';
import { energyDistance } from '../../lib/metrics/energy';
import { FeatureClassifier } from '../../lib/metrics/classifier';
import { motionReport } from '../../lib/metrics/motion';
import { ring8, sampleMixture } from '../../lib/data/mixtures';
import { generateClips, VIDEO_DEFAULTS } from '../../lib/data/video';

beforeAll(async () => {
  await useBackend('wasm');
});

const mixtureSamples = (n: number, seed: number) => {
  const { x0, labels } = sampleMixture(ring8, n, seed);
  const out = { values: x0.dataSync() as Float32Array, shape: [n, 2], labels: labels!.dataSync() as Int32Array };
  tf.dispose([x0, labels!]);
  return out;
};

describe('evaluateSamples', () => {
  it(
    '2-D mixture: modes, distances, k-NN, Vendi; a set against itself is at distance 0 with full ' + 'precision/recall',
    () => {
      const x = mixtureSamples(200, 1);
      const r = evaluateSamples(x, x, { mixture: ring8, seed: 3 });
      expect(r.space).toBe('raw');
      expect(r.mixture).toEqual({ modesCovered: 8, numModes: 8, highQualityPercent: expect.any(Number) });
      expect(r.mixture!.highQualityPercent).toBeGreaterThan(98);
      expect(r.distances!.energy).toBe(0);
      expect(r.distances!.slicedWasserstein).toBe(0);
      expect(r.distances!.frechet).toBeLessThan(1e-9);
      expect(r.distances!.slicedSeed).toBe(3);
      expect(r.knn).toEqual({ precision: 1, recall: 1, density: expect.any(Number), coverage: 1 });
      expect(r.vendi.kernel).toBe('rbf');
      expect(r.diversity).toBeUndefined();
      expect(r.motion).toBeUndefined();
      expect(JSON.parse(JSON.stringify(r))).toEqual(r); // JSON-able
    },
  );

  it('a mode-collapsed set: fewer modes, lower recall and Vendi, larger distances', () => {
    const ref = mixtureSamples(200, 2);
    const full = evaluateSamples(mixtureSamples(200, 3), ref, { mixture: ring8 });
    // everything near (2, 0)
    const collapsedValues = Float32Array.from(ref.values, (v, i) => (i % 2 === 0 ? 2 : 0) + 0.1 * (v - Math.round(v)));
    const collapsed = evaluateSamples({ values: collapsedValues, shape: [200, 2] }, ref, { mixture: ring8 });
    expect(collapsed.mixture!.modesCovered).toBe(1);
    expect(collapsed.knn!.recall).toBeLessThan(full.knn!.recall);
    expect(collapsed.vendi.score).toBeLessThan(full.vendi.score);
    expect(collapsed.distances!.energy).toBeGreaterThan(full.distances!.energy);
    expect(collapsed.distances!.mmd2).toBeGreaterThan(full.distances!.mmd2);
    expect(full.distances!.energy).toBeCloseTo(energyDistance(mixtureSamples(200, 3).values, ref.values, 2), 10);
  });

  it('without a reference: only the reference-free metrics', () => {
    const r = evaluateSamples(mixtureSamples(50, 4), null, { mixture: ring8 });
    expect(r.distances).toBeUndefined();
    expect(r.knn).toBeUndefined();
    expect(r.referenceSamples).toBeNull();
    expect(r.vendi.score).toBeGreaterThan(1);
  });

  it('video clips: motion of samples and reference', () => {
    const moving = generateClips(VIDEO_DEFAULTS, 40, 5);
    const still = generateClips({ ...VIDEO_DEFAULTS, staticShare: 1 }, 40, 6);
    const dims = moving.dims;
    const r = evaluateSamples(
      { values: still.pixels, shape: [40, 2048] },
      { values: moving.pixels, shape: [40, 2048] },
      { clip: dims },
    );
    expect(r.motion!.meanDisplacement).toBeCloseTo(motionReport(still.pixels, dims).meanDisplacement, 12);
    expect(r.motion!.dynamicDegree).toBe(0);
    expect(r.motion!.reference).toEqual(motionReport(moving.pixels, dims));
    expect(r.distances!.frechet).toBeNull(); // 2048 raw dimensions: above maxFrechetDim
  });

  it('images with a classifier: feature space, per-class diversity, class accuracy', () => {
    const clf = new FeatureClassifier({
      inputShape: [8, 8, 1] as never,
      numClasses: 2 as never,
      channels: [2, 4] as never,
      featureDim: 6 as never,
      seed: 1,
    });
    const values = Float32Array.from({ length: 30 * 64 }, (_, i) => Math.sin(i * 0.37));
    const labels = Int32Array.from({ length: 30 }, (_, i) => i % 2);
    const r = evaluateSamples(
      { values, shape: [30, 8, 8, 1], labels },
      { values, shape: [30, 8, 8, 1] },
      { classifier: clf },
    );
    expect(r.space).toBe('features');
    expect(r.dim).toBe(6);
    expect(r.vendi.kernel).toBe('cosine');
    expect(r.distances!.frechet).toBeLessThan(1e-6);
    expect(r.diversity!.cosine.perClass).toHaveLength(2);
    const predicted = clf.predict(values);
    expect(r.classAccuracy).toBeCloseTo(predicted.reduce((a, p, i) => a + (p === labels[i] ? 1 : 0), 0) / 30, 12);
    clf.dispose();
  });

  it('refuses mismatched shapes with the field named', () => {
    expect(() => evaluateSamples({ values: new Float32Array(10), shape: [4, 2] }, null)).toThrow(
      /samples: shape \[4, 2\] needs 8 values, got 10/,
    );
    expect(() =>
      evaluateSamples({ values: new Float32Array(8), shape: [4, 2] }, { values: new Float32Array(9), shape: [3, 3] }),
    ).toThrow(/reference: samples have 2 values each, reference 3/);
    expect(() => evaluateSamples({ values: new Float32Array(8), shape: [4, 2], labels: [0] }, null)).toThrow(
      /samples.labels: expected 4 labels, got 1/,
    );
  });
});
