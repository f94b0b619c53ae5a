/**
 * The generator side of a phase, as tensor functions (no stream logic):
 * the phase input from the earlier experts, the within-phase Euler steps, and the
 * SGTS jump to the phase end.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VelocityModel } from '../models/types';
import type { ExpertPhase, PhaseContext } from './context';
import { timeVector } from '../score/velocity';
import { eulerStep } from '../schedule/tensors';
import { normal } from '../random/draws';
import { randomInts, randomInt, Seed, splitSeed } from '../random/seed';

/** Euler over `grid[from..to]` with one expert: x_{t'} = x_t + (t' − t)·G(x_t, t). */
export const eulerSteps = (expert: VelocityModel, x: tf.Tensor, labels: tf.Tensor | null, grid: readonly number[], from = 0, to = grid.length - 1): tf.Tensor => {
  let cur = x.clone();
  for (let i = from; i < to; i++) {
    const next = tf.tidy(() => eulerStep(cur, expert.apply(cur, timeVector(grid[i], cur.shape[0]), labels), grid[i], grid[i + 1]));
    cur.dispose();
    cur = next;
  }
  return cur;
};

/** Runs the experts of earlier phases in order (no gradient is taken: they are frozen). */
export const runExperts = (experts: readonly ExpertPhase[], z: tf.Tensor, labels: tf.Tensor | null): tf.Tensor =>
  experts.reduce((x, e) => {
    const next = eulerSteps(e.expert, x, labels, e.grid);
    x.dispose();
    return next;
  }, z.clone());

/** The random draws that start a generator rollout: z, labels c, and the SGTS exit step j. */
export interface Rollout {
  readonly z: tf.Tensor;
  readonly labels: tf.Tensor1D | null;
  /** Exit step j ∈ {0..steps−1} (SGTS); for full back-propagation, steps. */
  readonly exit: number;
}

export const drawRollout = (ctx: PhaseContext, batch: number, seed: Seed): Rollout => {
  const C = ctx.teacher.numClasses;
  return {
    z: normal([batch, ...ctx.teacher.sampleShape], splitSeed(seed, 'z')),
    labels: C > 0 ? (tf.tensor1d(randomInts(splitSeed(seed, 'c'), batch, C), 'int32') as tf.Tensor1D) : null,
    exit: ctx.backprop === 'sgts' ? randomInt(splitSeed(seed, 'exit'), ctx.phase.steps) : ctx.phase.steps,
  };
};

/**
 * Everything before the differentiated part, without gradient: the phase input
 * x_{t_start} (earlier experts), then — for SGTS — the generator's first j steps.
 * Returns x at grid[j] (full back-propagation: x at grid[0]).
 */
export const rolloutPrefix = (ctx: PhaseContext, r: Rollout): tf.Tensor => {
  const xStart = runExperts(ctx.earlier, r.z, r.labels);
  if (ctx.backprop === 'full' || r.exit === 0) return xStart;
  const xj = eulerSteps(ctx.generator, xStart, r.labels, ctx.phase.grid, 0, r.exit);
  xStart.dispose();
  return xj;
};

/**
 * The differentiated part, ending at the phase end s:
 *   SGTS: x_s = x_{t_j} + (s − t_j)·G(x_{t_j}, t_j)   (jump straight to s)
 *   full: Euler through every remaining step of the phase, with gradient (vanilla few-step DMD).
 */
export const rolloutToPhaseEnd = (ctx: PhaseContext, prefix: tf.Tensor, r: Rollout): tf.Tensor => {
  const { grid, end: s } = ctx.phase;
  if (ctx.backprop === 'full') return eulerSteps(ctx.generator, prefix, r.labels, grid);
  const tj = grid[r.exit];
  return tf.tidy(() => eulerStep(prefix, ctx.generator.apply(prefix, timeVector(tj, prefix.shape[0]), r.labels), tj, s));
};
