import * as tf from '@tensorflow/tfjs-core';
import type { Seed } from '../random/seed';
import type { DataScaling } from './scaling';

/** The layout of a video sample: frames × height × width (× channels). */
export interface ClipDims {
  readonly frames: number;
  readonly height: number;
  readonly width: number;
  /** Default 1. */
  readonly channels?: number;
}

/** A batch of training data: x0 [B, ...sampleShape] and int32 labels [B] (or null). */
export interface DataBatch {
  readonly x0: tf.Tensor;
  readonly labels: tf.Tensor1D | null;
}

/**
 * A dataset draws batches from an explicit seed: the same seed gives the same batch,
 * so a training step is re-created from its step index alone.
 */
export interface Dataset {
  readonly name: string;
  /** Shape of one sample, e.g. [2] or [28, 28, 1]. */
  readonly sampleShape: readonly number[];
  /** 0 = unlabelled. */
  readonly numClasses: number;
  /** Number of stored examples; Infinity for analytic distributions. */
  readonly size: number;
  /**
   * Video clips: samples are flat frame-major [F·H·W·C] vectors of this layout (a U-Net stacks the frames as channels).
   */
  readonly clipDims?: ClipDims;
  /** How stored values became the model's (lib/data/scaling.ts); absent = used as they are, at unit scale. */
  readonly scaling?: DataScaling;
  /** Warnings and notes about the data for the user (its scale, how it was read). */
  readonly notes?: readonly string[];
  /** Class names by id (an image folder's sub-folders); absent = the ids themselves. */
  readonly classNames?: readonly string[];
  sample(batchSize: number, seed: Seed): DataBatch;
}

/** A known mixture of isotropic Gaussians: lets metrics count modes and "high-quality" samples. */
export interface GaussianMixture {
  readonly centers: ReadonlyArray<readonly number[]>;
  /** Standard deviation σ of every component, or one σ_k per component. */
  readonly std: number | readonly number[];
  /** Mixture weights (uniform when equal). */
  readonly weights: readonly number[];
}
