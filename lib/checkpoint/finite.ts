/** Checkpoints hold finite weights only: a run that diverged keeps its last good checkpoint. */
import type { NamedTensorData } from '../models/params';
import { withPrefix } from './format';

export class NonFiniteWeightsError extends Error {
  constructor(
    readonly where: string,
    readonly index: number,
    readonly value: number,
  ) {
    super(`non-finite weight ${where}[${index}] = ${value}: not checkpointed, the last good checkpoint is kept`);
    this.name = 'NonFiniteWeightsError';
  }
}

/** The tensors under `prefix`; throws NonFiniteWeightsError (naming the first bad value) before anything is written. */
export const finiteWithPrefix = (prefix: string, tensors: readonly NamedTensorData[]): NamedTensorData[] => {
  for (const t of tensors)
    for (let i = 0; i < t.values.length; i++)
      if (!Number.isFinite(t.values[i])) throw new NonFiniteWeightsError(`${prefix}${t.name}`, i, t.values[i]);
  return withPrefix(prefix, tensors);
};
