import { OperatorFunction, map } from 'rxjs';
import type { LossStep, StepKey } from '../../stream/types';
import { drawSeed } from '../../stream/types';
import type { PhaseContext } from '../../rollout/context';
import { pairBatch, pathRegressionLoss, regressionTimes } from './generatorLoss';

/** The role a warm-up update reports as: it moves the generator's weights, but is no DMD generator update. */
export const WARMUP_ROLE = 'regression';

/**
 * StepKey → LossStep: one regression-only update of the phase's generator on a minibatch of
 * the run's teacher pairs, L = L_reg of `pathRegressionLoss` (one step: d(z − G(z, 1, c), y)),
 * with no fake score and no score evaluations, so it costs one generator pass per step of the
 * phase. Fitting the teacher's map this way first gives distribution matching a generator
 * that already covers every mode (docs/algorithm.md §3).
 *
 * @example
 *   stepKeys(seed, 0, 0, warmup).pipe(regressionWarmup(ctx), optimise({ [WARMUP_ROLE]: trainer }))
 */
export const regressionWarmup = (ctx: PhaseContext): OperatorFunction<StepKey, LossStep> => {
  const term = ctx.regression;
  if (term === undefined) throw new Error('regressionWarmup: the phase has no regression term');
  return map((key) => {
    const reg = pairBatch(term, drawSeed(key, WARMUP_ROLE), regressionTimes(ctx));
    return { key, role: WARMUP_ROLE, owned: reg.owned, loss: () => pathRegressionLoss(ctx, reg) };
  });
};
