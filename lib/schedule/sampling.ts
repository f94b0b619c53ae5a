import * as tf from '@tensorflow/tfjs-core';
import { shiftTimeTensor } from './tensors';
import { unshiftTime } from './time';

/**
 * How training times are drawn: u in (lo, hi] of *unshifted* time, uniform or
 * logit-normal (restricted to the interval), then t = shift(u, S).
 * For a sub-interval (s, 1] of shifted time use lo = unshift(s) (see `timeRange`).
 */
export interface TimestepSampling {
  readonly lo: number;
  readonly hi: number;
  readonly shift: number;
  readonly distribution: 'uniform' | 'logitNormal';
}

/** The unshifted range whose shifted image is [tLo, tHi]. */
export const timeRange = (
  tLo: number,
  tHi: number,
  shift: number,
  distribution: TimestepSampling['distribution'] = 'uniform',
): TimestepSampling => ({
  lo: unshiftTime(tLo, shift),
  hi: unshiftTime(tHi, shift),
  shift,
  distribution,
});

/**
 * Draws t [n]. Uniform: u ~ U(lo, hi). Logit-normal: u = lo + (hi − lo)·sigmoid(z), z ~ N(0, 1).
 * Then t = S·u / (1 + (S − 1)·u).
 */
export const sampleTimes = (s: TimestepSampling, n: number, seed: number): tf.Tensor1D =>
  tf.tidy(() => {
    const u =
      s.distribution === 'uniform'
        ? tf.randomUniform([n], s.lo, s.hi, 'float32', seed)
        : tf.add(s.lo, tf.mul(s.hi - s.lo, tf.sigmoid(tf.randomNormal([n], 0, 1, 'float32', seed))));
    return (s.shift === 1 ? u : shiftTimeTensor(u, s.shift)) as tf.Tensor1D;
  });
