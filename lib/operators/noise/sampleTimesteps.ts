import * as tf from '@tensorflow/tfjs-core';
import { OperatorFunction, map } from 'rxjs';
import { Batch, TimedBatch, drawSeed } from '../../stream/types';
import { TimestepSampling, sampleTimes } from '../../schedule/sampling';

/** Batch → TimedBatch: t per sample, drawn in an interval of unshifted time then shifted (see `sampleTimes`). */
export const sampleTimesteps = <B extends Batch>(sampling: TimestepSampling): OperatorFunction<B, B & TimedBatch> =>
  map((batch) => ({ ...batch, t: sampleTimes(sampling, batch.x0.shape[0], drawSeed(batch.key, 't')) as tf.Tensor1D }));
