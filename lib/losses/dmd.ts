/**
 * Distribution matching (PHASED_DMD.md §3, §5), in the rectified-flow convention.
 */
import * as tf from '@tensorflow/tfjs-core';
import { perSample, phasedWeightTensor, x0FromVelocity } from '../schedule/tensors';
import { offTape } from './stopGradient';

export type DmdNormaliser = 'paper' | 'dmd2';

/**
 * DMD gradient w.r.t. the phase-end sample x_s (s = 0 for one-step DMD):
 *   paper: grad = (1 − t)² / (t·(1 − s)) · (v_T,cfg(x_t, t) − v_F(x_t, t))
 *   dmd2:  grad = (x0̂_F − x0̂_T) / mean_d |x_s − x0̂_T|,  x0̂ = x_t − t·v
 * (same direction, another positive per-sample scale — DMD2's code; with s > 0 the
 * normaliser compares x_s to the teacher's x0̂, a choice of this project).
 */
export const distributionMatchingGrad = (
  a: { vReal: tf.Tensor; vFake: tf.Tensor; xt: tf.Tensor; xs: tf.Tensor; t: tf.Tensor; s: number },
  normaliser: DmdNormaliser = 'paper',
): tf.Tensor =>
  tf.tidy(() => {
    const rank = a.xs.rank;
    if (normaliser === 'paper') return tf.mul(perSample(phasedWeightTensor(a.t, a.s), rank), tf.sub(a.vReal, a.vFake));
    const x0Real = x0FromVelocity(a.xt, a.vReal, a.t);
    const x0Fake = x0FromVelocity(a.xt, a.vFake, a.t);
    const flat = tf.reshape(tf.abs(tf.sub(a.xs, x0Real)), [a.xs.shape[0], -1]);
    const scale = perSample(tf.add(tf.mean(flat, 1), 1e-8), rank);
    return tf.div(tf.sub(x0Fake, x0Real), scale);
  });

/**
 * Generator loss L_G = ½‖x − sg(x − grad)‖² (summed), so ∂L_G/∂x = grad exactly.
 * `gradOf` runs off the tape: the real and fake scores are never back-propagated.
 */
export const generatorLoss = (x: tf.Tensor, gradOf: (xDetached: tf.Tensor) => tf.Tensor): tf.Scalar =>
  tf.tidy(() => {
    const target = offTape((xd) => tf.sub(xd, gradOf(xd)))(x);
    return tf.mul(0.5, tf.sum(tf.square(tf.sub(x, target)))) as tf.Scalar;
  });

/**
 * Fake-score loss: per-sample weighted MSE to a velocity target,
 *   L_F = mean_b w_b · mean_d (v_F − v*)²,
 * with v* = ε − x0 (s = 0) or the subinterval target (§5), w_b = min(1, 10·σ_{t|s}²) for s > 0.
 */
export const fakeScoreLoss = (vFake: tf.Tensor, target: tf.Tensor, weight: tf.Tensor | null): tf.Scalar =>
  tf.tidy(() => {
    const perSampleMse = tf.mean(tf.reshape(tf.square(tf.sub(vFake, target)), [vFake.shape[0], -1]), 1);
    return tf.mean(weight === null ? perSampleMse : tf.mul(weight, perSampleMse)) as tf.Scalar;
  });
