import * as tf from '@tensorflow/tfjs-core';
import { OperatorFunction, map } from 'rxjs';
import type { LossStep } from '../../stream/types';
import { drawSeed } from '../../stream/types';
import type { RoleKey } from './interleaveUpdates';
import type { PhaseContext } from '../../distill/context';
import { drawRollout, rolloutPrefix, rolloutToPhaseEnd } from '../../distill/generate';
import { drawRenoiseTimes } from '../../distill/renoise';
import { distributionMatchingGrad, generatorLoss as dmdGeneratorLoss } from '../../losses/dmd';
import { forwardFromS } from '../../schedule/tensors';
import { guidedVelocity } from '../../score/velocity';
import { normal } from '../../random/draws';

/**
 * RoleKey (generator) → LossStep: the phase's DMD generator loss (§3, §5).
 *   x_s   = the generator's output at the phase end (SGTS jump or full chain), with gradient;
 *   x_t   = α_{t|s}·sg(x_s) + σ_{t|s}·ε,  t in the re-noising interval;
 *   grad  = (1 − t)²/(t·(1 − s)) · (v_T,cfg(x_t, t) − v_F(x_t, t));
 *   L_G   = ½‖x_s − sg(x_s − grad)‖².
 * Reports `dmdGradNorm` (mean per-sample ‖grad‖) and the SGTS exit step.
 */
export const generatorLoss = (ctx: PhaseContext): OperatorFunction<RoleKey, LossStep> => map(generatorLossStep(ctx));

/** The tensor-level step behind `generatorLoss`, for direct calls and tests. */
export const generatorLossStep = (ctx: PhaseContext): ((k: RoleKey) => LossStep) => {
  const real = guidedVelocity(ctx.teacher, ctx.phase.guidance);
  return ({ key, sub }) => {
    const seed = drawSeed(key, 'generator', sub);
    const B = ctx.phase.batchSize;
    const rollout = drawRollout(ctx, B, seed);
    const prefix = rolloutPrefix(ctx, rollout);
    const t = drawRenoiseTimes(ctx, B, drawSeed(key, 'generator', sub, 't'));
    const eps = normal(rollout.z.shape, drawSeed(key, 'generator', sub, 'eps'));
    const s = ctx.phase.end;
    const extras: Record<string, tf.Scalar> = { exitStep: tf.scalar(rollout.exit) };
    return {
      key,
      role: 'generator',
      owned: [rollout.z, prefix, t, eps, ...(rollout.labels ? [rollout.labels] : [])],
      extras,
      loss: () =>
        dmdGeneratorLoss(rolloutToPhaseEnd(ctx, prefix, rollout), (xs) => {
          const xt = forwardFromS(xs, eps, t, s);
          const grad = distributionMatchingGrad({ vReal: real(xt, t, rollout.labels), vFake: ctx.fake.apply(xt, t, rollout.labels), xt, xs, t, s }, ctx.normaliser);
          extras.dmdGradNorm = tf.keep(tf.mean(tf.norm(tf.reshape(grad, [B, -1]), 'euclidean', 1)) as tf.Scalar);
          return grad;
        }),
    };
  };
};
