/**
 * Test models with closed-form velocities, for the distillation specs (not a spec file).
 *
 * Gaussian data N(μ, diag(σ²)) under the rectified-flow forward process
 * x_t = a·x0 + t·ε (a = 1 − t, ε ~ N(0, I)), per dimension:
 *   marginal        p_t = N(a·μ, V_t),  V_t = a²σ² + t²
 *   posterior means E[x0 | x_t] = μ + (a·σ²/V_t)·(x_t − a·μ),   E[ε | x_t] = (t/V_t)·(x_t − a·μ)
 *   velocity        v(x_t, t) = E[ε − x0 | x_t] = ((t − a·σ²)/V_t)·(x_t − a·μ) − μ
 *   score           ∇log p_t(x_t) = −(x_t − a·μ)/V_t
 * Check against §1: x_t + a·v = (x_t − a·μ)·(V_t + a·t − a²σ²)/V_t = (x_t − a·μ)·t/V_t
 * (V_t + a·t − a²σ² = t² + a·t = t), so −(x_t + a·v)/t is the score above.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Params } from '../../lib/models/params';
import type { VelocityModel } from '../../lib/models/types';
import type { ModelConfig } from '../../lib/models/config';

export interface Gaussian {
  readonly mu: readonly number[];
  readonly sigma: readonly number[];
}

/** Host (float64) closed forms, per dimension d. */
export const gaussianVelocity = (g: Gaussian, x: number, t: number, d: number): number => {
  const a = 1 - t;
  const V = a * a * g.sigma[d] ** 2 + t * t;
  return ((t - a * g.sigma[d] ** 2) / V) * (x - a * g.mu[d]) - g.mu[d];
};

export const gaussianScore = (g: Gaussian, x: number, t: number, d: number): number => {
  const a = 1 - t;
  return -(x - a * g.mu[d]) / (a * a * g.sigma[d] ** 2 + t * t);
};

export const gaussianLogDensity = (g: Gaussian, x: number, t: number, d: number): number => {
  const a = 1 - t;
  const V = a * a * g.sigma[d] ** 2 + t * t;
  return -0.5 * Math.log(2 * Math.PI * V) - (x - a * g.mu[d]) ** 2 / (2 * V);
};

/** A VelocityModel whose velocity is the exact one of N(μ, diag(σ²)); no parameters, unconditional. */
export class GaussianVelocityModel implements VelocityModel {
  readonly params = new Params();
  readonly numClasses = 0;
  readonly sampleShape: readonly number[];
  readonly config: ModelConfig;
  calls = 0;

  constructor(public g: Gaussian) {
    this.sampleShape = [g.mu.length];
    this.config = { kind: 'mlp', dim: g.mu.length } as ModelConfig;
  }

  apply(xt: tf.Tensor, t: tf.Tensor): tf.Tensor {
    this.calls++;
    return tf.tidy(() => {
      const D = this.g.mu.length;
      const mu = tf.tensor2d([...this.g.mu], [1, D]);
      const s2 = tf.square(tf.tensor2d([...this.g.sigma], [1, D]));
      const tt = tf.reshape(t, [-1, 1]);
      const a = tf.sub(1, tt);
      const V = tf.add(tf.mul(tf.square(a), s2), tf.square(tt));
      const centred = tf.sub(xt, tf.mul(a, mu));
      return tf.sub(tf.mul(tf.div(tf.sub(tt, tf.mul(a, s2)), V), centred), mu);
    });
  }

  clone(): GaussianVelocityModel {
    return new GaussianVelocityModel(this.g);
  }

  copyWeightsFrom(other: VelocityModel): void {
    if (other instanceof GaussianVelocityModel) this.g = other.g;
  }

  dispose(): void {
    this.params.dispose();
  }
}

/**
 * A generator for gradient-path checks: one trainable linear velocity per grid step,
 * v = a_k·x + b_k at t = grid[k] (k found from t's first entry, which the samplers
 * fill with one value). So a gradient w.r.t. a_k / b_k shows that step k was on the tape.
 */
