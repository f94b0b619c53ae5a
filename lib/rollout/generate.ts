/**
 * The generator side of a phase, as tensor functions (no stream logic): the phase input
 * from the earlier experts, the within-phase steps, and the SGTS jump to the phase end.
 *
 * Steps between samples are either deterministic Euler or DMD2's x0 prediction followed
 * by fresh noise (`Stepper`); a student samples with the stepper it was trained with.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VelocityModel } from '../models/types';
import type { ExpertPhase, PhaseContext, Stepper } from './context';
import { timeVector } from '../score/velocity';
import { eulerStep, x0NoiseStep } from '../schedule/tensors';
import { normal } from '../random/draws';
import { randomInts, randomInt, Seed, splitSeed } from '../random/seed';

/**
 * One sampler step from t to t' given v = G(x_t, t):
 *   euler     x_{t'} = x_t + (t' − t)·v
 *   x0-noise  x_{t'} = (1 − t')·(x_t − t·v) + t'·ε',  ε' drawn from `noiseSeed`
 */
export const samplerStep = (
  stepper: Stepper,
  x: tf.Tensor,
  v: tf.Tensor,
  t: number,
  tNext: number,
  noiseSeed: Seed,
): tf.Tensor =>
  stepper === 'euler'
    ? eulerStep(x, v, t, tNext)
    : tf.tidy(() => x0NoiseStep(x, v, t, tNext, normal(x.shape, noiseSeed)));

/** Steps over `grid[from..to]` with one expert; step i draws its fresh noise (x0-noise) from (seed, i). */
export const expertSteps = (
  expert: VelocityModel,
  x: tf.Tensor,
  labels: tf.Tensor | null,
  grid: readonly number[],
  opts: { stepper?: Stepper; seed?: Seed; from?: number; to?: number } = {},
): tf.Tensor => {
  const { stepper = 'euler', seed = 1, from = 0, to = grid.length - 1 } = opts;
  let cur = x.clone();
  for (let i = from; i < to; i++) {
    const next = tf.tidy(() =>
      samplerStep(
        stepper,
        cur,
        expert.apply(cur, timeVector(grid[i], cur.shape[0]), labels),
        grid[i],
        grid[i + 1],
        splitSeed(seed, 'step', i),
      ),
    );
    cur.dispose();
    cur = next;
  }
  return cur;
};

/**
 * Runs the experts of earlier phases in order (no gradient is taken: they are frozen); expert k's noise from (seed, k).
 */
export const runExperts = (
  experts: readonly ExpertPhase[],
  z: tf.Tensor,
  labels: tf.Tensor | null,
  seed: Seed = 1,
): tf.Tensor =>
  experts.reduce((x, e, k) => {
    const next = expertSteps(e.expert, x, labels, e.grid, {
      stepper: e.stepper ?? 'euler',
      seed: splitSeed(seed, 'expert', k),
    });
    x.dispose();
    return next;
  }, z.clone());

/**
 * The random draws that start a generator rollout: z, labels c, the SGTS exit step j, and the seed of its step noise.
 */
export interface Rollout {
  readonly z: tf.Tensor;
  readonly labels: tf.Tensor1D | null;
  /** Exit step j ∈ {0..steps−1} (SGTS); for full back-propagation, steps. */
  readonly exit: number;
  /** Seed of the fresh noise of x0-noise steps (unused by Euler). */
  readonly seed: Seed;
}

export const drawRollout = (ctx: PhaseContext, batch: number, seed: Seed): Rollout => {
  const C = ctx.teacher.numClasses;
  return {
    z: normal([batch, ...ctx.teacher.sampleShape], splitSeed(seed, 'z')),
    labels: C > 0 ? (tf.tensor1d(randomInts(splitSeed(seed, 'c'), batch, C), 'int32') as tf.Tensor1D) : null,
    exit: ctx.backprop === 'sgts' ? randomInt(splitSeed(seed, 'exit'), ctx.phase.steps) : ctx.phase.steps,
    seed: splitSeed(seed, 'noise'),
  };
};

