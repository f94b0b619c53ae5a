/**
 * Rectified-flow conversions on tensors. `t` is per sample, shape [B]; x has shape
 * [B, ...]. Velocity v ≈ ε − x0 (§1).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Reshapes per-sample times [B] to [B, 1, …, 1] so they broadcast against x. */
export const perSample = (t: tf.Tensor, rank: number): tf.Tensor =>
  rank <= 1 ? t : tf.reshape(t, [-1, ...Array(rank - 1).fill(1)]);

const T = (t: tf.Tensor | number, like: tf.Tensor): tf.Tensor | number =>
  typeof t === 'number' ? t : perSample(t, like.rank);

/** x_t = (1 − t)·x0 + t·ε. */
export const forwardSample = (x0: tf.Tensor, eps: tf.Tensor, t: tf.Tensor | number): tf.Tensor =>
  tf.tidy(() => {
    const tt = T(t, x0);
    return tf.add(tf.mul(tf.sub(1, tt), x0), tf.mul(tt, eps));
  });

/** Flow-matching target v = ε − x0. */
export const velocityTarget = (x0: tf.Tensor, eps: tf.Tensor): tf.Tensor => tf.sub(eps, x0);

/** x0̂ = x_t − t·v. */
export const x0FromVelocity = (xt: tf.Tensor, v: tf.Tensor, t: tf.Tensor | number): tf.Tensor =>
  tf.tidy(() => tf.sub(xt, tf.mul(T(t, xt), v)));

/** ε̂ = x_t + (1 − t)·v. */
export const epsFromVelocity = (xt: tf.Tensor, v: tf.Tensor, t: tf.Tensor | number): tf.Tensor =>
  tf.tidy(() => tf.add(xt, tf.mul(tf.sub(1, T(t, xt)), v)));

/** ∇log p_t(x_t) = −(x_t + (1 − t)·v) / t = −ε̂ / t. */
export const scoreFromVelocity = (xt: tf.Tensor, v: tf.Tensor, t: tf.Tensor | number): tf.Tensor =>
  tf.tidy(() => tf.neg(tf.div(epsFromVelocity(xt, v, t), T(t, xt))));

/** v = (x_t − x0) / t. */
export const velocityFromX0 = (xt: tf.Tensor, x0: tf.Tensor, t: tf.Tensor | number): tf.Tensor =>
  tf.tidy(() => tf.div(tf.sub(xt, x0), T(t, xt)));

/** v = (ε − x_t) / (1 − t). */
export const velocityFromEps = (xt: tf.Tensor, eps: tf.Tensor, t: tf.Tensor | number): tf.Tensor =>
  tf.tidy(() => tf.div(tf.sub(eps, xt), tf.sub(1, T(t, xt))));

/** v from the score: ε̂ = −t·score, then v = (ε̂ − x_t) / (1 − t). */
export const velocityFromScore = (xt: tf.Tensor, score: tf.Tensor, t: tf.Tensor | number): tf.Tensor =>
  tf.tidy(() => velocityFromEps(xt, tf.neg(tf.mul(T(t, xt), score)), t));

/** Classifier-free guidance: v_cfg = v(∅) + g·(v(c) − v(∅)). */
export const guide = (vUncond: tf.Tensor, vCond: tf.Tensor, g: number): tf.Tensor =>
  tf.tidy(() => tf.add(vUncond, tf.mul(g, tf.sub(vCond, vUncond))));

/** Euler step from t to t' (t' < t): x_{t'} = x_t + (t' − t)·v(x_t, t). */
export const eulerStep = (xt: tf.Tensor, v: tf.Tensor, t: number, tNext: number): tf.Tensor =>
  tf.tidy(() => tf.add(xt, tf.mul(tNext - t, v)));

/**
 * x0-prediction step with fresh noise (DMD2's multi-step sampler), from t to t':
 *   x0̂ = x_t − t·v(x_t, t),   x_{t'} = (1 − t')·x0̂ + t'·ε',  ε' ~ N(0, I) drawn anew.
 * At t' = 0 it returns x0̂, like the last Euler step.
 */
export const x0NoiseStep = (xt: tf.Tensor, v: tf.Tensor, t: number, tNext: number, eps: tf.Tensor): tf.Tensor =>
  tf.tidy(() => {
    const x0 = tf.sub(xt, tf.mul(t, v));
    return tNext === 0 ? x0 : tf.add(tf.mul(1 - tNext, x0), tf.mul(tNext, eps));
  });

