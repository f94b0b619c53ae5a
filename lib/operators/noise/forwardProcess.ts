import { OperatorFunction, map } from 'rxjs';
import { NoisedBatch, TimedBatch, drawSeed } from '../../stream/types';
import { normal } from '../../random/draws';
import { forwardSample } from '../../schedule/tensors';

/** TimedBatch → NoisedBatch: ε ~ N(0, I) from the step's "eps" seed, x_t = (1 − t)·x0 + t·ε. */
export const forwardProcess = <B extends TimedBatch>(): OperatorFunction<B, B & NoisedBatch> =>
  map((batch) => {
    const eps = normal(batch.x0.shape, drawSeed(batch.key, 'eps'));
    return { ...batch, eps, xt: forwardSample(batch.x0, eps, batch.t) };
  });
