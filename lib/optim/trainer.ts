/**
 * A trainable role: its variables and its optimiser (Adam/AdamW with DMD's betas by default).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as t from 'io-ts';
import { Positive, NonNegative, UnitInterval } from '../config/primitives';
import { fusedAdam } from './fusedAdam';
import { sumOfSquares } from '../backend/ops';

export const OptimizerConfig = t.partial({
  /** Learning rate. */
  lr: Positive,
  /** Adam β₁, β₂ (DMD default (0, 0.999)). */
  betas: t.tuple([UnitInterval, UnitInterval]),
  /** Decoupled weight decay (AdamW); 0 = Adam. */
  weightDecay: NonNegative,
  /** Clip the global gradient norm; 0 = off. */
  clipNorm: NonNegative,
  eps: Positive,
});
export type OptimizerConfig = t.TypeOf<typeof OptimizerConfig>;

export interface Trainer {
  readonly optimizer: tf.Optimizer;
  readonly variables: tf.Variable[];
  readonly clipNorm: number;
  readonly weightDecay: number;
  readonly lr: number;
}

/** Optimiser settings as plain numbers (a decoded OptimizerConfig fits). */
export interface OptimizerSettings {
  readonly lr?: number;
  readonly betas?: readonly [number, number];
  readonly weightDecay?: number;
  readonly clipNorm?: number;
  readonly eps?: number;
}

export const makeTrainer = (
  variables: tf.Variable[],
  config: OptimizerSettings,
  defaults: { lr: number; betas: readonly [number, number] },
): Trainer => {
  const lr = config.lr ?? defaults.lr;
  const [b1, b2] = config.betas ?? defaults.betas;
  return {
    // tf.train.adam, one fused kernel for all variables where available
    optimizer: fusedAdam(lr, b1, b2, config.eps ?? 1e-8),
    variables,
    clipNorm: config.clipNorm ?? 0,
    weightDecay: config.weightDecay ?? 0,
    lr,
  };
};

/** ‖g‖₂ over all gradients. */
export const globalNorm = (grads: readonly tf.Tensor[]): tf.Scalar =>
  tf.tidy(() => tf.sqrt(sumOfSquares(grads)) as tf.Scalar);
