/**
 * Adam's complete state, read and written synchronously and bit-exactly, for resumable
 * checkpoints taken between two steps of a synchronous training stream.
 *
 * Why not `optimizer.getWeights()/setWeights()` (lib/optim/state.ts): getWeights is
 * async (the stream would run on while it resolves), and setWeights recomputes the
 * bias-correction powers as β^(k+1) with `pow`, while training accumulated them by k
 * float32 multiplications — different last bits, so a resumed run would drift from an
 * uninterrupted one. Here the accumulated powers are stored as they are.
 *
 * This reaches into tfjs's AdamOptimizer fields (accBeta1/2, accumulatedFirst/SecondMoment,
 * iterations_), checked at run time; the resume spec pins the behaviour.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedTensorData } from '../models/params';

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

interface AdamInternals {
  iterations_?: number | null;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<Slot | undefined>;
  accumulatedSecondMoment: Array<Slot | undefined>;
}

const internals = (optimizer: tf.Optimizer): AdamInternals => {
  const a = optimizer as unknown as Partial<AdamInternals>;
  if (!(a.accBeta1 instanceof tf.Variable) || !(a.accBeta2 instanceof tf.Variable) || !Array.isArray(a.accumulatedFirstMoment) || !Array.isArray(a.accumulatedSecondMoment))
    throw new TypeError(`exact optimiser state: expected a tfjs Adam optimiser, got ${optimizer.getClassName?.() ?? typeof optimizer}`);
  return a as AdamInternals;
};

const host = (name: string, x: tf.Tensor): NamedTensorData => ({ name, shape: x.shape.slice(), values: Float32Array.from(x.dataSync() as Float32Array) });

const pad = (i: number): string => String(i).padStart(4, '0');

/** Every number Adam carries between steps: iterations, β₁^k, β₂^k, and m, v per variable (in update order). */
export const readAdamState = (optimizer: tf.Optimizer): NamedTensorData[] => {
  const a = internals(optimizer);
  const slots = (s: Array<Slot | undefined>, tag: string): NamedTensorData[] =>
    s.map((slot, i) => {
      if (slot === undefined) throw new Error(`exact optimiser state: moment ${tag}[${i}] is missing`);
      return host(`${tag}/${pad(i)}`, slot.variable);
    });
  return [
    { name: 'iterations', shape: [], values: Float32Array.of(a.iterations_ ?? 0) },
    host('accBeta1', a.accBeta1),
    host('accBeta2', a.accBeta2),
    ...slots(a.accumulatedFirstMoment, 'm'),
    ...slots(a.accumulatedSecondMoment, 'v'),
  ];
};

/**
 * Restores `readAdamState` output into a fresh Adam optimiser over `variables` (the same
 * variables, in the same order, as when it was read). Throws with the entry at fault.
 */
export const writeAdamState = (optimizer: tf.Optimizer, state: readonly NamedTensorData[], variables: readonly tf.Variable[], where = 'optimiser state'): void => {
  const a = internals(optimizer);
  const by = new Map(state.map((s) => [s.name, s]));
  const scalar = (name: string): number => {
    const s = by.get(name);
    if (s === undefined || s.values.length !== 1) throw new Error(`${where}: missing scalar ${name}`);
    return s.values[0];
  };
  const moments = (tag: 'm' | 'v'): NamedTensorData[] => state.filter((s) => s.name.startsWith(`${tag}/`)).sort((x, y) => x.name.localeCompare(y.name));
  const m = moments('m');
  const v = moments('v');
  if (m.length !== v.length || (m.length !== 0 && m.length !== variables.length))
    throw new Error(`${where}: expected moments for ${variables.length} variables, got ${m.length} first and ${v.length} second moments`);
  m.forEach((d, i) => {
    const want = variables[i].shape.join();
    if (d.shape.join() !== want || v[i].shape.join() !== want) throw new Error(`${where}: moment ${i} has shape [${d.shape}], variable has [${variables[i].shape}]`);
  });
  const iterations = scalar('iterations');
  const b1 = scalar('accBeta1');
  const b2 = scalar('accBeta2');
  for (const s of [...a.accumulatedFirstMoment, ...a.accumulatedSecondMoment]) s?.variable.dispose();
  const slot = (d: NamedTensorData, i: number, tag: string): Slot => {
    const init = tf.tensor(d.values, d.shape, 'float32');
    const variable = tf.variable(init, false);
    init.dispose();
    return { originalName: `${variables[i].name}/${tag}`, variable };
  };
  a.accumulatedFirstMoment = m.map((d, i) => slot(d, i, 'm'));
  a.accumulatedSecondMoment = v.map((d, i) => slot(d, i, 'v'));
  tf.tidy(() => {
    a.accBeta1.assign(tf.scalar(b1, 'float32'));
    a.accBeta2.assign(tf.scalar(b2, 'float32'));
  });
  a.iterations_ = iterations;
};
