/**
 * Adam's state, read and written synchronously and exactly: the one optimiser-state
 * format of every checkpoint (teacher and distillation runs).
 *
 * Why not tfjs's getWeights/setWeights: they are async, and a checkpoint taken inside the
 * synchronous training stream must read the state before the next update runs (a resumed
 * phase is restored inside the synchronous segment start); and setWeights recomputes the
 * bias-correction powers β₁ᵏ, β₂ᵏ with pow(), which differs in the last float32 bits from
 * the running product, so a resumed run would not be bit-identical. Layout (setWeights'
 * order, so files stay readable by it): `0000` = iterations, `0001…` = first moments then
 * second moments in variable order, `adam/accBeta1`, `adam/accBeta2` = the running β-powers.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensorData } from '../models/params';
import { FusedAdamOptimizer } from './fusedAdam';

interface MomentSlot {
  originalName: string;
  variable: tf.Variable;
}

/** The fields of tfjs-core's AdamOptimizer (4.x) this module reads and writes. */
interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: MomentSlot[];
  accumulatedSecondMoment: MomentSlot[];
  iterations_: number | undefined;
}

const internals = (optimizer: tf.Optimizer): AdamInternals => {
  const o = optimizer as unknown as Partial<AdamInternals>;
  if (
    !(optimizer instanceof tf.AdamOptimizer) ||
    !(o.accBeta1 instanceof tf.Variable) ||
    !Array.isArray(o.accumulatedFirstMoment) ||
    !Array.isArray(o.accumulatedSecondMoment)
  )
    throw new Error(
      `adamState: expected a tfjs AdamOptimizer (tfjs-core 4.x internals), got ` +
        `${optimizer.getClassName?.() ?? typeof optimizer}`,
    );
  return o as AdamInternals;
};

const host = (name: string, t: tf.Tensor): NamedTensorData => ({
  name,
  shape: t.shape.slice(),
  values: Float32Array.from(t.dataSync() as Float32Array),
});

const slotName = (i: number): string => String(i).padStart(4, '0');

/** A host copy of Adam's whole state (creates no tensors). */
export const captureAdamState = (optimizer: tf.Optimizer): NamedTensorData[] => {
  const o = internals(optimizer);
  const moments = [...o.accumulatedFirstMoment, ...o.accumulatedSecondMoment];
  return [
    { name: slotName(0), shape: [], values: Float32Array.of(o.iterations_ ?? 0) },
    ...moments.map((m, i) => host(slotName(i + 1), m.variable)),
    host('adam/accBeta1', o.accBeta1),
    host('adam/accBeta2', o.accBeta2),
  ];
};

/**
 * Restores a state from `captureAdamState` into a fresh
 * optimiser for the same variables (same order and shapes); `where` names the source in errors.
 */
export const restoreAdamState = (
  optimizer: tf.Optimizer,
  state: readonly NamedTensorData[],
  variables: readonly tf.Variable[],
  where = 'optimizer state',
): void => {
  const o = internals(optimizer);
  const slots = state.filter((s) => !s.name.startsWith('adam/')).sort((a, b) => a.name.localeCompare(b.name));
  if (slots.length === 0) throw new Error(`${where}: no iteration count`);
  const moments = slots.slice(1);
  if (moments.length !== 0 && moments.length !== 2 * variables.length)
    throw new Error(
      `${where}: ${moments.length} moment tensors for ${variables.length} variables (expected ${2 * variables.length})`,
    );
  const power = (k: 'accBeta1' | 'accBeta2'): number => {
    const s = state.find((x) => x.name === `adam/${k}`);
    if (s === undefined)
      throw new Error(`${where}: missing adam/${k} (a resumed run needs Adam's running β-powers to be bit-identical)`);
    return s.values[0];
  };
  const slot = (s: NamedTensorData, i: number, kind: 'm' | 'v'): MomentSlot => {
    const v = variables[i % variables.length];
    if (s.shape.join() !== v.shape.join())
      throw new Error(
        `${where}.${s.name}: expected shape [${v.shape}] (${kind} of variable ${i % variables.length}), got ` +
          `[${s.shape}]`,
      );
    const init = tf.tensor(s.values, s.shape, 'float32');
    const variable = tf.variable(init, false);
    init.dispose();
    return { originalName: `${v.name}/${kind}`, variable };
  };
  const [b1, b2] = [power('accBeta1'), power('accBeta2')];
  const m = moments.slice(0, variables.length).map((s, i) => slot(s, i, 'm'));
  const v = moments.slice(variables.length).map((s, i) => slot(s, i, 'v'));
  tf.dispose([...o.accumulatedFirstMoment.map((x) => x.variable), ...o.accumulatedSecondMoment.map((x) => x.variable)]);
  o.accumulatedFirstMoment = m;
  o.accumulatedSecondMoment = v;
  tf.tidy(() => {
    o.accBeta1.assign(tf.scalar(b1));
    o.accBeta2.assign(tf.scalar(b2));
  });
  // the fused optimiser steps with a host copy of the β powers (not `instanceof`: tfjs's optimisers answer it by duck
  // typing)
  if (optimizer.constructor === FusedAdamOptimizer) (optimizer as FusedAdamOptimizer).restoreAccBetas(b1, b2);
  o.iterations_ = slots[0].values[0];
};
