/**
 * Seeded tensor draws. tfjs generates seeded random numbers in JS, so these are
 * bit-identical on every backend. The seed is always explicit.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Seed } from './seed';

/** ε ~ N(0, I). */
export const normal = (shape: number[], seed: Seed): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed);

/** u ~ U[lo, hi). */
export const uniform = (shape: number[], lo: number, hi: number, seed: Seed): tf.Tensor =>
  tf.randomUniform(shape, lo, hi, 'float32', seed);
