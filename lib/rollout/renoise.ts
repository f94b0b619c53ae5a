import * as tf from '@tensorflow/tfjs-core';
import type { PhaseContext } from './context';
import { sampleTimes, TimestepSampling } from '../schedule/sampling';
import { unshiftTime } from '../schedule/time';

/**
 * Upper end of the re-noising draws in unshifted time. Staying below 1 keeps x_t from
 * being pure noise, where the real and fake scores carry no information about x_s.
 */
export const RENOISE_U_MAX = 0.98;

/**
 * Re-noising times t for a phase ending at s: u uniform in unshifted time over
 *   [u_s + margin, u_hi],  u_s = shift⁻¹(s),
 *   u_hi = 0.98 (nested interval (s, 1]) or min(0.98, shift⁻¹(t_start)) (disjoint (s, t_start]),
 * then t = shift(u). The margin is in unshifted time, so it keeps t away from s by the
 * same share of the schedule at every shift. One-step DMD (s = 0): u ∈ [0.02, 0.98].
 */
export const renoiseRange = (ctx: Pick<PhaseContext, 'phase' | 'shift'>): TimestepSampling => {
  const { end: s, start, renoise, margin } = ctx.phase;
  const uHi = renoise === 'nested' ? RENOISE_U_MAX : Math.min(RENOISE_U_MAX, unshiftTime(start, ctx.shift));
  const uLo = Math.min(unshiftTime(s, ctx.shift) + margin, uHi);
  return { lo: uLo, hi: uHi, shift: ctx.shift, distribution: 'uniform' };
};

export const drawRenoiseTimes = (ctx: Pick<PhaseContext, 'phase' | 'shift'>, n: number, seed: number): tf.Tensor1D =>
  sampleTimes(renoiseRange(ctx), n, seed);
