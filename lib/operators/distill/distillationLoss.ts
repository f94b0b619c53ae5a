import { OperatorFunction, map } from 'rxjs';
import type { LossStep } from '../../stream/types';
import type { RoleKey } from './interleaveUpdates';
import type { PhaseContext } from '../../rollout/context';
import { generatorLossStep } from './generatorLoss';
import { fakeScoreLossStep } from './fakeScoreLoss';

/** Routes each update to its role's loss: fake-score updates and generator updates. */
export const distillationLoss = (ctx: PhaseContext): OperatorFunction<RoleKey, LossStep> => {
  const fake = fakeScoreLossStep(ctx);
  const generator = generatorLossStep(ctx);
  return map((k) => (k.role === 'fake' ? fake(k) : generator(k)));
};
