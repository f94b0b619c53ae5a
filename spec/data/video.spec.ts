/** Video toy: determinism, shapes, and ground-truth motion recovered by the motion metric. */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import {
  generateClips,
  videoDataset,
  VIDEO_DEFAULTS,
  trueDisplacements,
  directionClass,
  fold,
  resolveVideoOptions,
  toClips,
} from '../../lib/data/video';
import { DataConfig, loadDataset } from '../../lib/data/config';
import { clipDisplacements, frameCentroids, motionReport } from '../../lib/metrics/motion';
import { uniformStream } from '../../lib/random/seed';

beforeAll(async () => {
  await useBackend('cpu');
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('video toy data', () => {
  it('is deterministic per seed; clip i does not depend on the batch size', () => {
    const a = generateClips(VIDEO_DEFAULTS, 16, 7);
    const b = generateClips(VIDEO_DEFAULTS, 16, 7);
    const c = generateClips(VIDEO_DEFAULTS, 16, 8);
    const small = generateClips(VIDEO_DEFAULTS, 4, 7);
    expect(b.pixels).toEqual(a.pixels);
    expect(maxAbsDiff(a.pixels, c.pixels)).toBeGreaterThan(0.5);
    expect(small.pixels).toEqual(a.pixels.subarray(0, small.pixels.length));
  });

  it('Dataset: x0 [B, F·H·W] in [−1, 1], int32 labels in [0, classes), no leaked tensors', () => {
    const ds = videoDataset();
    const before = tf.memory().numTensors;
    const { x0, labels } = ds.sample(32, 3);
    expect(ds.sampleShape).toEqual([8 * 16 * 16]);
    expect(x0.shape).toEqual([32, 2048]);
    expect(labels!.dtype).toBe('int32');
    const x = x0.dataSync();
    expect(Math.min(...x)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...x)).toBeLessThanOrEqual(1);
    expect(Array.from(labels!.dataSync()).every((l) => l >= 0 && l < 4)).toBe(true);
    const clips = toClips(x0, ds.clipDims);
    expect(clips.shape).toEqual([32, 8, 16, 16]);
    expect(clips.dataSync()).toEqual(generateClips(ds.settings, 32, 3).pixels);
    tf.dispose([x0, labels!, clips]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('ground truth: the centroid metric recovers the blob positions and the generating speeds', () => {
    const clips = generateClips(VIDEO_DEFAULTS, 300, 11);
    const truth = trueDisplacements(clips);
    // with default speeds every path fits in the box: true displacement = generating speed
    expect(maxAbsDiff(truth, clips.speeds)).toBeLessThan(1e-9);
    // centroid of the pixels above the ¼ level: ≤ 0.08 px per frame, ≤ 0.03 px/frame per clip
    expect(maxAbsDiff(frameCentroids(clips.pixels, clips.dims), clips.positions)).toBeLessThan(0.08);
    expect(maxAbsDiff(clipDisplacements(clips.pixels, clips.dims), truth)).toBeLessThan(0.03);
  });

  it('with pixel noise (std 0.1, like an imperfect generator) the metric still recovers the speeds', () => {
    const clips = generateClips(VIDEO_DEFAULTS, 200, 15);
    const u = uniformStream(16);
    const noisy = Float32Array.from(
      clips.pixels,
      (v) => v + 0.1 * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()),
    );
    const measured = clipDisplacements(noisy, clips.dims);
    const err = measured.reduce((a, m, i) => a + Math.abs(m - clips.speeds[i]), 0) / 200;
    expect(err).toBeLessThan(0.1);
    expect(motionReport(noisy, clips.dims).dynamicDegree).toBe(motionReport(clips.pixels, clips.dims).dynamicDegree);
  });

  it('speeds: a quarter near-static, the rest in [0.75, 1.5]; dynamic degree ≈ 1 − staticShare', () => {
    const clips = generateClips(VIDEO_DEFAULTS, 400, 12);
    const slow = Array.from(clips.speeds).filter((v) => v <= 0.1).length;
    expect(Array.from(clips.speeds).every((v) => v <= 0.1 || (v >= 0.75 && v <= 1.5))).toBe(true);
    expect(slow / 400).toBeGreaterThan(0.25 - 3 * Math.sqrt((0.25 * 0.75) / 400));
    expect(slow / 400).toBeLessThan(0.25 + 3 * Math.sqrt((0.25 * 0.75) / 400));
    const r = motionReport(clips.pixels, clips.dims);
    expect(r.dynamicDegree).toBe(1 - slow / 400);
    const meanSpeed = clips.speeds.reduce((a, b) => a + b, 0) / 400;
    expect(r.meanDisplacement).toBeCloseTo(meanSpeed, 2);
  });

  it('labels are direction buckets: the measured motion of moving clips points into the labelled quadrant', () => {
    const clips = generateClips(VIDEO_DEFAULTS, 200, 13);
    const c = frameCentroids(clips.pixels, clips.dims);
    const F = clips.dims.frames;
    let checked = 0;
    for (let i = 0; i < 200; i++) {
      if (clips.speeds[i] < 0.5) continue;
      const dRow = c[2 * (i * F + F - 1)] - c[2 * i * F];
      const dCol = c[2 * (i * F + F - 1) + 1] - c[2 * i * F + 1];
      const theta = (Math.atan2(dRow, dCol) + 2 * Math.PI) % (2 * Math.PI);
      // measured angle within 0.03 rad of the generating one (≤ 0.08 px centroid error over ≥ 5 px of travel), so same
      // bucket unless on a boundary
      expect(Math.abs(Math.atan2(Math.sin(theta - clips.angles[i]), Math.cos(theta - clips.angles[i])))).toBeLessThan(
        0.03,
      );
      const offCentre = Math.abs(((theta + Math.PI / 4) % (Math.PI / 2)) - Math.PI / 4); // from the bucket centre
      if (Math.PI / 4 - offCentre > 0.03) expect(directionClass(theta, 4)).toBe(clips.labels[i]);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
    expect(
      [0, Math.PI / 2, Math.PI, 1.5 * Math.PI, 0.24 * Math.PI, 0.26 * Math.PI, 1.99 * Math.PI].map((t) =>
        directionClass(t, 4),
      ),
    ).toEqual([0, 1, 2, 3, 0, 1, 0]);
  });

  it('too-fast clips bounce off the walls and stay in the box', () => {
    expect([fold(2.5, 2, 11), fold(14, 2, 11), fold(25, 2, 11), fold(0, 2, 11)]).toEqual([2.5, 12, 1 + 2, 4]);
    const fast = { ...VIDEO_DEFAULTS, minSpeed: 3, maxSpeed: 4 };
    const clips = generateClips(fast, 50, 14);
    expect(Math.min(...clips.positions)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...clips.positions)).toBeLessThanOrEqual(13);
    expect(maxAbsDiff(clipDisplacements(clips.pixels, clips.dims), trueDisplacements(clips))).toBeLessThan(0.05);
  });

  it("data config {kind: 'video'} decodes and loads; bad options are refused with the field named", () => {
    const cfg = DataConfig.decode({ kind: 'video', frames: 6, size: 12 });
    expect(E.isRight(cfg)).toBe(true);
    const ds = loadDataset((cfg as E.Right<DataConfig>).right);
    expect(E.isRight(ds) && ds.right.sampleShape).toEqual([6 * 12 * 12]);
    expect(E.isLeft(DataConfig.decode({ kind: 'video', frames: 0 }))).toBe(true);
    const bad = resolveVideoOptions({ minSpeed: 2, maxSpeed: 1 });
    expect(E.isLeft(bad) && bad.left).toMatch(/data.maxSpeed: expected ≥ minSpeed \(2\), got 1/);
    const tiny = loadDataset({ kind: 'video', size: 4 } as DataConfig);
    expect(E.isLeft(tiny) && tiny.left.message).toMatch(/data.size: a 4-pixel frame leaves no room/);
  });
});
