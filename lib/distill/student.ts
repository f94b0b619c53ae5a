/**
 * The distilled few-step student: a mixture of experts that routes each step to its
 * phase's expert. Sampling runs each phase's grid with that phase's expert and the
 * stepper it was trained with (Euler, or x0 prediction + fresh noise), no CFG: NFE = total steps.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExpertPhase } from '../rollout/context';
import { runExperts } from '../rollout/generate';
import { normal } from '../random/draws';
import { randomInts, splitSeed } from '../random/seed';

export interface StudentSample {
  readonly x: tf.Tensor;
  readonly labels: tf.Tensor1D | null;
}

/** Number of function evaluations of one student sample. */
export const studentNfe = (experts: readonly ExpertPhase[]): number =>
  experts.reduce((n, e) => n + e.grid.length - 1, 0);

export const sampleStudent = (
  experts: readonly ExpertPhase[],
  options: { n: number; seed: number; labels?: Int32Array | null },
): StudentSample => {
  if (experts.length === 0) throw new Error('sampleStudent: the student has no experts');
  const first = experts[0].expert;
  const ids =
    options.labels !== undefined
      ? options.labels
      : first.numClasses > 0
        ? randomInts(splitSeed(options.seed, 'labels'), options.n, first.numClasses)
        : null;
  const labels = ids === null ? null : (tf.tensor1d(ids, 'int32') as tf.Tensor1D);
  const z = normal([options.n, ...first.sampleShape], splitSeed(options.seed, 'z'));
  const x = runExperts(experts, z, labels, splitSeed(options.seed, 'steps'));
  z.dispose();
  return { x, labels };
};
