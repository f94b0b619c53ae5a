/**
 * The regression term as a run sets it up (docs/algorithm.md §3): its config, when a run
 * has it, and the (noise, teacher sample) pairs, with the teacher's states at a few-step
 * student's step times, made once per run by the teacher's deterministic sampler.
 */
import * as t from 'io-ts';
import * as tf from '@tensorflow/tfjs-core';
import {
  atMost,
  BatchSize,
  NonNegative,
  NonNegativeInt,
  Positive,
  PositiveInt,
  SamplerSteps,
} from '../config/primitives';
import type { VelocityModel } from '../models/types';
import type { RegressionPairs, RegressionTerm } from '../losses/regression';
import { sampleFlow } from '../samplers/flow';
import { guidedVelocity } from '../score/velocity';
import { timeGrid } from '../schedule/time';
import { normal } from '../random/draws';
import { randomInts, Seed, splitSeed } from '../random/seed';

export const RegressionConfig = t.partial({
  /** λ_reg, the regression loss's weight next to the DMD loss; 0 = none after the warm-up (the default). */
  weight: NonNegative,
  /** Noise–sample pairs made once per run and held in memory (default 4096). */
  pairs: atMost(PositiveInt, 1_000_000, 'the pairs are held in memory'),
  /** Pairs per generator update, drawn with replacement (default 256). */
  batchSize: BatchSize,
  /** Distance d: mean squared error (the default) or mean absolute error. */
  distance: t.keyof({ mse: null, l1: null }),
  /** Euler steps of the teacher's sampler that makes the pairs (default 40). */
  steps: SamplerSteps,
  /** Timestep shift of that sampler's grid (default 1). */
  shift: Positive,
  /**
   * Regression-only generator updates before the first DMD update (default 0): the one-step map is fitted to the
   * teacher's pairs, without the fake score or the scores' evaluations, then distribution matching goes on from it.
   */
  warmup: atMost(NonNegativeInt, 1_000_000, 'warm-up updates'),
  /** Learning rate of the warm-up updates (default: the generator's). */
  warmupLr: Positive,
});
export type RegressionConfig = t.TypeOf<typeof RegressionConfig>;

/** The resolved settings; `weight` 0 means the term is off. */
export interface RegressionSettings {
  readonly weight: number;
  readonly pairs: number;
  readonly batchSize: number;
  readonly distance: 'mse' | 'l1';
  readonly steps: number;
  readonly shift: number;
  readonly warmup: number;
  /** Absent: the generator's learning rate. */
  readonly warmupLr?: number;
}

/**
 * Defaults of the term when a config sets some of its fields: the teacher reference's
 * sampler (40 Euler steps, shift 1) and a pair batch as large as the DMD batch. The weight
 * defaults to off: a run asks for the term.
 */
export const REGRESSION_DEFAULTS: RegressionSettings = {
  weight: 0,
  pairs: 4096,
  batchSize: 256,
  distance: 'mse',
  steps: 40,
  shift: 1,
  warmup: 0,
};

/**
 * The term a method trains with, or null when off (weight 0 and no warm-up). One-step DMD
 * takes the published form: G(z) is the student's whole sample, paired with the teacher's
 * ODE answer. A few-step student (vanilla, SGTS, Phased) takes it step by step with teacher
 * forcing: each step starts from the teacher's state at its time and is pulled towards the
 * teacher's state at the next one; that form is this project's, not the papers'
 * (docs/algorithm.md §3 says what it changes). A run has the term only when its config
 * asks for it.
 */
export const regressionFor = (config: RegressionConfig | undefined): RegressionSettings | null => {
  const r = { ...REGRESSION_DEFAULTS, ...config };
  return r.weight === 0 && r.warmup === 0 ? null : r;
};

/** Pairs sampled per teacher batch when making them. */
export const PAIR_CHUNK = 1024;

