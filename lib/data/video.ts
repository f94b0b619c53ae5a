/**
 * Video toy: short clips of one Gaussian blob moving in a straight line.
 *
 * Each clip draws (from its own child seed, so clip i of a batch does not depend on the
 * batch size): whether it is near-static (share `staticShare`), a speed v (px/frame, uniform
 * in [0, staticMaxSpeed] or [minSpeed, maxSpeed]), a direction θ uniform in [0, 2π) measured
 * from +column (right) towards +row (down), and a start position. The blob centre is
 *   p_f = fold(p_0 + f·v·(cos θ, sin θ)),   f = 0 … F−1,
 * in (column, row) pixels, kept inside the box [m, size−1−m]², m = 2σ, so the blob is never
 * cut by the border (a cut blob would bias its centroid). The start is drawn uniformly among
 * the positions whose whole straight path fits in the box; only when a path is longer than
 * the box (a speed too high for the frame count) does `fold` bounce it off the walls.
 * Pixels: −1 + 2·exp(−‖(c, r) − p_f‖²/(2σ²)), in [−1, 1].
 *
 * Label = direction bucket: class k covers θ ∈ [(k − ½)·2π/K, (k + ½)·2π/K) (K = 4: right,
 * down, left, up). Near-static clips keep their direction label, so every class holds
 * moving and (barely) still clips: a student that drops motion within a class shows up in
 * the dynamic degree, not in class accuracy.
 *
 * Samples are flat vectors [F·H·W] (frame-major, then rows): the one layout of every
 * model, metric, figure and export. The vector VelocityMlp trains on them as they are; the
 * VelocityUnet, told the layout by the dataset's `clipDims`, stacks the frames as channels
 * internally (lib/models/unet.ts). `toClips` / `clipDims` give the [N, F, H, W] view the
 * motion metrics use.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import type { Dataset, DataBatch } from './types';
import type { ClipDims } from './types';
import { splitSeed, uniformStream, type Seed } from '../random/seed';
import { NonNegative, Positive, PositiveInt, UnitInterval, atMost } from '../config/primitives';

/** Options of the video toy (all optional; see VIDEO_DEFAULTS). */
export const VideoOptions = t.partial({
  frames: atMost(PositiveInt, 1024, 'a clip holds frames × size² values'),
  /** Frame height = width, pixels. */
  size: atMost(PositiveInt, 1024, 'a clip holds frames × size² values'),
  /** Direction buckets = classes. */
  classes: PositiveInt,
  /** Blob standard deviation σ, pixels. */
  sigma: Positive,
  /** Share of near-static clips. */
  staticShare: UnitInterval,
  /** Near-static clips move at most this fast, px/frame. */
  staticMaxSpeed: NonNegative,
  /** Speed range of moving clips, px/frame. */
  minSpeed: NonNegative,
  maxSpeed: NonNegative,
});
export type VideoOptions = t.TypeOf<typeof VideoOptions>;

export interface VideoSettings {
  readonly frames: number;
  readonly size: number;
  readonly classes: number;
  readonly sigma: number;
  readonly staticShare: number;
  readonly staticMaxSpeed: number;
  readonly minSpeed: number;
  readonly maxSpeed: number;
}

/**
 * 8 frames of 16×16, 4 direction classes; a quarter of the clips near-static (≤ 0.1 px/frame), the rest 0.75–1.5
 * px/frame.
 */
export const VIDEO_DEFAULTS: VideoSettings = {
  frames: 8,
  size: 16,
  classes: 4,
  sigma: 1,
  staticShare: 0.25,
  staticMaxSpeed: 0.1,
  minSpeed: 0.75,
  maxSpeed: 1.5,
};

/** Fills defaults and checks the relations between options; Left names the offending field. */
export const resolveVideoOptions = (o: Partial<VideoSettings> = {}): E.Either<string, VideoSettings> => {
  const s = knownSettings(o);
  if (s.frames < 2) return E.left(`data.frames: expected at least 2 frames (motion needs two), got ${s.frames}`);
  if (s.maxSpeed < s.minSpeed) return E.left(`data.maxSpeed: expected ≥ minSpeed (${s.minSpeed}), got ${s.maxSpeed}`);
  if (boxSpan(s) <= 0)
    return E.left(
      `data.size: a ${s.size}-pixel frame leaves no room for a blob of sigma ${s.sigma} (needs size > 4·sigma + 1)`,
    );
  return E.right(s);
};

/** Defaults overridden by the options that are set (other keys, such as a config's `kind`, are ignored). */
const knownSettings = (o: Partial<VideoSettings>): VideoSettings => {
  const out: Record<string, number> = { ...VIDEO_DEFAULTS };
  for (const key of Object.keys(VIDEO_DEFAULTS) as Array<keyof VideoSettings>) {
    const v = o[key];
    if (v !== undefined) out[key] = v;
  }
  return out as unknown as VideoSettings;
};

/** Margin m = 2σ and the box [m, size − 1 − m] the blob centre stays in. */
const boxLow = (s: VideoSettings): number => 2 * s.sigma;
const boxSpan = (s: VideoSettings): number => s.size - 1 - 4 * s.sigma;

/** Reflects a coordinate into [lo, lo + span] (bouncing off both walls). */
export const fold = (p: number, lo: number, span: number): number => {
  const u = (((p - lo) % (2 * span)) + 2 * span) % (2 * span);
  return lo + (u <= span ? u : 2 * span - u);
};

