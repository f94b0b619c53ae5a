import * as tf from '@tensorflow/tfjs-core';
import { OperatorFunction, map } from 'rxjs';
import type { LossStep } from '../../stream/types';
import { drawSeed } from '../../stream/types';
import type { RoleKey } from './interleaveUpdates';
import type { PhaseContext } from '../../rollout/context';
import { drawRollout, rolloutPrefix, rolloutEnd } from '../../rollout/generate';
import { drawRenoiseTimes } from '../../rollout/renoise';
import { distributionMatchingGrad, generatorLoss as xsLoss, generatorLossMean, referenceGrad } from '../../losses/dmd';
import { forwardFromS, x0FromVelocity } from '../../schedule/tensors';
import { guidedVelocity, timeVector } from '../../score/velocity';
import { normal } from '../../random/draws';
import { randomInts, Seed } from '../../random/seed';
import { regressionLoss, RegressionTerm } from '../../losses/regression';

/**
 * RoleKey (generator) → LossStep: the phase's DMD generator loss.
 *   x_s, x0_G = the generator's phase-end sample and its x0 prediction (same velocity);
 *   x_t       = α_{t|s}·sg(x_s) + σ_{t|s}·ε,  t in the re-noising interval;
 *   reference (default):  grad = (x0̂_F − x0̂_T) / max(mean|x0_G − x0̂_T|, 1e-4),
 *                         L_G = ½·mean‖x0_G − sg(x0_G − grad)‖²;
 *   paper / xs-normalised: the x_s-space forms, L_G = ½·Σ‖x_s − sg(x_s − grad)‖².
 * With a regression term (one-step DMD): L = L_G + λ_reg·L_reg on a minibatch of the run's pairs.
 * Reports `dmdGradNorm` (mean per-sample ‖grad‖), the SGTS exit step, and `regLoss` when on.
 *
 * @example
 *   roleKeys.pipe(filter((k) => k.role === 'generator'), generatorLoss(ctx), optimise(trainers))
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
    const labels = rollout.labels;
    const extras: Record<string, tf.Scalar> = { exitStep: tf.scalar(rollout.exit) };
    const keepNorm = (grad: tf.Tensor): tf.Tensor => {
      extras.dmdGradNorm = tf.keep(tf.mean(tf.norm(tf.reshape(grad, [B, -1]), 'euclidean', 1)) as tf.Scalar);
      return grad;
    };
    const scores = (xs: tf.Tensor) => {
      const xt = forwardFromS(xs, eps, t, s);
      return { xt, vReal: real(xt, t, labels), vFake: ctx.fake.apply(xt, t, labels) };
    };
    const reg = ctx.regression ? pairBatch(ctx.regression, drawSeed(key, 'generator', sub, 'reg')) : null;
    const withRegression = (dmd: tf.Scalar): tf.Scalar => {
      if (reg === null) return dmd;
      const term = ctx.regression!;
      const lReg = regressionLoss(oneStepSample(ctx, reg), reg.y, term.distance);
      extras.regLoss = tf.keep(lReg.clone());
      return tf.add(dmd, tf.mul(term.weight, lReg));
    };
    const dmdLoss = (): tf.Scalar => {
      const { xs, x0 } = rolloutEnd(ctx, prefix, rollout);
      if (ctx.gradient !== 'reference')
        return xsLoss(xs, (xd) =>
          keepNorm(
            distributionMatchingGrad({ ...scores(xd), xs: xd, t, s }, ctx.gradient as 'paper' | 'xs-normalised'),
          ),
        );
      // the scores see x_s (off the tape, inside gradOf); the gradient lands on x0_G
      return generatorLossMean(x0, (x0d) => {
        const { xt, vReal, vFake } = scores(xs);
        return keepNorm(
          referenceGrad({ x0Fake: x0FromVelocity(xt, vFake, t), x0Real: x0FromVelocity(xt, vReal, t), x0G: x0d }),
        );
      });
    };
    const loss = (): tf.Scalar => withRegression(dmdLoss());
    const regOwned = reg === null ? [] : [reg.z, reg.y, ...(reg.labels ? [reg.labels] : [])];
    const owned = [rollout.z, prefix, t, eps, ...(labels ? [labels] : []), ...regOwned];
    return { key, role: 'generator', owned, extras, loss };
  };
};

/** A minibatch of the run's pairs, drawn with replacement from `seed` (owned by the step). */
export const pairBatch = (
  term: RegressionTerm,
  seed: Seed,
): { z: tf.Tensor; labels: tf.Tensor1D | null; y: tf.Tensor } => {
  const { z, labels, y } = term.pairs;
  const idx = tf.tensor1d(randomInts(seed, term.batchSize, z.shape[0]), 'int32');
  const batch = { z: tf.gather(z, idx), labels: labels === null ? null : tf.gather(labels, idx), y: tf.gather(y, idx) };
  idx.dispose();
  return batch;
};

/** G(z): the one-step generator's sample, x = z − t_0·G(z, t_0, c) with t_0 = 1. */
export const oneStepSample = (ctx: PhaseContext, p: { z: tf.Tensor; labels: tf.Tensor1D | null }): tf.Tensor => {
  const t0 = ctx.phase.grid[0];
  return x0FromVelocity(p.z, ctx.generator.apply(p.z, timeVector(t0, p.z.shape[0]), p.labels), t0);
};
