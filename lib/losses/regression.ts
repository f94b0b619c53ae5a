/**
 * The regression term of one-step DMD (Yin et al., "One-step Diffusion with Distribution
 * Matching Distillation", CVPR 2024, §3.3): the generator is also pulled towards the
 * teacher's deterministic answer for a fixed set of noises. Reverse-KL distribution
 * matching alone is mode-seeking; this term anchors every noise to the mode the teacher's
 * ODE sends it to, so dropped modes are pushed back (docs/algorithm.md §3). DMD2 removed it.
 *
 * A few-step student gets the same anchor step by step: each of its steps, started from the
 * teacher's ODE state at the step's time, is pulled towards the teacher's state at the next
 * step time (teacher forcing, so no step differentiates through another). For one step from
 * t = 1 to 0 this is the one-step term exactly.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The distance d of the regression loss: mean squared or mean absolute error (the paper's LPIPS is for images). */
export type RegressionDistance = 'mse' | 'l1';

/**
 * Pairs (z, c, y) made once per run: y is the teacher's deterministic sample from noise z
 * and label c (c null when unconditional). Owned by the run that made them.
 */
export interface RegressionPairs {
  readonly z: tf.Tensor;
  readonly labels: tf.Tensor1D | null;
  readonly y: tf.Tensor;
  /**
   * The teacher's ODE states between z (t = 1) and y (t = 0) at the student's other step times, for a few-step
   * student: states[i] at times[i], times descending in (0, 1). Absent for one step from 1 to 0.
   */
  readonly path?: { readonly times: readonly number[]; readonly states: readonly tf.Tensor[] };
}

/** The regression term as a phase uses it: its pairs, weight λ_reg, minibatch size and distance. */
export interface RegressionTerm {
  readonly pairs: RegressionPairs;
  readonly weight: number;
  readonly batchSize: number;
  readonly distance: RegressionDistance;
  /** Regression-only generator updates before the first DMD update (absent or 0: none). */
  readonly warmup?: number;
  /** The warm-up's learning rate (absent: the generator's). */
  readonly warmupLr?: number;
}

/**
 * L_reg = E_(z,y) d(G(z), y), over a minibatch of pairs, averaged over every element:
 *   mse  d = mean (x − y)²
 *   l1   d = mean |x − y|
 * where x = G(z) is the one-step generator's sample.
 */
export const regressionLoss = (x: tf.Tensor, y: tf.Tensor, distance: RegressionDistance): tf.Scalar =>
  tf.tidy(() => {
    const diff = tf.sub(x, y);
    return tf.mean(distance === 'mse' ? tf.square(diff) : tf.abs(diff)) as tf.Scalar;
  });

/** Frees a run's pairs. */
export const disposePairs = (p: RegressionPairs): void => {
  p.z.dispose();
  p.labels?.dispose();
  p.y.dispose();
  p.path?.states.forEach((x) => x.dispose());
};

/**
 * The teacher's state of a pair set at time t: z at t = 1, y at t = 0, else the path state at t; an error when
 * the pairs hold no state at t (they were made for another step grid).
 */
export const pairState = (p: RegressionPairs, t: number): tf.Tensor => {
  if (t === 1) return p.z;
  if (t === 0) return p.y;
  const i = p.path?.times.indexOf(t) ?? -1;
  if (i < 0) throw new Error(`regression pairs: no teacher state at t = ${t}; they were made for another step grid`);
  return p.path!.states[i];
};
