/**
 * Optimiser state as host data, for checkpoints. tfjs restores Adam's moments by
 * position (iterations first, then m and v in variable order), so order is the contract.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensorData } from '../models/params';

export const readOptimizerState = async (optimizer: tf.Optimizer): Promise<NamedTensorData[]> => {
  const weights = await optimizer.getWeights();
  return weights.map((w, i) => ({ name: String(i).padStart(4, '0'), shape: w.tensor.shape.slice(), values: Float32Array.from(w.tensor.dataSync() as Float32Array) }));
};

export const writeOptimizerState = async (optimizer: tf.Optimizer, state: readonly NamedTensorData[]): Promise<void> => {
  if (state.length === 0) return;
  const sorted = [...state].sort((a, b) => a.name.localeCompare(b.name));
  await optimizer.setWeights(sorted.map((s) => ({ name: s.name, tensor: tf.tensor(s.values, s.shape, 'float32') })));
};
