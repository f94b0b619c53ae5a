/** Small shared helpers for the core specs (not a spec file itself). */
import * as tf from '@tensorflow/tfjs-core';

/** Host copy of a tensor's values as a plain array. */
export const values = (x: tf.Tensor): number[] => Array.from(x.dataSync());

/** Element-wise |a − b| ≤ tol, with a readable failure (index, both values). */
export const expectClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol)) throw new Error(`index ${i}: got ${actual[i]}, expected ${expected[i]} (|Δ| = ${d} > ${tol})`);
  }
};

/** Runs f and disposes the tensor it returns after reading it. */
export const read = (f: () => tf.Tensor): number[] => {
  const x = f();
  const v = values(x);
  x.dispose();
  return v;
};

/** Silences tfjs's one-time "install the node backend" hint that the cpu backend prints, keeping other warnings. */
export const muteNodeBackendHint = (): void => {
  const warn = console.warn.bind(console);
  jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('running TensorFlow.js in Node.js')) return;
    warn(...args);
  });
};
