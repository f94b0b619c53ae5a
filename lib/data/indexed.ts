/**
 * A dataset of N stored examples, drawn with replacement by an explicit seed:
 * indices = randomInts(seed, B, N), gathered on the host into one Float32Array, then a
 * tensor. Same seed → same batch on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset, DataBatch } from './types';
import { randomInts } from '../random/seed';
import type { Seed } from '../random/seed';

export interface IndexedDataset extends Dataset {
  /** The examples at the given indices, in order (evaluation sets, nearest neighbours). */
  gather(indices: ArrayLike<number>): DataBatch;
}

export interface IndexedSource {
  readonly name: string;
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  readonly size: number;
  /** Int labels in [0, numClasses), one per example; null = unlabelled. */
  readonly labels: ArrayLike<number> | null;
  readonly scaling?: Dataset['scaling'];
  readonly notes?: Dataset['notes'];
  readonly classNames?: Dataset['classNames'];
  /** Writes example i (∏ sampleShape floats) into out at offset `at`. */
  readonly copyRow: (i: number, out: Float32Array, at: number) => void;
}

export const indexedDataset = (src: IndexedSource): IndexedDataset => {
  const rowSize = src.sampleShape.reduce((a, b) => a * b, 1);
  const gather = (indices: ArrayLike<number>): DataBatch => {
    const b = indices.length;
    const values = new Float32Array(b * rowSize);
    const ids = new Int32Array(b);
    for (let k = 0; k < b; k++) {
      const i = indices[k];
      if (!Number.isInteger(i) || i < 0 || i >= src.size)
        throw new RangeError(`${src.name}: index ${i} outside [0, ${src.size})`);
      src.copyRow(i, values, k * rowSize);
      if (src.labels !== null) ids[k] = src.labels[i];
    }
    return {
      x0: tf.tensor(values, [b, ...src.sampleShape], 'float32'),
      labels: src.labels === null ? null : tf.tensor1d(ids, 'int32'),
    };
  };
  return {
    name: src.name,
    sampleShape: src.sampleShape,
    numClasses: src.numClasses,
    size: src.size,
    ...(src.scaling !== undefined ? { scaling: src.scaling } : {}),
    ...(src.notes !== undefined ? { notes: src.notes } : {}),
    ...(src.classNames !== undefined ? { classNames: src.classNames } : {}),
    gather,
    sample: (batchSize: number, seed: Seed) => gather(randomInts(seed, batchSize, src.size)),
  };
};
