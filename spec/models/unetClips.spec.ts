/**
 * The U-Net on video clips: samples stay flat frame-major [F·S·S] vectors and the network
 * stacks the frames as channels. The layout round trip by hand, the equivalence with an
 * image U-Net of F channels, gradients, the model config a video dataset gives, the
 * errors for combinations that cannot work, and a teacher checkpoint round trip.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { VelocityUnet, framesToChannels, channelsToFrames } from '../../lib/models/unet';
import { buildModel } from '../../lib/models/build';
import { UnetConfig, ModelConfig } from '../../lib/models/config';
import { modelConfigFor, ModelSpec } from '../../lib/models/spec';
import { decodeOrThrow } from '../../lib/config/report';
import { videoDataset, VIDEO_DEFAULTS } from '../../lib/data/video';
import { mixtureDataset } from '../../lib/data/mixtures';
import { trainTeacher, loadTeacher } from '../../lib/teacher/teacher';

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

const clipConfig = (over: Record<string, number> = {}): UnetConfig =>
  decodeOrThrow(
    UnetConfig,
    { kind: 'unet', size: 8, channels: 1, frames: 4, width: 4, timeEmbedDim: 8, numClasses: 4, seed: 3, ...over },
    'unet config',
  );

beforeAll(async () => {
  await useBackend('wasm');
});

describe('frames as channels', () => {
  it('framesToChannels puts pixel (r, c) of frame f at [r, c, f]; channelsToFrames undoes it exactly; no leaks', () => {
    const [B, F, S] = [2, 3, 4];
    // value = 1000·b + 100·f + 10·r + c identifies each entry
    const values = Float32Array.from({ length: B * F * S * S }, (_, i) => {
      const b = Math.floor(i / (F * S * S));
      const f = Math.floor(i / (S * S)) % F;
      const r = Math.floor(i / S) % S;
      return 1000 * b + 100 * f + 10 * r + (i % S);
    });
    const x = tf.tensor2d(values, [B, F * S * S]);
    const before = tf.memory().numTensors;
    const img = framesToChannels(x, F, S, 1);
    expect(img.shape).toEqual([B, S, S, F]);
    const a = img.arraySync();
    for (const [b, r, c, f] of [
      [0, 0, 0, 0],
      [1, 2, 3, 1],
      [0, 3, 1, 2],
      [1, 0, 2, 2],
    ])
      expect(a[b][r][c][f]).toBe(1000 * b + 100 * f + 10 * r + c);
    const back = channelsToFrames(img, F);
    expect(back.shape).toEqual([B, F * S * S]);
    expect(back.dataSync()).toEqual(values);
    tf.dispose([img, back]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('with several channels per frame, channel c of frame f is input channel c·F + f', () => {
    const [F, S, C] = [2, 4, 3];
    const values = Float32Array.from({ length: F * S * S * C }, (_, i) => i); // [F, S, S, C] row-major
    const x = tf.tensor2d(values, [1, F * S * S * C]);
    const img = framesToChannels(x, F, S, C);
    expect(img.shape).toEqual([1, S, S, C * F]);
    const a = img.arraySync()[0];
    for (const [f, r, col, c] of [
      [0, 0, 0, 2],
      [1, 3, 2, 1],
      [1, 1, 0, 0],
    ])
      expect(a[r][col][c * F + f]).toBe(values[((f * S + r) * S + col) * C + c]);
    expect(channelsToFrames(img, F).dataSync()).toEqual(values);
    tf.dispose([x, img]);
  });
});

describe('VelocityUnet on clips', () => {
  it(
    'takes and returns flat clips [B, F·S·S]; convolutions see F input channels; equals an image U-Net of F ' +
      'channels on the stacked frames',
    () => {
      const clip = buildModel(clipConfig());
      expect(clip).toBeInstanceOf(VelocityUnet);
      expect(clip.sampleShape).toEqual([4 * 8 * 8]);
      expect(clip.params.get('in.W').shape).toEqual([3, 3, 4, 4]);
      expect(clip.params.get('out.W').shape).toEqual([3, 3, 4, 4]);
      // same seed, same parameter names and shapes: the same weights
      const image = new VelocityUnet(
        decodeOrThrow(
          UnetConfig,
          { kind: 'unet', size: 8, channels: 4, width: 4, timeEmbedDim: 8, numClasses: 4, seed: 3 },
          'unet config',
        ),
      );
      const x = tf.randomNormal([3, 4 * 8 * 8], 0, 1, 'float32', 1);
      const t = tf.tensor1d([0.2, 0.5, 0.9]);
      const labels = tf.tensor1d([0, 3, 4], 'int32');
      const before = tf.memory().numTensors;
      const v = clip.apply(x, t, labels);
      expect(v.shape).toEqual([3, 4 * 8 * 8]);
      expect(tf.memory().numTensors).toBe(before + 1);
      const viaImage = tf.tidy(() =>
        channelsToFrames(image.apply(framesToChannels(x, 4, 8, 1), t, labels) as tf.Tensor4D, 4),
      );
      expect(maxAbsDiff(v, viaImage)).toBe(0);
      expect(() => clip.apply(tf.zeros([2, 8, 8, 4]), tf.zeros([2]), null)).toThrow(
        /unet input x_t: expected shape \[B, 256\], got \[2, 8, 8, 4\]/,
      );
      tf.dispose([x, t, labels, v, viaImage]);
      [clip, image].forEach((m) => m.dispose());
    },
  );

  it('gradients reach every parameter', () => {
    const m = new VelocityUnet(clipConfig());
    const x = tf.randomNormal([2, 256], 0, 1, 'float32', 5);
    const target = tf.randomNormal([2, 256], 0, 1, 'float32', 6);
    const t = tf.tensor1d([0.3, 0.7]);
    const labels = tf.tensor1d([1, 4], 'int32');
    const grads = tf.tidy(() => {
      const { grads: g } = tf.variableGrads(
        () => tf.mean(tf.square(tf.sub(m.apply(x, t, labels), target))) as tf.Scalar,
        m.params.variables,
      );
      return m.params.variables.map((v) => g[v.name].dataSync() as Float32Array);
    });
    m.params.names.forEach((name, i) =>
      expect({ name, ok: grads[i].every(Number.isFinite) && grads[i].some((g) => g !== 0) }).toEqual({
        name,
        ok: true,
      }),
    );
    tf.dispose([x, target, t, labels]);
    m.dispose();
  });
});

describe('model config from the data', () => {
  it(
    'a U-Net on the video toy stacks its frames: size, one channel, frames, classes; an MLP still takes the flat ' +
      'vector',
    () => {
      const ds = videoDataset();
      const unet = modelConfigFor(decodeOrThrow(ModelSpec, { kind: 'unet', width: 8 }, 'model'), ds, 1);
      expect(unet).toEqual({ kind: 'unet', width: 8, size: 16, channels: 1, frames: 8, numClasses: 4, seed: 1 });
      expect(E.isRight(ModelConfig.decode(unet))).toBe(true);
      expect(modelConfigFor(decodeOrThrow(ModelSpec, { kind: 'mlp', hidden: [8] }, 'model'), ds, 1)).toMatchObject({
        kind: 'mlp',
        dim: 2048,
        numClasses: 4,
      });
    },
  );

  it.each([
    [
      'frames not divisible by 4',
      () => modelConfigFor({ kind: 'unet' }, videoDataset({ ...VIDEO_DEFAULTS, size: 18 }), 0),
      /data\.size: .*divisible by 4, got 18/,
    ],
    [
      '2-D points',
      () => modelConfigFor({ kind: 'unet' }, mixtureDataset('ring8'), 0),
      /model\.kind "unet" needs images \[H, W, C\] or video clips, got samples of shape \[2\]; use "mlp"/,
    ],
    [
      'clip frames of size 6 (a model config)',
      () => new VelocityUnet(clipConfig({ size: 6 })),
      /model\.size: .*divisible by 4, got 6/,
    ],
  ])('refuses a U-Net on %s, naming the field', (_what, make, message) => {
    expect(make).toThrow(message);
  });
});

describe('teacher on clips', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unet-clips-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(
    'trains from a config with model.kind "unet" on video data, and its checkpoint loads back to the same clip ' +
      'U-Net',
    async () => {
      const r = await trainTeacher(
        {
          method: 'teacher',
          data: { kind: 'video', frames: 4, size: 8, sigma: 0.75 },
          model: { kind: 'unet', width: 4, timeEmbedDim: 8 },
          steps: 3,
          batchSize: 4,
          logEvery: 1000,
        },
        { outDir: dir, log: () => undefined },
      );
      expect(r.modelConfig).toMatchObject({ kind: 'unet', size: 8, channels: 1, frames: 4, numClasses: 4 });
      expect(r.metrics.map((m) => Number.isFinite(m.loss))).toEqual([true, true, true]);
      const loaded = loadTeacher(path.join(dir, 'teacher.ckpt'));
      if (E.isLeft(loaded)) throw loaded.left;
      expect(loaded.right.model.sampleShape).toEqual([256]);
      const x = tf.randomNormal([2, 256], 0, 1, 'float32', 9);
      const t = tf.tensor1d([0.4, 0.6]);
      const a = r.model.apply(x, t, null);
      const b = loaded.right.model.apply(x, t, null);
      expect(maxAbsDiff(a, b)).toBe(0);
      tf.dispose([x, t, a, b]);
      r.model.dispose();
      loaded.right.model.dispose();
    },
  );
});
