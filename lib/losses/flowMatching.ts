import * as tf from '@tensorflow/tfjs-core';
import { meanSquaredError } from '../backend/ops';

/** Mean squared error over every element: mean((a − b)²) (one kernel each way on the native path). */
export { meanSquaredError } from '../backend/ops';

/**
 * Weighted per-sample MSE: mean_b w_b · mean_d (a − b)². `w` has shape [B].
 */
export const weightedMeanSquaredError = (a: tf.Tensor, b: tf.Tensor, w: tf.Tensor): tf.Scalar =>
  tf.tidy(() => {
    const perSample = tf.mean(tf.reshape(tf.square(tf.sub(a, b)), [a.shape[0], -1]), 1);
    return tf.mean(tf.mul(w, perSample)) as tf.Scalar;
  });

/**
 * Flow-matching loss (§2): L = E ‖v_θ(x_t, t, c) − (ε − x0)‖², averaged over elements.
 */
export const flowMatchingMse = (v: tf.Tensor, x0: tf.Tensor, eps: tf.Tensor): tf.Scalar =>
  tf.tidy(() => meanSquaredError(v, tf.sub(eps, x0)));