/**
 * The teacher sampler's grid cut at the student's interior step times: the union of both grids, split at each
 * stop, so that the teacher lands on every student time exactly. No stops: the teacher's grid as it is.
 */
export const pathSegments = (teacherGrid: readonly number[], stops: readonly number[]): number[][] => {
  const merged = [...new Set([...teacherGrid, ...stops])].sort((a, b) => b - a);
  const cuts = [merged[0], ...stops, merged[merged.length - 1]];
  return cuts.slice(1).map((end, i) => merged.filter((t) => t <= cuts[i] && t >= end));
};

/**
 * The student's step times as the pairs need them: a grid strictly descending from at most 1 to 0. The teacher's
 * path is kept at every time but 1 (z) and 0 (y); a grid that starts a hair below 1 (a shifted phase boundary
 * rounded) gets its first state from a teacher step of that size.
 */
const pathTimes = (times: readonly number[]): number[] => {
  const ok = times.length >= 2 && times[0] <= 1 && times[times.length - 1] === 0;
  if (!ok || times.some((t, i) => i > 0 && !(t < times[i - 1])))
    throw new Error(
      `regression pairs: the student's step grid must descend strictly from 1 (or less) to 0, got [${times}]`,
    );
  return times.filter((t) => t !== 1 && t !== 0);
};

/**
 * The pairs: noise z and labels c drawn from (seed, 'regression'), y = the teacher's
 * Euler sample from z with CFG g over `timeGrid(steps, shift)`, no gradient. Given the
 * student's step grid `times` (default [1, 0], one step), the teacher's grid is cut at
 * the student's times and the states there are kept as the pairs' path.
 */
export const teacherPairs = (
  teacher: VelocityModel,
  o: {
    readonly n: number;
    readonly seed: Seed;
    readonly guidance: number;
    readonly steps: number;
    readonly shift: number;
    readonly times?: readonly number[];
  },
): RegressionPairs => {
  const stops = pathTimes(o.times ?? [1, 0]);
  const seed = splitSeed(o.seed, 'regression');
  const C = teacher.numClasses;
  const z = normal([o.n, ...teacher.sampleShape], splitSeed(seed, 'z'));
  const labels = C > 0 ? (tf.tensor1d(randomInts(splitSeed(seed, 'c'), o.n, C), 'int32') as tf.Tensor1D) : null;
  const v = guidedVelocity(teacher, o.guidance);
  const segments = pathSegments(timeGrid(o.steps, o.shift), stops);
  // in chunks, so that a large pair set never runs the teacher on one huge batch; row k holds chunk k's states
  const rows: tf.Tensor[][] = [];
  for (let i = 0; i < o.n; i += PAIR_CHUNK) {
    const m = Math.min(PAIR_CHUNK, o.n - i);
    const lc = labels === null ? null : tf.slice(labels, i, m);
    let x = tf.slice(z, i, m);
    const row: tf.Tensor[] = [];
    segments.forEach((grid, j) => {
      const next = sampleFlow(v, x, lc, grid, 'euler');
      if (j === 0) x.dispose();
      else row.push(x);
      x = next;
    });
    row.push(x);
    lc?.dispose();
    rows.push(row);
  }
  const joined = segments.map((_, j) => {
    const parts = rows.map((r) => r[j]);
    if (parts.length === 1) return parts[0];
    const all = tf.concat(parts);
    tf.dispose(parts);
    return all;
  });
  const y = joined[joined.length - 1];
  const states = joined.slice(0, -1);
  return { z, labels, y, ...(stops.length > 0 ? { path: { times: stops, states } } : {}) };
};

/** The term a phase applies: resolved settings and the run's pairs. */
export const regressionTerm = (r: RegressionSettings, pairs: RegressionPairs): RegressionTerm => ({
  pairs,
  weight: r.weight,
  batchSize: r.batchSize,
  distance: r.distance,
  warmup: r.warmup,
  ...(r.warmupLr === undefined ? {} : { warmupLr: r.warmupLr }),
});
