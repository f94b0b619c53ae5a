/**
 * Feature classifier on a small synthetic image task (a bright 2×2 square in one of four
 * quadrants of an 8×8 image): trains, featurises, saves and loads. The MNIST run that
 * reaches ≥ 98 % takes minutes and is a script, not a test.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { saveCheckpoint } from '../../lib/checkpoint/format';
import {
  trainFeatureClassifier,
  loadOrTrainClassifier,
  loadClassifier,
  saveClassifier,
  classifierAccuracy,
  crossEntropy,
  avgPool2,
  FeatureClassifier,
  type EnumerableDataset,
} from '../../lib/metrics/classifier';
import { splitSeed, uniformStream, randomInts } from '../../lib/random/seed';
import type { DataBatch } from '../../lib/data/types';

const S = 8;

/** Example i: class i mod 4 = quadrant, square position and noise from splitSeed(base, i). */
const quadrantDataset = (base: number, size: number): EnumerableDataset => {
  const gather = (indices: ArrayLike<number>): DataBatch => {
    const x = new Float32Array(indices.length * S * S).fill(-1);
    const y = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const u = uniformStream(splitSeed(base, indices[k]));
      const c = indices[k] % 4;
      y[k] = c;
      const r0 = (c >> 1) * 4 + Math.floor(u() * 3);
      const c0 = (c & 1) * 4 + Math.floor(u() * 3);
      for (let p = 0; p < S * S; p++) x[k * S * S + p] += 0.3 * u();
      for (const [dr, dc] of [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ])
        x[k * S * S + (r0 + dr) * S + c0 + dc] = 1;
    }
    return { x0: tf.tensor4d(x, [indices.length, S, S, 1]), labels: tf.tensor1d(y, 'int32') };
  };
  return {
    name: `quadrants-${base}`,
    sampleShape: [S, S, 1],
    numClasses: 4,
    size,
    gather,
    sample: (b, seed) => gather(randomInts(seed, b, size)),
  };
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clf-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  await useBackend('wasm');
});

describe('classifier building blocks', () => {
  it('crossEntropy: uniform logits over 2 classes give log 2; a confident right answer ≈ 0', () => {
    const v = tf.tidy(
      () =>
        crossEntropy(
          tf.tensor2d([
            [0, 0],
            [20, 0],
          ]),
          tf.tensor1d([0, 0], 'int32'),
        ).dataSync()[0],
    );
    expect(v).toBeCloseTo(Math.log(2) / 2, 5);
  });

  it('avgPool2 averages 2×2 blocks', () => {
    const y = tf.tidy(() =>
      Array.from(
        avgPool2(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1])).dataSync(),
      ),
    );
    expect(y).toEqual([3.5, 5.5, 11.5, 13.5]);
  });

  it('refuses images whose sides are not divisible by 4 and inputs of the wrong size', () => {
    expect(() => new FeatureClassifier({ inputShape: [6, 8, 1] as never, numClasses: 2 as never })).toThrow(
      /divisible by 4/,
    );
    const clf = new FeatureClassifier({ inputShape: [8, 8, 1] as never, numClasses: 2 as never });
    expect(() => clf.features(new Float32Array(65))).toThrow(/65 values is not a whole number of \[8, 8, 1\] images/);
    clf.dispose();
  });
});

describe('trainFeatureClassifier', () => {
  it('learns the quadrant task, featurises consistently, round-trips through a checkpoint, leaks nothing', () => {
    const before = tf.memory().numTensors;
    const train = quadrantDataset(1, 4000);
    const test = quadrantDataset(2, 600);
    const logged: number[] = [];
    const r = trainFeatureClassifier(train, {
      steps: 120,
      batchSize: 32,
      lr: 3e-3,
      channels: [4, 8],
      featureDim: 16,
      seed: 3,
      test,
      logEvery: 40,
      onLog: (_, l) => logged.push(l),
    });
    expect(r.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.losses.map((l) => l.step)).toEqual([40, 80, 120]);
    expect(logged[2]).toBeLessThan(logged[0]);

    // features: [N, F] for host arrays and tensors alike, across the 500-row chunk boundary
    const { x0, labels } = test.gather(Array.from({ length: 600 }, (_, i) => i));
    const host = x0.dataSync() as Float32Array;
    const f = r.classifier.features(host);
    expect(f.length).toBe(600 * 16);
    expect(r.classifier.features(x0)).toEqual(f);
    expect(r.classifier.features(host.subarray(510 * 64, 512 * 64))).toEqual(f.subarray(510 * 16, 512 * 16));

    // checkpoint round trip: same features and stored accuracy
    const file = path.join(tmp, 'clf.ckpt');
    saveClassifier(file, r.classifier, { trainedOn: 'quadrants' });
    const back = loadClassifier(file);
    expect(E.isRight(back)).toBe(true);
    const clf2 = (back as E.Right<FeatureClassifier>).right;
    expect(clf2.accuracy).toBe(r.accuracy);
    expect(clf2.features(host)).toEqual(f);
    expect(classifierAccuracy(clf2, test)).toBe(r.accuracy);

    tf.dispose([x0, labels!]);
    r.classifier.dispose();
    clf2.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('same seed, same classifier', () => {
    const train = quadrantDataset(1, 1000);
    const a = trainFeatureClassifier(train, { steps: 5, batchSize: 8, channels: [2, 2], featureDim: 4, seed: 9 });
    const b = trainFeatureClassifier(train, { steps: 5, batchSize: 8, channels: [2, 2], featureDim: 4, seed: 9 });
    const x = new Float32Array(64).fill(0.5);
    expect(a.classifier.features(x)).toEqual(b.classifier.features(x));
    a.classifier.dispose();
    b.classifier.dispose();
  });

  it('loadOrTrainClassifier trains once per dataset name and reuses the saved file', () => {
    const file = path.join(tmp, 'cached.ckpt');
    const opts = { steps: 2, batchSize: 4, channels: [2, 2] as const, featureDim: 4 };
    const first = loadOrTrainClassifier(file, quadrantDataset(1, 100), opts);
    const again = loadOrTrainClassifier(file, quadrantDataset(1, 100), opts);
    const other = loadOrTrainClassifier(file, quadrantDataset(5, 100), opts);
    expect([first.trained, again.trained, other.trained]).toEqual([true, false, true]);
    const x = new Float32Array(64).fill(0.2);
    expect(again.classifier.features(x)).toEqual(first.classifier.features(x));
    [first, again, other].forEach((r) => r.classifier.dispose());
  });

  it('refuses non-image datasets; loading reports a wrong file kind', () => {
    const flat = { ...quadrantDataset(1, 10), sampleShape: [64] };
    expect(() => trainFeatureClassifier(flat, { steps: 1 })).toThrow(/sampleShape \[64\]; expected images \[H, W, C\]/);
    const file = path.join(tmp, 'other.ckpt');
    saveCheckpoint(file, { meta: { kind: 'teacher' }, tensors: [] });
    const r = loadClassifier(file);
    expect(E.isLeft(r) && r.left.message).toMatch(/meta.kind: expected "feature-classifier", got "teacher"/);
  });
});
