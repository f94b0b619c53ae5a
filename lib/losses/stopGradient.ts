/**
 * TensorFlow.js has no stopGradient op. `offTape(f)` evaluates f(x) inside a customGrad
 * forward pass — which tfjs runs with the gradient tape off — and declares a zero
 * gradient w.r.t. x. So a stop-gradient target costs one forward and no backward
 * through whatever f runs (the real and fake scores, for DMD).
 */
import * as tf from '@tensorflow/tfjs-core';

export const offTape = (f: (x: tf.Tensor) => tf.Tensor): ((x: tf.Tensor) => tf.Tensor) =>
  tf.customGrad(((x: tf.Tensor) => ({ value: f(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as Parameters<
    typeof tf.customGrad
  >[0]) as (x: tf.Tensor) => tf.Tensor;

/** sg(x): the value of x, with zero gradient. */
export const stopGradient = (x: tf.Tensor): tf.Tensor => offTape((y) => tf.clone(y))(x);