/**
 * Heun step (2nd order): x' = x_t + (t' − t)·v₁; v₂ = v(x', t');
 * x_{t'} = x_t + (t' − t)·(v₁ + v₂)/2. At t' = 0 it is an Euler step (as in k-diffusion).
 */
export const heunStep = (
  velocity: (x: tf.Tensor, t: number) => tf.Tensor,
  xt: tf.Tensor,
  t: number,
  tNext: number,
): tf.Tensor =>
  tf.tidy(() => {
    const v1 = velocity(xt, t);
    const xEuler = eulerStep(xt, v1, t, tNext);
    if (tNext === 0) return xEuler;
    const v2 = velocity(xEuler, tNext);
    return tf.add(xt, tf.mul(tNext - t, tf.div(tf.add(v1, v2), 2)));
  });

/** α_{t|s} = (1 − t)/(1 − s) on tensors (t per sample, s scalar). */
export const alphaTSTensor = (t: tf.Tensor, s: number): tf.Tensor => tf.tidy(() => tf.div(tf.sub(1, t), 1 - s));

/** σ_{t|s} = √(t² − ((1 − t)·s/(1 − s))²) on tensors, clamped at 0 against rounding. */
export const sigmaTSTensor = (t: tf.Tensor, s: number): tf.Tensor =>
  tf.tidy(() => tf.sqrt(tf.relu(tf.sub(tf.square(t), tf.square(tf.mul(tf.sub(1, t), s / (1 - s)))))));

/** Sub-interval forward process: x_t = α_{t|s}·x_s + σ_{t|s}·ε. */
export const forwardFromS = (xs: tf.Tensor, eps: tf.Tensor, t: tf.Tensor, s: number): tf.Tensor =>
  tf.tidy(() =>
    tf.add(tf.mul(perSample(alphaTSTensor(t, s), xs.rank), xs), tf.mul(perSample(sigmaTSTensor(t, s), xs.rank), eps)),
  );

/**
 * Unbiased subinterval velocity target (§5):
 * v* = ((1 − s)²·t + (1 − t)·s²) / ((1 − s)²·σ_{t|s}) · ε − x_s / (1 − s).  With s = 0, v* = ε − x0.
 */
export const subintervalVelocityTarget = (xs: tf.Tensor, eps: tf.Tensor, t: tf.Tensor, s: number): tf.Tensor =>
  tf.tidy(() => {
    const a = tf.div(
      tf.add(tf.mul((1 - s) ** 2, t), tf.mul(tf.sub(1, t), s * s)),
      tf.mul((1 - s) ** 2, sigmaTSTensor(t, s)),
    );
    return tf.sub(tf.mul(perSample(a, xs.rank), eps), tf.div(xs, 1 - s));
  });

/** x0-prediction form of the target: x0* = x_s/(1 − s) − ((1 − t)·s² / ((1 − s)²·σ_{t|s}))·ε. */
export const subintervalX0Target = (xs: tf.Tensor, eps: tf.Tensor, t: tf.Tensor, s: number): tf.Tensor =>
  tf.tidy(() => {
    const c = tf.div(tf.mul(tf.sub(1, t), s * s), tf.mul((1 - s) ** 2, sigmaTSTensor(t, s)));
    return tf.sub(tf.div(xs, 1 - s), tf.mul(perSample(c, xs.rank), eps));
  });

/** DMD weight (1 − t)²/t and its phased form (1 − t)²/(t·(1 − s)), per sample. */
export const phasedWeightTensor = (t: tf.Tensor, s: number): tf.Tensor =>
  tf.tidy(() => tf.div(tf.square(tf.sub(1, t)), tf.mul(t, 1 - s)));

/** Fake-score loss weight min(1, 10·σ_{t|s}²), per sample. */
export const subintervalLossWeightTensor = (t: tf.Tensor, s: number): tf.Tensor =>
  tf.tidy(() => tf.minimum(1, tf.mul(10, tf.square(sigmaTSTensor(t, s)))));

/** t = shift(u) = S·u / (1 + (S − 1)·u) on tensors. */
export const shiftTimeTensor = (u: tf.Tensor, S: number): tf.Tensor =>
  tf.tidy(() => tf.div(tf.mul(S, u), tf.add(1, tf.mul(S - 1, u))));
