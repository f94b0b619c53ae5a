/**
 * Optimiser state as host data, for checkpoints. tfjs restores Adam's moments by
 * position (iterations first, then m and v in variable order), so order is the contract.
 *
 * Adam's bias-correction powers β₁ᵏ, β₂ᵏ are kept too: tfjs's setWeights recomputes
 * them with pow(), which differs in the last float32 bits from the running product
 * after some steps, and a resumed run must equal the uninterrupted one bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensorData } from '../models/params';

/** Adam's running β-powers (private fields of tfjs's AdamOptimizer). */
const BETA_POWERS = ['accBeta1', 'accBeta2'] as const;
const BETA_PREFIX = 'adam/';
const betaPowers = (optimizer: tf.Optimizer): Partial<Record<(typeof BETA_POWERS)[number], tf.Variable>> =>
  optimizer as unknown as Partial<Record<(typeof BETA_POWERS)[number], tf.Variable>>;

const host = (name: string, t: tf.Tensor): NamedTensorData => ({ name, shape: t.shape.slice(), values: Float32Array.from(t.dataSync() as Float32Array) });

export const readOptimizerState = async (optimizer: tf.Optimizer): Promise<NamedTensorData[]> => {
  const weights = await optimizer.getWeights();
  const state = weights.map((w, i) => host(String(i).padStart(4, '0'), w.tensor));
  weights[0]?.tensor.dispose(); // the iteration count is a fresh scalar; the rest are the optimiser's own variables
  const powers = betaPowers(optimizer);
  for (const k of BETA_POWERS) {
    const v = powers[k];
    if (v instanceof tf.Tensor) state.push(host(BETA_PREFIX + k, v));
  }
  return state;
};

/** Restores state read by readOptimizerState into a fresh optimiser of the same kind and variable order. */
export const writeOptimizerState = async (optimizer: tf.Optimizer, state: readonly NamedTensorData[]): Promise<void> => {
  const slots = state.filter((s) => !s.name.startsWith(BETA_PREFIX));
  if (slots.length === 0) return;
  const sorted = [...slots].sort((a, b) => a.name.localeCompare(b.name));
  const tensors = sorted.map((s) => ({ name: s.name, tensor: tf.tensor(s.values, s.shape, 'float32') }));
  try {
    await optimizer.setWeights(tensors);
  } finally {
    tensors.forEach((t) => t.tensor.dispose()); // setWeights copies them into variables
  }
  const powers = betaPowers(optimizer);
  for (const k of BETA_POWERS) {
    const saved = state.find((s) => s.name === BETA_PREFIX + k);
    const v = powers[k];
    if (saved !== undefined && v instanceof tf.Tensor) tf.tidy(() => v.assign(tf.tensor(saved.values, saved.shape, 'float32')));
  }
};