export class PerStepLinearModel implements VelocityModel {
  readonly params = new Params();
  readonly numClasses = 0;
  readonly sampleShape: readonly number[];
  readonly config: ModelConfig;
  /** One entry per apply: the step index and whether the tape was recording. */
  readonly log: { step: number; tape: boolean }[] = [];

  constructor(
    readonly grid: readonly number[],
    readonly dim: number,
    init: (k: number) => { a: number; b: number },
  ) {
    this.sampleShape = [dim];
    this.config = { kind: 'mlp', dim } as ModelConfig;
    grid.slice(0, -1).forEach((_, k) => {
      const { a, b } = init(k);
      this.params.add(`a${k}`, tf.scalar(a));
      this.params.add(`b${k}`, tf.fill([dim], b));
    });
  }

  stepOf(t: number): number {
    const k = this.grid.findIndex((g) => Math.abs(g - t) < 1e-6);
    if (k < 0 || k >= this.grid.length - 1)
      throw new Error(`PerStepLinearModel: t = ${t} is not a step time of [${this.grid}]`);
    return k;
  }

  apply(xt: tf.Tensor, t: tf.Tensor): tf.Tensor {
    const k = this.stepOf((t.dataSync() as Float32Array)[0]);
    this.log.push({ step: k, tape: tf.engine().isTapeOn() });
    return tf.tidy(() => tf.add(tf.mul(this.params.get(`a${k}`), xt), this.params.get(`b${k}`)));
  }

  clone(): VelocityModel {
    throw new Error('PerStepLinearModel: not cloneable');
  }

  copyWeightsFrom(): void {
    throw new Error('PerStepLinearModel: not copyable');
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** Wraps a model and records, for each apply, whether the gradient tape was recording and the batch size. */
export class TapeProbe implements VelocityModel {
  readonly log: { tape: boolean; batch: number; labels: number[] | null }[] = [];
  constructor(readonly inner: VelocityModel) {}
  get config() {
    return this.inner.config;
  }
  get params() {
    return this.inner.params;
  }
  get sampleShape() {
    return this.inner.sampleShape;
  }
  get numClasses() {
    return this.inner.numClasses;
  }
  apply(xt: tf.Tensor, t: tf.Tensor, labels: tf.Tensor | null): tf.Tensor {
    this.log.push({
      tape: tf.engine().isTapeOn(),
      batch: xt.shape[0],
      labels: labels === null ? null : Array.from(labels.dataSync()),
    });
    return this.inner.apply(xt, t, labels);
  }
  clone(): VelocityModel {
    return new TapeProbe(this.inner.clone());
  }
  copyWeightsFrom(other: VelocityModel): void {
    this.inner.copyWeightsFrom(other);
  }
  dispose(): void {
    this.inner.dispose();
  }
}

import { resolvePhase, ResolvedPhase } from '../../lib/phases/resolve';
import type { PhaseSegment } from '../../lib/phases/segment';
import type { GeneratorBackprop, PhaseContext } from '../../lib/rollout/context';
import type { GeneratorGradient } from '../../lib/losses/dmd';

/** A one-phase (1 → 0) resolved phase with small defaults. */
export const onePhase = (
  steps: number,
  extra: { readonly [K in keyof PhaseSegment]?: unknown } = {},
  shift = 5,
): ResolvedPhase =>
  resolvePhase(
    { interval: { start: 1, end: 0 }, steps, iterations: 4, batchSize: 16, ...extra } as PhaseSegment,
    0,
    shift,
  );

export const contextOf = (
  roles: { teacher: VelocityModel; generator: VelocityModel; fake: VelocityModel },
  phase: ResolvedPhase,
  backprop: GeneratorBackprop = 'sgts',
  gradient: GeneratorGradient = 'paper',
  shift = 5,
): PhaseContext => ({ ...roles, earlier: [], phase, shift, backprop, gradient, stepper: 'euler', fakeTracks: 'exit' });
