/**
 * Multi-step samplers for a velocity field over a time grid 1 = t_0 > … > t_N = 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VelocityFn } from '../score/velocity';
import { timeVector } from '../score/velocity';
import { eulerStep, heunStep } from '../schedule/tensors';

export type SamplerMethod = 'euler' | 'heun';

/** Integrates dx/dt = v(x, t, c) from grid[0] to grid[N]; each step disposes its intermediates. */
export const sampleFlow = (
  velocity: VelocityFn,
  z: tf.Tensor,
  labels: tf.Tensor | null,
  grid: readonly number[],
  method: SamplerMethod = 'euler',
): tf.Tensor => {
  const B = z.shape[0];
  let x = z.clone();
  for (let i = 0; i + 1 < grid.length; i++) {
    const [t, tNext] = [grid[i], grid[i + 1]];
    const next = tf.tidy(() => {
      const v = (xx: tf.Tensor, tt: number) => velocity(xx, timeVector(tt, B), labels);
      return method === 'euler' ? eulerStep(x, v(x, t), t, tNext) : heunStep(v, x, t, tNext);
    });
    x.dispose();
    x = next;
  }
  return x;
};
