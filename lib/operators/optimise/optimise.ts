import * as tf from '@tensorflow/tfjs-core';
import { OperatorFunction, map } from 'rxjs';
import type { LossStep, StepMetrics, StepKey } from '../../stream/types';
import { Trainer, globalNorm } from '../../optim/trainer';
import { phaseLabel } from '../../phases/label';

export class NonFiniteLossError extends Error {
  constructor(
    readonly key: StepKey,
    readonly role: string,
    readonly what: string,
    readonly value: number,
  ) {
    super(
      `non-finite ${what} (${value}) for role "${role}" at ${phaseLabel(key.phase)}, step ${key.step}: training ` +
        `stopped`,
    );
    this.name = 'NonFiniteLossError';
  }
}

export interface OptimiseOptions {
  /** Whether this step's numbers are read from the device (a host sync). Default: every step. */
  readonly metricsDue?: (key: StepKey) => boolean;
}

/**
 * LossStep → StepMetrics: differentiates the step's loss w.r.t. its role's variables
 * (`tf.variableGrads`), optionally clips the global norm, applies AdamW-style decoupled
 * weight decay and the optimiser update, and disposes everything the step owned.
 * When metrics are due, loss and gradient norm are read in one sync and a non-finite
 * value stops the stream with NonFiniteLossError *before* the update is applied.
 */
export const optimise = (
  trainers: Readonly<Record<string, Trainer>>,
  options: OptimiseOptions = {},
): OperatorFunction<LossStep, StepMetrics> =>
  map((step) => {
    const trainer = trainers[step.role];
    if (trainer === undefined) {
      releaseStep(step);
      throw new Error(`optimise: no trainer for role "${step.role}" (have ${Object.keys(trainers).join(', ')})`);
    }
    const started = performance.now();
    const due = options.metricsDue?.(step.key) ?? true;
    let differentiated: { value: tf.Scalar; grads: tf.NamedTensorMap };
    try {
      differentiated = tf.variableGrads(step.loss, trainer.variables);
    } catch (err) {
      releaseStep(step);
      throw err;
    }
    const { value, grads } = differentiated;
    // the loss closure may have filled extras
    const extraNames = Object.keys(step.extras ?? {});
    // variableGrads lists a role's frozen (non-trainable) variables with a null gradient
    const names = Object.keys(grads).filter((n) => grads[n] != null);
    const norm = globalNorm(names.map((n) => grads[n]));
    try {
      let numbers: number[] | null = null;
      if (due) {
        const packed = tf.stack([value, norm, ...extraNames.map((n) => step.extras![n])]);
        numbers = Array.from(packed.dataSync());
        packed.dispose();
        if (!Number.isFinite(numbers[0])) throw new NonFiniteLossError(step.key, step.role, 'loss', numbers[0]);
        if (!Number.isFinite(numbers[1]))
          throw new NonFiniteLossError(step.key, step.role, 'gradient norm', numbers[1]);
      }
      tf.tidy(() => {
        const scale = trainer.clipNorm > 0 ? tf.minimum(1, tf.div(trainer.clipNorm, tf.add(norm, 1e-12))) : null;
        const update: tf.NamedTensorMap = {};
        for (const n of names) update[n] = scale === null ? grads[n] : tf.mul(grads[n], scale);
        if (trainer.weightDecay > 0)
          for (const v of trainer.variables) v.assign(tf.mul(v, 1 - trainer.lr * trainer.weightDecay));
        trainer.optimizer.applyGradients(update);
      });
      const extras: Record<string, number> = {};
      if (numbers !== null) extraNames.forEach((n, i) => (extras[n] = numbers![2 + i]));
      return {
        key: step.key,
        role: step.role,
        loss: numbers === null ? null : numbers[0],
        gradNorm: numbers === null ? null : numbers[1],
        extras,
        ms: performance.now() - started,
      };
    } finally {
      value.dispose();
      norm.dispose();
      names.forEach((n) => grads[n].dispose());
      releaseStep(step);
    }
  });

/** Disposes what a step owns (its tensors and extras); the step is consumed either way. */
const releaseStep = (step: LossStep): void => {
  step.owned.forEach((t) => t.dispose());
  Object.values(step.extras ?? {}).forEach((t) => t.dispose());
};
