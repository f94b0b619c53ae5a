/**
 * The typed elements that flow through a training stream. Each element owns its
 * tensors: an operator that passes a tensor on must not dispose it; one that drops a
 * tensor disposes it (see `disposeTensors`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Seed, splitSeed } from '../random/seed';
import type { DataBatch } from '../data/types';

/** Where a step sits in a run: randomness is a pure function of this key. */
export interface StepKey {
  readonly seed: Seed;
  readonly phase: number;
  readonly step: number;
}

/** The seed of one random draw of a step: (run seed, phase, step, role…). */
export const drawSeed = (key: StepKey, ...role: ReadonlyArray<string | number>): Seed =>
  splitSeed(key.seed, 'phase', key.phase, 'step', key.step, ...role);

/** Data for one step. */
export interface Batch extends DataBatch {
  readonly key: StepKey;
}

/** A batch with per-sample times t [B]. */
export interface TimedBatch extends Batch {
  readonly t: tf.Tensor1D;
}

/** A batch after the forward process: x_t = (1 − t)·x0 + t·ε. */
export interface NoisedBatch extends TimedBatch {
  readonly eps: tf.Tensor;
  readonly xt: tf.Tensor;
}

/** A noised batch with a model's velocity prediction v(x_t, t, c). */
export interface ScoredBatch extends NoisedBatch {
  readonly v: tf.Tensor;
}

/**
 * A differentiable loss for one optimiser step. `loss` is run inside
 * `tf.variableGrads` by the optimise operator, which then disposes `owned`.
 */
export interface LossStep {
  readonly key: StepKey;
  /** Which trainable role this loss updates ("teacher", "generator", "fake", …). */
  readonly role: string;
  readonly loss: () => tf.Scalar;
  readonly owned: readonly tf.Tensor[];
  /** Extra scalars to report with the metrics; the loss closure may fill it (wrap in tf.keep). Owned by the step. */
  readonly extras?: Record<string, tf.Scalar>;
}

/** What an optimiser step reports. Numbers are read from the device only when due. */
export interface StepMetrics {
  readonly key: StepKey;
  readonly role: string;
  /** Null when metrics were not due at this step (no host sync). */
  readonly loss: number | null;
  readonly gradNorm: number | null;
  readonly extras: Readonly<Record<string, number>>;
  /** Wall time of the step, ms. */
  readonly ms: number;
}

const isTensor = (v: unknown): v is tf.Tensor => v instanceof tf.Tensor;

/** Disposes every tensor held directly (or in an array / record) by an element. */
export const disposeTensors = (element: object): void => {
  for (const v of Object.values(element)) {
    if (isTensor(v)) v.dispose();
    else if (Array.isArray(v)) v.forEach((u) => isTensor(u) && u.dispose());
    else if (
      v !== null &&
      typeof v === 'object' &&
      !(v instanceof Function) &&
      Object.getPrototypeOf(v) === Object.prototype
    ) {
      for (const u of Object.values(v)) if (isTensor(u)) u.dispose();
    }
  }
};

/** The tensors of an element that are not kept in `next` (so an operator can drop exactly those). */
export const tensorsOf = (element: object): tf.Tensor[] => Object.values(element).filter(isTensor);