/** Noise seed of the running phase's own steps (the earlier experts use (seed, 'expert', k)). */
const phaseSeed = (ctx: PhaseContext, r: Rollout): Seed => splitSeed(r.seed, 'expert', ctx.earlier.length);

/**
 * Everything before the differentiated part, without gradient: the phase input
 * x_{t_start} (earlier experts), then — for SGTS — the generator's first j steps.
 * Returns x at grid[j] (full back-propagation: x at grid[0]).
 */
export const rolloutPrefix = (ctx: PhaseContext, r: Rollout): tf.Tensor => {
  const xStart = runExperts(ctx.earlier, r.z, r.labels, r.seed);
  if (ctx.backprop === 'full' || r.exit === 0) return xStart;
  const xj = expertSteps(ctx.generator, xStart, r.labels, ctx.phase.grid, {
    stepper: ctx.stepper,
    seed: phaseSeed(ctx, r),
    to: r.exit,
  });
  xStart.dispose();
  return xj;
};

/** The generator's output at the phase end and its own x0 prediction, from the same velocity. */
export interface PhaseEndSample {
  /** x_s: the sample handed to the next phase (s = 0: the student's output). */
  readonly xs: tf.Tensor;
  /** x0_G = x_{t_j} − t_j·G(x_{t_j}, t_j): the x0 prediction of the step that produced x_s. */
  readonly x0: tf.Tensor;
}

/**
 * The differentiated part, ending at the phase end s:
 *   SGTS: v = G(x_{t_j}, t_j);  x0_G = x_{t_j} − t_j·v;  x_s = one step from t_j straight to s
 *         (Euler: x_{t_j} + (s − t_j)·v; x0-noise: (1 − s)·x0_G + s·ε')
 *   full: every remaining step of the phase with gradient (vanilla few-step DMD); x0_G from the last one.
 */
export const rolloutEnd = (ctx: PhaseContext, prefix: tf.Tensor, r: Rollout): PhaseEndSample => {
  const { grid, end: s } = ctx.phase;
  const seed = phaseSeed(ctx, r);
  const j = ctx.backprop === 'full' ? grid.length - 2 : r.exit;
  const xj =
    ctx.backprop === 'full'
      ? expertSteps(ctx.generator, prefix, r.labels, grid, { stepper: ctx.stepper, seed, to: j })
      : prefix;
  const tj = grid[j];
  return tf.tidy(() => {
    const v = ctx.generator.apply(xj, timeVector(tj, xj.shape[0]), r.labels);
    const xs = samplerStep(ctx.stepper, xj, v, tj, s, splitSeed(seed, 'step', j));
    const x0 = tf.sub(xj, tf.mul(tj, v));
    if (xj !== prefix) xj.dispose();
    return { xs, x0 };
  });
};

/** x_s only (the fake score's training sample and the x_s-space gradient forms). */
export const rolloutToPhaseEnd = (ctx: PhaseContext, prefix: tf.Tensor, r: Rollout): tf.Tensor => {
  const { xs, x0 } = rolloutEnd(ctx, prefix, r);
  x0.dispose();
  return xs;
};

/**
 * The boundary sample a full inference rollout produces at the phase end: earlier
 * experts, then every step of this phase with the live generator, no gradient. This is
 * what the sampler really hands on at s.
 */
export const inferenceRollout = (ctx: PhaseContext, r: Rollout): tf.Tensor => {
  const xStart = runExperts(ctx.earlier, r.z, r.labels, r.seed);
  const xs = expertSteps(ctx.generator, xStart, r.labels, ctx.phase.grid, {
    stepper: ctx.stepper,
    seed: phaseSeed(ctx, r),
  });
  xStart.dispose();
  return xs;
};
