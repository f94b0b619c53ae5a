import { OperatorFunction, map } from 'rxjs';
import type { VelocityModel } from '../../models/types';
import type { LossStep, NoisedBatch } from '../../stream/types';
import { tensorsOf } from '../../stream/types';
import { flowMatchingMse } from '../../losses/flowMatching';

/**
 * NoisedBatch → LossStep: the flow-matching loss ‖v_θ(x_t, t, c) − (ε − x0)‖² of `model`,
 * as a closure for the optimise operator. The batch's tensors become the step's.
 */
export const flowMatchingLoss = (model: VelocityModel, role = 'teacher'): OperatorFunction<NoisedBatch, LossStep> =>
  map((batch) => ({
    key: batch.key,
    role,
    loss: () => flowMatchingMse(model.apply(batch.xt, batch.t, batch.labels), batch.x0, batch.eps),
    owned: tensorsOf(batch),
  }));
