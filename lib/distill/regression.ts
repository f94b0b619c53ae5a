/**
 * The regression term of one-step DMD as a run sets it up (docs/algorithm.md §3): its
 * config, which methods it applies to, and the (noise, teacher sample) pairs, made once
 * per run by the teacher's deterministic sampler.
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
import { ConfigError } from '../config/report';
import type { VelocityModel } from '../models/types';
import type { RegressionPairs, RegressionTerm } from '../losses/regression';
import { sampleFlow } from '../samplers/flow';
import { guidedVelocity } from '../score/velocity';
import { timeGrid } from '../schedule/time';
import { normal } from '../random/draws';
import { randomInts, Seed, splitSeed } from '../random/seed';

export const RegressionConfig = t.partial({
  /** λ_reg, the regression loss's weight next to the DMD loss; 0 = off (the default). */
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
 * The term a method trains with, or null when off. It is defined for one-step DMD only:
 * there G(z) is the student's whole sample, the thing the teacher's ODE answer is paired
 * with. A few-step student reaches its sample through a chain (SGTS, Phased) that the
 * term would have to differentiate or truncate, which is no published form; a config
 * that asks for it on another method is refused rather than silently ignored.
 */
export const regressionFor = (method: string, config: RegressionConfig | undefined): RegressionSettings | null => {
  const r = { ...REGRESSION_DEFAULTS, ...config };
  if (r.weight === 0) return null;
  if (method !== 'dmd')
    throw new ConfigError('distill config', [
      {
        path: 'regression.weight',
        message: `the regression term is defined for method "dmd" only; method is "${method}": leave it out or set 0`,
      },
    ]);
  return r;
};

/** Pairs sampled per teacher batch when making them. */
export const PAIR_CHUNK = 1024;

/**
 * The pairs: noise z and labels c drawn from (seed, 'regression'), y = the teacher's
 * Euler sample from z with CFG g over `timeGrid(steps, shift)`, no gradient.
 */
export const teacherPairs = (
  teacher: VelocityModel,
  o: { readonly n: number; readonly seed: Seed; readonly guidance: number; readonly steps: number; shift: number },
): RegressionPairs => {
  const seed = splitSeed(o.seed, 'regression');
  const C = teacher.numClasses;
  const z = normal([o.n, ...teacher.sampleShape], splitSeed(seed, 'z'));
  const labels = C > 0 ? (tf.tensor1d(randomInts(splitSeed(seed, 'c'), o.n, C), 'int32') as tf.Tensor1D) : null;
  const v = guidedVelocity(teacher, o.guidance);
  const grid = timeGrid(o.steps, o.shift);
  // in chunks, so that a large pair set never runs the teacher on one huge batch
  const chunks: tf.Tensor[] = [];
  for (let i = 0; i < o.n; i += PAIR_CHUNK) {
    const m = Math.min(PAIR_CHUNK, o.n - i);
    const zc = tf.slice(z, i, m);
    const lc = labels === null ? null : tf.slice(labels, i, m);
    chunks.push(sampleFlow(v, zc, lc, grid, 'euler'));
    tf.dispose([zc, ...(lc ? [lc] : [])]);
  }
  const y = chunks.length === 1 ? chunks[0] : tf.concat(chunks);
  if (chunks.length > 1) tf.dispose(chunks);
  return { z, labels, y };
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
