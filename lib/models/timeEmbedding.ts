import * as tf from '@tensorflow/tfjs-core';
import { sinusoidal } from '../backend/ops';

/**
 * Sinusoidal time embedding: [sin(1000·t·ω_i), cos(1000·t·ω_i)], ω_i = 10000^(−i/(d/2)).
 * t has shape [B]; the result [B, d]. The 1000 scale matches diffusion practice
 * (t ∈ [0, 1] would otherwise use only the lowest frequencies).
 */
export const sinusoidalEmbedding = (t: tf.Tensor, dim: number): tf.Tensor2D =>
  tf.tidy(() => {
    const half = Math.floor(dim / 2);
    const freqs = tf.tensor1d(Array.from({ length: half }, (_, i) => 1000 * Math.exp((-Math.log(10000) * i) / half)));
    return sinusoidal(t, freqs);
  });

/**
 * One-hot of int labels [B] over numClasses + 1 entries (the last is ∅): embeddings as matmul, since gather has no
 * gradient on wasm.
 */
export const labelOneHot = (labels: tf.Tensor, numClasses: number): tf.Tensor2D =>
  tf.tidy(() => tf.cast(tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, numClasses + 1), 'float32') as tf.Tensor2D);
