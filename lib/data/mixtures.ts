/**
 * Built-in 2-D mixtures with component labels as classes:
 * - ring8: 8 Gaussians on a circle of radius 2, σ = 0.1;
 * - grid25: 25 Gaussians on the grid {−2, −1, 0, 1, 2}², σ = 0.05.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset, GaussianMixture, DataBatch } from './types';
import { randomInts, splitSeed } from '../random/seed';

export const ring8: GaussianMixture = {
  centers: Array.from({ length: 8 }, (_, k) => [2 * Math.cos((2 * Math.PI * k) / 8), 2 * Math.sin((2 * Math.PI * k) / 8)]),
  std: 0.1,
  weights: Array(8).fill(1 / 8),
};

export const grid25: GaussianMixture = {
  centers: Array.from({ length: 25 }, (_, k) => [(k % 5) - 2, Math.floor(k / 5) - 2]),
  std: 0.05,
  weights: Array(25).fill(1 / 25),
};

export const MIXTURES = { ring8, grid25 } as const;
export type MixtureName = keyof typeof MIXTURES;

/** Draws component k uniformly (labels), then x = μ_k + σ·ε. */
export const sampleMixture = (mixture: GaussianMixture, batchSize: number, seed: number): DataBatch => {
  const ids = randomInts(splitSeed(seed, 'component'), batchSize, mixture.centers.length);
  const dim = mixture.centers[0].length;
  const means = new Float32Array(batchSize * dim);
  ids.forEach((k, i) => mixture.centers[k].forEach((c, d) => (means[i * dim + d] = c)));
  const x0 = tf.tidy(() => tf.add(tf.tensor2d(means, [batchSize, dim]), tf.randomNormal([batchSize, dim], 0, mixture.std, 'float32', splitSeed(seed, 'offset'))));
  return { x0, labels: tf.tensor1d(ids, 'int32') };
};

export const mixtureDataset = (name: MixtureName): Dataset & { readonly mixture: GaussianMixture } => {
  const mixture = MIXTURES[name];
  return {
    name,
    mixture,
    sampleShape: [mixture.centers[0].length],
    numClasses: mixture.centers.length,
    size: Infinity,
    sample: (batchSize, seed) => sampleMixture(mixture, batchSize, seed),
  };
};
