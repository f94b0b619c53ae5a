import * as tf from '@tensorflow/tfjs-core';
import { Params } from './params';
import type { ModelConfig } from './config';

/**
 * A velocity network v(x_t, t, c) ≈ ε − x0. Labels are int32 class ids of shape [B];
 * the id `numClasses` is the null class ∅ used for classifier-free guidance.
 */
export interface VelocityModel {
  readonly config: ModelConfig;
  readonly params: Params;
  /** Input shape of one sample, e.g. [2] or [28, 28, 1]. */
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  apply(xt: tf.Tensor, t: tf.Tensor, labels: tf.Tensor | null): tf.Tensor;
  /** A new model with copied weights (students and fake scores start as teacher copies). */
  clone(): VelocityModel;
  copyWeightsFrom(other: VelocityModel): void;
  dispose(): void;
}

/** The null-class label ∅ for a model: its id is numClasses. */
export const nullLabels = (model: Pick<VelocityModel, 'numClasses'>, batch: number): tf.Tensor1D =>
  tf.fill([batch], model.numClasses, 'int32') as tf.Tensor1D;
