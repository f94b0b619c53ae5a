/**
 * Distribution matching (docs/algorithm.md §3, §5) in the rectified-flow convention (x_t = (1 − t)·x0 + t·ε,
 * v ≈ ε − x0, x0̂ = x_t − t·v). The generator's sample at the phase end s is re-noised
 * to x_t; the teacher (real score, with CFG) and the fake score each predict x0 there,
 * and their difference is the direction the generator's samples move in.
 *
 * Three forms of the generator gradient (`GeneratorGradient`):
 *   reference      the form public DMD2 / Phased DMD trainers use, and the default:
 *                  x0-space direction, normalised per sample, applied to the student's
 *                  own x0 prediction x0_G, loss averaged over elements;
 *   paper          the unnormalised KL gradient (1 − t)²/(t·(1 − s))·(v_T − v_F) on x_s
 *                  (an ablation: per unit of x0 difference its weight is SNR(t)/(1 − s),
 *                  so rare small-t draws dominate);
 *   xs-normalised  the reference normaliser, but applied to x_s (an ablation; the
 *                  `dmd2` normaliser of earlier versions).
 * All three move a sample in the same direction up to a positive per-sample scale.
 */
import * as tf from '@tensorflow/tfjs-core';
import { perSample, phasedWeightTensor, x0FromVelocity } from '../schedule/tensors';
import { offTape } from './stopGradient';

export type GeneratorGradient = 'reference' | 'paper' | 'xs-normalised';
export const GENERATOR_GRADIENTS: readonly GeneratorGradient[] = ['reference', 'paper', 'xs-normalised'];

/** Floor of the reference normaliser: a sample already on the teacher's prediction is not blown up. */
export const NORMALISER_FLOOR = 1e-4;

/** Direction in x0 space: x0̂_F − x0̂_T (= t·(v_T − v_F) at the same x_t). */
export const dmdDirection = (x0Fake: tf.Tensor, x0Real: tf.Tensor): tf.Tensor => tf.sub(x0Fake, x0Real);

/** Per-sample normaliser  n_b = max(mean_d |x_b − x0̂_T,b|, floor), shaped to broadcast over x. */
export const dmdNormaliser = (x: tf.Tensor, x0Real: tf.Tensor, floor = NORMALISER_FLOOR): tf.Tensor =>
  tf.tidy(() => {
    const flat = tf.reshape(tf.abs(tf.sub(x, x0Real)), [x.shape[0], -1]);
    return perSample(tf.maximum(tf.mean(flat, 1), floor), x.rank);
  });

/**
 * Reference gradient on the student's x0 prediction:
 *   grad = (x0̂_F − x0̂_T) / max(mean_d |x0_G − x0̂_T|, 1e-4)
 */
export const referenceGrad = (a: { x0Fake: tf.Tensor; x0Real: tf.Tensor; x0G: tf.Tensor }): tf.Tensor =>
  tf.tidy(() => tf.div(dmdDirection(a.x0Fake, a.x0Real), dmdNormaliser(a.x0G, a.x0Real)));

/** Inputs of the x_s-space forms: both velocities at x_t, and the phase-end sample x_s. */
export interface XsGradArgs {
  readonly vReal: tf.Tensor;
  readonly vFake: tf.Tensor;
  readonly xt: tf.Tensor;
  readonly xs: tf.Tensor;
  readonly t: tf.Tensor;
  readonly s: number;
}

/** Paper weight on x_s:  grad = (1 − t)² / (t·(1 − s)) · (v_T,cfg(x_t, t) − v_F(x_t, t)). */
export const paperGrad = (a: XsGradArgs): tf.Tensor =>
  tf.tidy(() => tf.mul(perSample(phasedWeightTensor(a.t, a.s), a.xs.rank), tf.sub(a.vReal, a.vFake)));

/** Normalised direction on x_s:  grad = (x0̂_F − x0̂_T) / max(mean_d |x_s − x0̂_T|, 1e-4). */
export const xsNormalisedGrad = (a: XsGradArgs): tf.Tensor =>
  tf.tidy(() => {
    const x0Real = x0FromVelocity(a.xt, a.vReal, a.t);
    const x0Fake = x0FromVelocity(a.xt, a.vFake, a.t);
    return tf.div(dmdDirection(x0Fake, x0Real), dmdNormaliser(a.xs, x0Real));
  });

/** The x_s-space gradient of a form ('paper' or 'xs-normalised'). */
export const distributionMatchingGrad = (
  a: XsGradArgs,
  form: Exclude<GeneratorGradient, 'reference'> = 'paper',
): tf.Tensor => (form === 'paper' ? paperGrad(a) : xsNormalisedGrad(a));

/**
 * Generator loss on x_s, summed:  L_G = ½·Σ‖x − sg(x − grad)‖², so ∂L_G/∂x = grad exactly.
 * `gradOf` runs off the tape: the real and fake scores are never back-propagated.
 */
export const generatorLoss = (x: tf.Tensor, gradOf: (xDetached: tf.Tensor) => tf.Tensor): tf.Scalar =>
  tf.tidy(() => {
    const target = offTape((xd) => tf.sub(xd, gradOf(xd)))(x);
    return tf.mul(0.5, tf.sum(tf.square(tf.sub(x, target)))) as tf.Scalar;
  });

/**
 * Reference generator loss on x0_G, averaged over every element:
 *   L_G = ½·mean‖x0_G − sg(x0_G − grad)‖²,  so ∂L_G/∂x0_G = grad / (B·D).
 * The mean (not the sum) keeps the gradient's scale independent of batch and sample
 * size, which is what makes a fixed clip norm of 1 meaningful.
 */
export const generatorLossMean = (x0G: tf.Tensor, gradOf: (x0Detached: tf.Tensor) => tf.Tensor): tf.Scalar =>
  tf.tidy(() => {
    const target = offTape((xd) => tf.sub(xd, gradOf(xd)))(x0G);
    return tf.mul(0.5, tf.mean(tf.square(tf.sub(x0G, target)))) as tf.Scalar;
  });

/**
 * Fake-score loss: per-sample weighted MSE to a velocity target,
 *   L_F = mean_b w_b · mean_d (v_F − v*)²,
 * with v* = ε − x0 (s = 0) or the subinterval target, w_b = min(1, 10·σ_{t|s}²) for s > 0.
 */
export const fakeScoreLoss = (vFake: tf.Tensor, target: tf.Tensor, weight: tf.Tensor | null): tf.Scalar =>
  tf.tidy(() => {
    const perSampleMse = tf.mean(tf.reshape(tf.square(tf.sub(vFake, target)), [vFake.shape[0], -1]), 1);
    return tf.mean(weight === null ? perSampleMse : tf.mul(weight, perSampleMse)) as tf.Scalar;
  });
