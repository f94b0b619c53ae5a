import * as tf from '@tensorflow/tfjs-core';
import { OperatorFunction, map } from 'rxjs';
import type { LossStep } from '../../stream/types';
import { drawSeed } from '../../stream/types';
import type { RoleKey } from './interleaveUpdates';
import type { PhaseContext } from '../../rollout/context';
import { drawRollout, rolloutPrefix, rolloutEnd } from '../../rollout/generate';
import { drawRenoiseTimes } from '../../rollout/renoise';
import { distributionMatchingGrad, generatorLoss as xsLoss, generatorLossMean, referenceGrad } from '../../losses/dmd';
import { eulerStep, forwardFromS, x0FromVelocity } from '../../schedule/tensors';
import { guidedVelocity, timeVector } from '../../score/velocity';
import { normal } from '../../random/draws';
import { randomInts, Seed } from '../../random/seed';
import { pairState, regressionLoss, RegressionTerm } from '../../losses/regression';

/**
 * RoleKey (generator) → LossStep: the phase's DMD generator loss.
 *   x_s, x0_G = the generator's phase-end sample and its x0 prediction (same velocity);
 *   x_t       = α_{t|s}·sg(x_s) + σ_{t|s}·ε,  t in the re-noising interval;
 *   reference (default):  grad = (x0̂_F − x0̂_T) / max(mean|x0_G − x0̂_T|, 1e-4),
 *                         L_G = ½·mean‖x0_G − sg(x0_G − grad)‖²;
 *   paper / xs-normalised: the x_s-space forms, L_G = ½·Σ‖x_s − sg(x_s − grad)‖².
 * With a regression term: L = L_G + λ_reg·L_reg on a minibatch of the run's pairs (`pathRegressionLoss`).
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
    // weight 0: the term was a warm-up only, and the DMD updates skip its generator passes
    const term = ctx.regression !== undefined && ctx.regression.weight > 0 ? ctx.regression : null;
    const reg = term === null ? null : pairBatch(term, drawSeed(key, 'generator', sub, 'reg'), regressionTimes(ctx));
    const withRegression = (dmd: tf.Scalar): tf.Scalar => {
      if (reg === null) return dmd;
      const lReg = pathRegressionLoss(ctx, reg);
      extras.regLoss = tf.keep(lReg.clone());
      return tf.add(dmd, tf.mul(reg.term.weight, lReg));
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
    const regOwned = reg === null ? [] : reg.owned;
    const owned = [rollout.z, prefix, t, eps, ...(labels ? [labels] : []), ...regOwned];
    return { key, role: 'generator', owned, extras, loss };
  };
};

/** A minibatch of the run's pairs: the teacher's states at the times asked for, and the labels. */
export interface PairBatch {
  readonly term: RegressionTerm;
  /** states[j] is the teacher's state at the j-th time asked for. */
  readonly states: tf.Tensor[];
  readonly labels: tf.Tensor1D | null;
  /** Every tensor of the batch, once each (the step owns them). */
  readonly owned: tf.Tensor[];
}

/** A minibatch of the run's pairs at the step times `times` (default [1, 0]), drawn with replacement from `seed`. */
export const pairBatch = (term: RegressionTerm, seed: Seed, times: readonly number[] = [1, 0]): PairBatch => {
  const { pairs } = term;
  const idx = tf.tensor1d(randomInts(seed, term.batchSize, pairs.z.shape[0]), 'int32');
  const states = times.map((t) => tf.gather(pairState(pairs, t), idx));
  const labels = pairs.labels === null ? null : tf.gather(pairs.labels, idx);
  idx.dispose();
  return { term, states, labels, owned: [...states, ...(labels ? [labels] : [])] };
};

/**
 * The times `pathRegressionLoss` reads for a phase: its grid, and with x0-noise steps the teacher's sample at t = 0
 * too (last) when the grid stops short of it.
 */
export const regressionTimes = (ctx: PhaseContext): readonly number[] => {
  const g = ctx.phase.grid;
  return ctx.stepper === 'euler' || g[g.length - 1] === 0 ? g : [...g, 0];
};

/**
 * The regression loss of the phase's steps, each started from the teacher's state (teacher forcing), over the
 * phase's grid t_0 > … > t_m with teacher states x^T_j:
 *   Euler steps:     L_reg = 1/m Σ_j d(x^T_j + (t_{j+1} − t_j)·G(x^T_j, t_j, c),  x^T_{j+1})
 *   x0-noise steps:  L_reg = 1/m Σ_j d(x^T_j − t_j·G(x^T_j, t_j, c),  y)
 * For one step from t = 1 to 0 both are d(G(z), y), one-step DMD's term. `b` holds the states at
 * `regressionTimes(ctx)`; d is its term's distance.
 */
export const pathRegressionLoss = (ctx: PhaseContext, b: PairBatch): tf.Scalar =>
  tf.tidy(() => {
    const g = ctx.phase.grid;
    const m = g.length - 1;
    const euler = ctx.stepper === 'euler';
    const y = b.states[b.states.length - 1];
    const terms = Array.from({ length: m }, (_, j) => {
      const x = b.states[j];
      const v = ctx.generator.apply(x, timeVector(g[j], x.shape[0]), b.labels);
      // the Euler step to t = 0 is x − t·v, written as the x0 prediction so one-step DMD's term keeps its bits
      const next = euler && g[j + 1] !== 0 ? eulerStep(x, v, g[j], g[j + 1]) : x0FromVelocity(x, v, g[j]);
      return regressionLoss(next, euler ? b.states[j + 1] : y, b.term.distance);
    });
    return m === 1 ? terms[0] : (tf.div(tf.addN(terms), m) as tf.Scalar);
  });
