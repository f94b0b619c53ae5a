import * as tf from '@tensorflow/tfjs-core';
import { MonoTypeOperatorFunction, tap } from 'rxjs';
import type { Params } from '../../models/params';
import type { StepMetrics } from '../../stream/types';

/**
 * θ_ema ← β·θ_ema + (1 − β)·θ, for every parameter of `live` (matched by name).
 * In place on the EMA variables; allocates nothing that outlives the call.
 */
export const emaStep = (ema: Params, live: Params, decay: number): void =>
  tf.tidy(() => {
    for (const name of ema.names) {
      const shadow = ema.get(name);
      shadow.assign(tf.add(tf.mul(shadow, decay), tf.mul(live.get(name), 1 - decay)));
    }
  });

/**
 * Generator EMA as a tap after `optimise`: after each update of `role` (default the
 * generator), the shadow weights move towards the live ones with decay β. Other roles'
 * metrics pass untouched. The shadow is owned by the caller (it is a model's Params).
 */
export const emaUpdate = (
  decay: number,
  weights: { readonly ema: Params; readonly live: Params },
  role = 'generator',
): MonoTypeOperatorFunction<StepMetrics> => {
  if (!(decay >= 0 && decay < 1)) throw new RangeError(`emaUpdate: decay must be in [0, 1), got ${decay}`);
  return tap((m) => {
    if (m.role === role) emaStep(weights.ema, weights.live, decay);
  });
};
