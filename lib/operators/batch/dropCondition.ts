import * as tf from '@tensorflow/tfjs-core';
import { OperatorFunction, map } from 'rxjs';
import { Batch, drawSeed } from '../../stream/types';

/**
 * Condition dropout for classifier-free guidance: each label is replaced by the
 * null class ∅ (id `nullClass`) with probability p. Unlabelled batches pass unchanged.
 */
export const dropCondition = <B extends Batch>(p: number, nullClass: number): OperatorFunction<B, B> =>
  map((batch) => {
    if (batch.labels === null || p <= 0) return batch;
    const labels = tf.tidy(() => {
      const keep = tf.greaterEqual(
        tf.randomUniform(batch.labels!.shape, 0, 1, 'float32', drawSeed(batch.key, 'drop')),
        p,
      );
      return tf.where(keep, batch.labels!, tf.fill(batch.labels!.shape, nullClass, 'int32')) as tf.Tensor1D;
    });
    batch.labels.dispose();
    return { ...batch, labels };
  });
