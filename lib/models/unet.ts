/**
 * A small convolutional U-Net velocity network for H×W×C images (H = size, W = imageWidth,
 * default H; both divisible by 4, e.g. 28 → 14 → 7 and back):
 *
 *   e      = W₂·SiLU(W₁·emb(t) + b₁ + E·onehot(c)) + b₂          time (+ class) embedding
 *   res(h) = skip(h) + conv(SiLU(conv(SiLU(h)) + P·SiLU(e)))       one residual block
 *   down   = 3×3 conv, stride 2;   up = nearest ×2 (by reshape), then 3×3 conv
 *
 *   in → res₀ ─────────────────────────────────────┐ concat → res₀' → out
 *         └ down → res₁ ───────────────┐ concat → res₁' ┘ up
 *                   └ down → mid → up ─┘
 *
 * Widths w (full resolution) and 2w below. No normalisation layers (small and fast);
 * only plain conv2d / matMul / concat / reshape, whose gradients are all fast on wasm
 * (conv gradients via lib/backend/convGradients). The class id `numClasses` is ∅.
 *
 * Clips (config.frames = F): samples stay flat frame-major vectors [F·S·S·C], the layout
 * every clip metric, figure and .npy export reads; the network views one as an S×S image
 * of F·C channels (frame f, channel c → input channel c·F + f), so every convolution sees
 * the whole clip and can follow the motion, and maps its output back the same way.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ParamModel, glorotUniform } from './params';
import type { VelocityModel } from './types';
import type { UnetConfig } from './config';
import { sinusoidalEmbedding, labelOneHot } from './timeEmbedding';
import { silu } from './mlp';
import { conv2dBias } from '../backend/ops';
import { splitSeed } from '../random/seed';
import { assertShape, ShapeError } from '../util/shapes';

export const UNET_DEFAULTS = { width: 32, timeEmbedDim: 64, numClasses: 0, seed: 0 } as const;

/** Flat frame-major clips [B, F·S·S·C] → images of stacked frames [B, S, S, C·F] (channel c·F + f). */
export const framesToChannels = (x: tf.Tensor, frames: number, size: number, channels: number): tf.Tensor4D =>
  tf.tidy(() => {
    const perFrame = tf.reshape(x, [-1, frames, size * size * channels]);
    return tf.reshape(tf.transpose(perFrame, [0, 2, 1]), [-1, size, size, channels * frames]) as tf.Tensor4D;
  });

/** Inverse of framesToChannels: [B, S, S, C·F] → [B, F·S·S·C]. */
export const channelsToFrames = (x: tf.Tensor4D, frames: number): tf.Tensor2D =>
  tf.tidy(() => {
    const [b, h, w, cf] = x.shape;
    const perPixel = tf.reshape(x, [b, h * w * (cf / frames), frames]);
    return tf.reshape(tf.transpose(perPixel, [0, 2, 1]), [b, h * w * cf]) as tf.Tensor2D;
  });

/** Nearest-neighbour ×2 upsampling by concat + reshape: [B, H, W, C] → [B, 2H, 2W, C]. */
export const upsampleNearest2x = (x: tf.Tensor4D): tf.Tensor4D =>
  tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const cols = tf.reshape(tf.concat([x, x], 3), [b, h, 1, 2 * w * c]); // each pixel twice along W
    return tf.reshape(tf.concat([cols, cols], 2), [b, 2 * h, 2 * w, c]); // each row twice along H
  });

interface ResBlockSpec {
  readonly name: string;
  readonly cin: number;
  readonly cout: number;
}

export class VelocityUnet extends ParamModel<UnetConfig> implements VelocityModel {
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  readonly width: number;
  /** Clips: frames stacked as channels (see the header); null for images. */
  readonly frames: number | null;
  private readonly timeEmbedDim: number;
  private readonly embedDim: number;
  private readonly blocks: Record<'down0' | 'down1' | 'mid' | 'up1' | 'up0', ResBlockSpec>;

