import { OperatorFunction, map } from 'rxjs';
import type { Dataset } from '../../data/types';
import { Batch, StepKey, drawSeed } from '../../stream/types';

/** StepKey → Batch: draws `batchSize` examples with the step's "batch" seed. */
export const sampleBatch = (dataset: Dataset, batchSize: number): OperatorFunction<StepKey, Batch> =>
  map((key) => ({ key, ...dataset.sample(batchSize, drawSeed(key, 'batch')) }));
