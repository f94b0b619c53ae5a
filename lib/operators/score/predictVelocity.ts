import { OperatorFunction, map } from 'rxjs';
import type { VelocityModel } from '../../models/types';
import type { NoisedBatch, ScoredBatch } from '../../stream/types';
import { guidedVelocity } from '../../score/velocity';

/** NoisedBatch → ScoredBatch: v = model(x_t, t, c), with CFG scale g (1 = none). No gradient is taken here. */
export const predictVelocity = <B extends NoisedBatch>(
  model: VelocityModel,
  guidance = 1,
): OperatorFunction<B, B & ScoredBatch> => {
  const velocity = guidedVelocity(model, guidance);
  return map((batch) => ({ ...batch, v: velocity(batch.xt, batch.t, batch.labels) }));
};
