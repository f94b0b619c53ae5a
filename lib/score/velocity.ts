/**
 * Running a velocity model as a score, with optional classifier-free guidance.
 * CFG evaluates the conditional and unconditional passes as one batched forward.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VelocityModel } from '../models/types';
import { guide } from '../schedule/tensors';

/** A velocity function of (x_t, t, c). */
export type VelocityFn = (xt: tf.Tensor, t: tf.Tensor, labels: tf.Tensor | null) => tf.Tensor;

/**
 * v_cfg = v(x, t, ∅) + g·(v(x, t, c) − v(x, t, ∅)), computed in one forward of batch 2B.
 * g = 1 (or no labels, or an unconditional model) is a plain conditional pass.
 */
export const guidedVelocity =
  (model: VelocityModel, g: number): VelocityFn =>
  (xt, t, labels) => {
    if (labels === null || model.numClasses === 0 || g === 1) return model.apply(xt, t, labels);
    return tf.tidy(() => {
      const B = xt.shape[0];
      const both = model.apply(
        tf.concat([xt, xt], 0),
        tf.concat([t, t], 0),
        tf.concat([tf.cast(labels, 'int32'), tf.fill([B], model.numClasses, 'int32')], 0),
      );
      const [vCond, vUncond] = tf.split(both, 2, 0);
      return guide(vUncond, vCond, g);
    });
  };

/** Broadcasts a scalar time to a per-sample vector [B]. */
export const timeVector = (t: number, batch: number): tf.Tensor1D => tf.fill([batch], t) as tf.Tensor1D;
