import * as tf from '@tensorflow/tfjs-core';
import type { PhaseContext } from './context';
import { sampleTimes, timeRange } from '../schedule/sampling';

/**
 * Re-noising times t for a phase ending at s (§5): uniform in unshifted time over the
 * nested interval (s, 1] (default) or the disjoint (s, t_start], then shifted; t is
 * kept at least `margin` above s.
 */
export const renoiseRange = (ctx: PhaseContext): { lo: number; hi: number } => {
  const { end: s, start, renoise, margin } = ctx.phase;
  const hi = renoise === 'nested' ? 1 : start;
  return { lo: Math.min(s + margin, hi), hi };
};

export const drawRenoiseTimes = (ctx: PhaseContext, n: number, seed: number): tf.Tensor1D => {
  const { lo, hi } = renoiseRange(ctx);
  return sampleTimes(timeRange(lo, hi, ctx.shift), n, seed);
};
