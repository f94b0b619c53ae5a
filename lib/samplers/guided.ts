/**
 * The teacher's sampler: z ~ N(0, I) at t = 1, then Euler or Heun with classifier-free
 * guidance over the shifted grid to t = 0,
 *   x_{t'} = x_t + (t' − t)·v_cfg(x_t, t, c),   v_cfg = v(x, t, ∅) + g·(v(x, t, c) − v(x, t, ∅)).
 * Browser-safe: what an exported teacher runs in a page, and what the training pipelines run.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VelocityModel } from '../models/types';
import { sampleFlow, SamplerMethod } from './flow';
import { guidedVelocity } from '../score/velocity';
import { timeGrid } from '../schedule/time';
import { normal } from '../random/draws';
import { randomInts, splitSeed } from '../random/seed';

export interface GuidedSampler {
  readonly steps: number;
  readonly method: SamplerMethod;
  /** CFG scale g (1 = no guidance). */
  readonly guidance: number;
  /** Timestep shift S of the grid. */
  readonly shift: number;
}

export interface GuidedSampleOptions {
  readonly n: number;
  readonly seed: number;
  /** Class ids per sample; default: uniform over classes (null when unconditional). */
  readonly labels?: Int32Array | null;
  readonly sampler: GuidedSampler;
}

export const sampleGuided = (
  model: VelocityModel,
  o: GuidedSampleOptions,
): { x: tf.Tensor; labels: tf.Tensor1D | null } => {
  const ids =
    o.labels !== undefined
      ? o.labels
      : model.numClasses > 0
        ? randomInts(splitSeed(o.seed, 'labels'), o.n, model.numClasses)
        : null;
  const labels = ids === null ? null : (tf.tensor1d(ids, 'int32') as tf.Tensor1D);
  const z = normal([o.n, ...model.sampleShape], splitSeed(o.seed, 'z'));
  const x = sampleFlow(
    guidedVelocity(model, o.sampler.guidance),
    z,
    labels,
    timeGrid(o.sampler.steps, o.sampler.shift),
    o.sampler.method,
  );
  z.dispose();
  return { x, labels };
};
