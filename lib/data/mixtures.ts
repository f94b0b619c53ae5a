/**
 * Built-in 2-D mixtures with component labels as classes:
 * - ring8: 8 Gaussians on a circle of radius 2, σ = 0.1;
 * - grid25: 25 Gaussians on the grid {−2, −1, 0, 1, 2}², σ = 0.05;
 * and three with unequal weights and spreads, meant to be learned unconditionally
 * (a collapsing student loses the light and the narrow modes first):
 * - uneven7: 7 modes at irregular places, weights .30 … .04, σ .05 … .20;
 * - rings2: 4 inner modes (radius 1, σ .06, weight .15 each) and 8 outer (radius 2.5,
 *   σ .12, weight .05 each);
 * - skew3: 3 modes in a line, weights .70 / .20 / .10, σ .25 / .10 / .05.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset, GaussianMixture, DataBatch } from './types';
import { randomInts, randomUniforms, splitSeed } from '../random/seed';

export const ring8: GaussianMixture = {
  centers: Array.from({ length: 8 }, (_, k) => [
    2 * Math.cos((2 * Math.PI * k) / 8),
    2 * Math.sin((2 * Math.PI * k) / 8),
  ]),
  std: 0.1,
  weights: Array(8).fill(1 / 8),
};

export const grid25: GaussianMixture = {
  centers: Array.from({ length: 25 }, (_, k) => [(k % 5) - 2, Math.floor(k / 5) - 2]),
  std: 0.05,
  weights: Array(25).fill(1 / 25),
};

export const uneven7: GaussianMixture = {
  centers: [
    [-2, -1.5],
    [-0.5, 2],
    [1.8, 1.6],
    [2.2, -1.2],
    [0, -0.3],
    [-2.3, 1.2],
    [0.8, -2.3],
  ],
  std: [0.2, 0.15, 0.1, 0.08, 0.12, 0.05, 0.06],
  weights: [0.3, 0.2, 0.15, 0.12, 0.1, 0.09, 0.04],
};

export const rings2: GaussianMixture = {
  centers: [
    ...Array.from({ length: 4 }, (_, k) => [
      Math.cos((Math.PI * (2 * k + 1)) / 4),
      Math.sin((Math.PI * (2 * k + 1)) / 4),
    ]),
    ...Array.from({ length: 8 }, (_, k) => [
      2.5 * Math.cos((2 * Math.PI * k) / 8),
      2.5 * Math.sin((2 * Math.PI * k) / 8),
    ]),
  ],
  std: [...Array(4).fill(0.06), ...Array(8).fill(0.12)],
  weights: [...Array(4).fill(0.15), ...Array(8).fill(0.05)],
};

export const skew3: GaussianMixture = {
  centers: [
    [-1.5, 0],
    [1, 0.5],
    [2.2, -1],
  ],
  std: [0.25, 0.1, 0.05],
  weights: [0.7, 0.2, 0.1],
};

export const MIXTURES = { ring8, grid25, uneven7, rings2, skew3 } as const;
export type MixtureName = keyof typeof MIXTURES;

/** σ_k of component k. */
export const componentStd = (mixture: GaussianMixture, k: number): number =>
  typeof mixture.std === 'number' ? mixture.std : mixture.std[k];

/**
 * Components k with probability w_k, by inverse CDF on one uniform per sample (equal
 * weights: ⌊u·K⌋, the same draw as a uniform integer).
 */
export const drawComponents = (mixture: GaussianMixture, n: number, seed: number): Int32Array => {
  const K = mixture.centers.length;
  if (mixture.weights.every((w) => w === mixture.weights[0])) return randomInts(seed, n, K);
  const total = mixture.weights.reduce((a, b) => a + b, 0);
  let acc = 0;
  const cdf = mixture.weights.map((w) => (acc += w / total));
  const u = randomUniforms(seed, n);
  return Int32Array.from(u, (x) => {
    const k = cdf.findIndex((c) => x < c);
    return k < 0 ? K - 1 : k;
  });
};

/** Draws component k ~ w (labels), then x = μ_k + σ_k·ε. */
export const sampleMixture = (mixture: GaussianMixture, batchSize: number, seed: number): DataBatch => {
  const ids = drawComponents(mixture, batchSize, splitSeed(seed, 'component'));
  const dim = mixture.centers[0].length;
  const means = new Float32Array(batchSize * dim);
  ids.forEach((k, i) => mixture.centers[k].forEach((c, d) => (means[i * dim + d] = c)));
  const x0 = tf.tidy(() => {
    const mu = tf.tensor2d(means, [batchSize, dim]);
    if (typeof mixture.std === 'number')
      return tf.add(mu, tf.randomNormal([batchSize, dim], 0, mixture.std, 'float32', splitSeed(seed, 'offset')));
    const eps = tf.randomNormal([batchSize, dim], 0, 1, 'float32', splitSeed(seed, 'offset'));
    const sigma = tf.tensor2d(
      Float32Array.from(ids, (k) => componentStd(mixture, k)),
      [batchSize, 1],
    );
    return tf.add(mu, tf.mul(sigma, eps));
  });
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
