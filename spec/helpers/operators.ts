/** Plain-tensor fixtures for the operator specs (not a spec file itself). */
import * as tf from '@tensorflow/tfjs-core';
import { TestScheduler } from 'rxjs/testing';
import type { Batch, StepKey } from '../../lib/stream/types';
import { VelocityMlp } from '../../lib/models/mlp';
import { MlpConfig } from '../../lib/models/config';
import { decodeOrThrow } from '../../lib/config/report';

export const key = (step: number, seed = 1, phase = 0): StepKey => ({ seed, phase, step });

/** A batch from plain numbers: x0 [B, D] row-major and optional int labels. */
export const batchOf = (k: StepKey, x0: number[][], labels: number[] | null = null): Batch => ({
  key: k,
  x0: tf.tensor2d(x0),
  labels: labels === null ? null : (tf.tensor1d(labels, 'int32') as tf.Tensor1D),
});

/** A small conditional MLP (2-D data, 3 classes + ∅). */
export const smallMlp = (numClasses = 3, seed = 1): VelocityMlp =>
  new VelocityMlp(
    decodeOrThrow(
      MlpConfig,
      { kind: 'mlp', dim: 2, hidden: [16, 16], timeEmbedDim: 8, numClasses, seed },
      'mlp config',
    ),
  );

/** A TestScheduler whose deep-equality is jest's toEqual. */
export const marbles = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