/** Direction bucket of angle θ among K classes, bucket k centred on k·2π/K. */
export const directionClass = (theta: number, classes: number): number => {
  const width = (2 * Math.PI) / classes;
  return ((Math.floor((theta + width / 2) / width) % classes) + classes) % classes;
};

export interface VideoClips {
  /** [N, F, H, W] row-major, values in [−1, 1]. */
  readonly pixels: Float32Array;
  readonly labels: Int32Array;
  /** Generating speed per clip, px/frame. */
  readonly speeds: Float64Array;
  /** Generating direction per clip, radians. */
  readonly angles: Float64Array;
  /** Blob centre per frame, [N, F, 2] as (row, col) pixels: the ground truth of the motion metrics. */
  readonly positions: Float64Array;
  readonly dims: ClipDims;
}

/** One clip's draws; stream order: static?, speed, θ, start column, start row. */
const drawClip = (s: VideoSettings, seed: Seed) => {
  const u = uniformStream(seed);
  const isStatic = u() < s.staticShare;
  const speed = isStatic ? u() * s.staticMaxSpeed : s.minSpeed + u() * (s.maxSpeed - s.minSpeed);
  const theta = 2 * Math.PI * u();
  const lo = boxLow(s);
  const span = boxSpan(s);
  const velocity = [speed * Math.cos(theta), speed * Math.sin(theta)]; // (column, row)
  const start = velocity.map((vc) => {
    const travel = vc * (s.frames - 1);
    // starts whose straight path stays in [lo, lo + span]; if none, any start and bounce
    return Math.abs(travel) <= span ? lo - Math.min(0, travel) + u() * (span - Math.abs(travel)) : lo + u() * span;
  });
  return { speed, theta, velocity, start };
};

/** Renders N clips from a seed (clip i from splitSeed(seed, 'clip', i)). */
export const generateClips = (settings: VideoSettings, count: number, seed: Seed): VideoClips => {
  const { frames: F, size: S, sigma } = settings;
  const pixels = new Float32Array(count * F * S * S);
  const labels = new Int32Array(count);
  const speeds = new Float64Array(count);
  const angles = new Float64Array(count);
  const positions = new Float64Array(count * F * 2);
  const lo = boxLow(settings);
  const span = boxSpan(settings);
  const inv2s2 = 1 / (2 * sigma * sigma);
  for (let i = 0; i < count; i++) {
    const clip = drawClip(settings, splitSeed(seed, 'clip', i));
    speeds[i] = clip.speed;
    angles[i] = clip.theta;
    labels[i] = directionClass(clip.theta, settings.classes);
    for (let f = 0; f < F; f++) {
      const col = fold(clip.start[0] + f * clip.velocity[0], lo, span);
      const row = fold(clip.start[1] + f * clip.velocity[1], lo, span);
      positions[2 * (i * F + f)] = row;
      positions[2 * (i * F + f) + 1] = col;
      const base = (i * F + f) * S * S;
      for (let r = 0; r < S; r++)
        for (let c = 0; c < S; c++)
          pixels[base + r * S + c] = -1 + 2 * Math.exp(-((c - col) ** 2 + (r - row) ** 2) * inv2s2);
    }
  }
  return { pixels, labels, speeds, angles, positions, dims: clipDims(settings) };
};

export const clipDims = (s: Pick<VideoSettings, 'frames' | 'size'>): ClipDims => ({
  frames: s.frames,
  height: s.size,
  width: s.size,
  channels: 1,
});

/** Flat samples [N, F·H·W] → clips [N, F, H, W] (a view for metrics and figures). */
export const toClips = (x: tf.Tensor, dims: ClipDims): tf.Tensor4D =>
  tf.reshape(x, [-1, dims.frames, dims.height, dims.width]) as tf.Tensor4D;

/** Ground-truth mean displacement per clip from the generating positions, px/frame. */
export const trueDisplacements = (clips: VideoClips): Float64Array => {
  const F = clips.dims.frames;
  return Float64Array.from({ length: clips.labels.length }, (_, i) => {
    let s = 0;
    for (let f = 0; f + 1 < F; f++) {
      const a = 2 * (i * F + f);
      s += Math.hypot(clips.positions[a + 2] - clips.positions[a], clips.positions[a + 3] - clips.positions[a + 1]);
    }
    return s / (F - 1);
  });
};

export interface VideoDataset extends Dataset {
  readonly settings: VideoSettings;
  readonly clipDims: ClipDims;
}

/** The video toy as a Dataset: x0 [B, F·H·W], labels = direction class. */
export const videoDataset = (settings: VideoSettings = VIDEO_DEFAULTS): VideoDataset => {
  const dims = clipDims(settings);
  const dim = settings.frames * settings.size * settings.size;
  return {
    name: `video${settings.frames}x${settings.size}`,
    settings,
    clipDims: dims,
    sampleShape: [dim],
    numClasses: settings.classes,
    size: Infinity,
    sample: (batchSize: number, seed: Seed): DataBatch => {
      const clips = generateClips(settings, batchSize, seed);
      return { x0: tf.tensor2d(clips.pixels, [batchSize, dim]), labels: tf.tensor1d(clips.labels, 'int32') };
    },
  };
};