  constructor(config: UnetConfig) {
    super(config);
    const { size, channels } = config;
    const cols = config.imageWidth ?? size;
    if (size % 4 !== 0)
      throw new ShapeError(`model.size: the U-Net halves the image twice, so size must be divisible by 4, got ${size}`);
    if (cols % 4 !== 0)
      throw new ShapeError(
        `model.imageWidth: the U-Net halves the image twice, so the width must be divisible by 4, got ${cols}`,
      );
    if (config.frames !== undefined && cols !== size)
      throw new ShapeError(`model.imageWidth: clips need square frames, got ${size}×${cols}`);
    this.width = config.width ?? UNET_DEFAULTS.width;
    this.timeEmbedDim = config.timeEmbedDim ?? UNET_DEFAULTS.timeEmbedDim;
    this.numClasses = config.numClasses ?? UNET_DEFAULTS.numClasses;
    this.embedDim = 4 * this.width;
    this.frames = config.frames ?? null;
    this.sampleShape = this.frames === null ? [size, cols, channels] : [this.frames * size * size * channels];
    const planes = channels * (this.frames ?? 1); // input (and output) channels of the convolutions
    const seed = config.seed ?? UNET_DEFAULTS.seed;
    const w = this.width;
    const E = this.embedDim;

    const dense = (name: string, fanIn: number, fanOut: number): void => {
      this.params.add(`${name}.W`, glorotUniform([fanIn, fanOut], fanIn, fanOut, splitSeed(seed, name)));
      this.params.add(`${name}.b`, tf.zeros([fanOut]));
    };
    const conv = (name: string, k: number, cin: number, cout: number): void => {
      this.params.add(`${name}.W`, glorotUniform([k, k, cin, cout], k * k * cin, k * k * cout, splitSeed(seed, name)));
      this.params.add(`${name}.b`, tf.zeros([cout]));
    };

    dense('time1', this.timeEmbedDim, E);
    if (this.numClasses > 0) {
      this.params.add(
        'classEmbedding',
        tf.randomNormal([this.numClasses + 1, E], 0, 0.1, 'float32', splitSeed(seed, 'classEmbedding')),
      );
    }
    dense('time2', E, E);

    conv('in', 3, planes, w);
    this.blocks = {
      down0: { name: 'down0', cin: w, cout: w },
      down1: { name: 'down1', cin: 2 * w, cout: 2 * w },
      mid: { name: 'mid', cin: 2 * w, cout: 2 * w },
      up1: { name: 'up1', cin: 4 * w, cout: 2 * w },
      up0: { name: 'up0', cin: 2 * w, cout: w },
    };
    const resBlock = ({ name, cin, cout }: ResBlockSpec): void => {
      conv(`${name}.conv1`, 3, cin, cout);
      dense(`${name}.emb`, E, cout);
      conv(`${name}.conv2`, 3, cout, cout);
      if (cin !== cout) conv(`${name}.skip`, 1, cin, cout);
    };
    resBlock(this.blocks.down0);
    conv('downsample0', 3, w, 2 * w);
    resBlock(this.blocks.down1);
    conv('downsample1', 3, 2 * w, 2 * w);
    resBlock(this.blocks.mid);
    conv('upsample1', 3, 2 * w, 2 * w);
    resBlock(this.blocks.up1);
    conv('upsample0', 3, 2 * w, w);
    resBlock(this.blocks.up0);
    conv('out', 3, w, planes);
  }

  private conv(name: string, x: tf.Tensor4D, stride = 1): tf.Tensor4D {
    return conv2dBias(x, this.params.get(`${name}.W`) as tf.Variable<tf.Rank.R4>, this.params.get(`${name}.b`), stride);
  }

  private dense(name: string, x: tf.Tensor): tf.Tensor2D {
    return tf.add(
      tf.matMul(x as tf.Tensor2D, this.params.get(`${name}.W`) as tf.Variable<tf.Rank.R2>),
      this.params.get(`${name}.b`),
    );
  }

  /** res(h) = skip(h) + conv₂(SiLU(conv₁(SiLU(h)) + P·e')), e' = SiLU(e) per channel. */
  private resBlock({ name, cin, cout }: ResBlockSpec, h: tf.Tensor4D, embAct: tf.Tensor2D): tf.Tensor4D {
    const emb = tf.reshape(this.dense(`${name}.emb`, embAct), [-1, 1, 1, cout]);
    const z = tf.add(this.conv(`${name}.conv1`, silu(h) as tf.Tensor4D), emb);
    const r = this.conv(`${name}.conv2`, silu(z) as tf.Tensor4D);
    return tf.add(cin === cout ? h : this.conv(`${name}.skip`, h), r);
  }

  /** e = W₂·SiLU(W₁·emb(t) + b₁ + E·onehot(c)) + b₂, shape [B, 4w]. */
  private embed(t: tf.Tensor, labels: tf.Tensor | null, batch: number): tf.Tensor2D {
    let z = this.dense('time1', sinusoidalEmbedding(t, this.timeEmbedDim));
    if (this.numClasses > 0) {
      const ids = labels ?? tf.fill([batch], this.numClasses, 'int32');
      z = tf.add(
        z,
        tf.matMul(labelOneHot(ids, this.numClasses), this.params.get('classEmbedding') as tf.Variable<tf.Rank.R2>),
      );
    }
    return this.dense('time2', silu(z));
  }

  apply(xt: tf.Tensor, t: tf.Tensor, labels: tf.Tensor | null): tf.Tensor {
    assertShape(xt, [null, ...this.sampleShape], 'unet input x_t');
    return tf.tidy(() => {
      const { size, channels } = this.config;
      const x = this.frames === null ? (xt as tf.Tensor4D) : framesToChannels(xt, this.frames, size, channels);
      const e = silu(this.embed(t, labels, x.shape[0])) as tf.Tensor2D;
      const h0 = this.resBlock(this.blocks.down0, this.conv('in', x), e); // S
      const h1 = this.resBlock(this.blocks.down1, this.conv('downsample0', h0, 2), e); // S/2
      const m = this.resBlock(this.blocks.mid, this.conv('downsample1', h1, 2), e); // S/4
      const u1 = this.conv('upsample1', upsampleNearest2x(m)); // S/2
      const g1 = this.resBlock(this.blocks.up1, tf.concat([u1, h1], 3), e);
      const u0 = this.conv('upsample0', upsampleNearest2x(g1)); // S
      const g0 = this.resBlock(this.blocks.up0, tf.concat([u0, h0], 3), e);
      const out = this.conv('out', silu(g0) as tf.Tensor4D);
      return this.frames === null ? out : channelsToFrames(out, this.frames);
    });
  }
}
