import * as tf from '@tensorflow/tfjs-core';
import { OperatorFunction, map } from 'rxjs';
import type { LossStep } from '../../stream/types';
import { drawSeed } from '../../stream/types';
import type { RoleKey } from './interleaveUpdates';
import type { PhaseContext } from '../../rollout/context';
import { drawRollout, inferenceRollout, rolloutPrefix, rolloutToPhaseEnd } from '../../rollout/generate';
import { drawRenoiseTimes } from '../../rollout/renoise';
import { fakeScoreLoss as fakeLoss } from '../../losses/dmd';
import { forwardFromS, subintervalVelocityTarget, subintervalLossWeightTensor } from '../../schedule/tensors';
import { normal } from '../../random/draws';

/**
 * RoleKey (fake) → LossStep: score matching of the fake score on detached generator
 * samples x_s, within the subinterval (x_s: the SGTS exit sample, or with
 * `fakeTracks: 'rollout'` the boundary sample of a full inference rollout):
 *   x_t = α_{t|s}·x_s + σ_{t|s}·ε,
 *   v*  = ((1 − s)²·t + (1 − t)·s²) / ((1 − s)²·σ_{t|s}) · ε − x_s / (1 − s)   (= ε − x0 at s = 0),
 *   L_F = mean_b w_b ‖v_F(x_t, t) − v*‖²,  w = min(1, 10·σ_{t|s}²) when s > 0 (1 at s = 0).
 *
 * @example
 *   roleKeys.pipe(filter((k) => k.role === 'fake'), fakeScoreLoss(ctx), optimise(trainers))
 */
export const fakeScoreLoss = (ctx: PhaseContext): OperatorFunction<RoleKey, LossStep> => map(fakeScoreLossStep(ctx));

/** The tensor-level step behind `fakeScoreLoss`, for direct calls and tests. */
export const fakeScoreLossStep =
  (ctx: PhaseContext) =>
  ({ key, sub }: RoleKey): LossStep => {
    const seed = drawSeed(key, 'fake', sub);
    const B = ctx.phase.batchSize;
    const s = ctx.phase.end;
    const rollout = drawRollout(ctx, B, seed);
    const xs = tf.tidy(() =>
      ctx.fakeTracks === 'rollout'
        ? inferenceRollout(ctx, rollout)
        : rolloutToPhaseEnd(ctx, rolloutPrefix(ctx, rollout), rollout),
    );
    const t = drawRenoiseTimes(ctx, B, drawSeed(key, 'fake', sub, 't'));
    const eps = normal(xs.shape, drawSeed(key, 'fake', sub, 'eps'));
    const xt = forwardFromS(xs, eps, t, s);
    const target = subintervalVelocityTarget(xs, eps, t, s);
    const weight = s > 0 ? subintervalLossWeightTensor(t, s) : null;
    const labels = rollout.labels;
    rollout.z.dispose();
    return {
      key,
      role: 'fake',
      owned: [xs, t, eps, xt, target, ...(weight ? [weight] : []), ...(labels ? [labels] : [])],
      loss: () => fakeLoss(ctx.fake.apply(xt, t, labels), target, weight),
    };
  };
