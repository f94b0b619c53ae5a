/**
 * Gradient overrides that keep every backend on fast kernels.
 *
 * wasm's matMul with transposeA/transposeB runs ~10x slower than an explicit
 * transpose followed by a plain matMul, and the stock BatchMatMul gradient uses the
 * transposed forms. We re-register it with explicit transposes (same math).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from './index';

type GradFunc = tf.GradConfig['gradFunc'];

const plainMatMul = (a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor =>
  tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b);

const registered = new Set<string>();
const original = new Map<string, tf.GradConfig>();

const override = (kernelName: string, make: (orig: GradFunc) => GradFunc, inputsToSave: string[]): void => {
  if (registered.has(kernelName)) return;
  const orig = tf.getGradient(kernelName);
  if (orig === undefined) {
    const hint = 'initialise a backend with useBackend first (it loads the gradients)';
    throw new Error(`no gradient registered for ${kernelName}; ${hint}`);
  }
  original.set(kernelName, orig);
  tf.registerGradient({ kernelName, inputsToSave, gradFunc: make(orig.gradFunc) });
  registered.add(kernelName);
};

/**
 * ∂/∂a, ∂/∂b of C = op(a)·op(b) written with explicit transposes (rank 2, wasm active);
 * other ranks and other backends keep the stock rule (tfjs gradients are global, not per backend).
 */
const batchMatMulGrad =
  (orig: GradFunc): GradFunc =>
  (dy, saved, attrs) => {
    const [a, b] = saved;
    if (a.rank !== 2 || b.rank !== 2 || tf.getBackend() !== 'wasm') return orig(dy, saved, attrs);
    const dy2 = dy as tf.Tensor;
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB)
      return { a: () => plainMatMul(dy2, b, false, true), b: () => plainMatMul(a, dy2, true, false) };
    if (!transposeA && transposeB)
      return { a: () => plainMatMul(dy2, b, false, false), b: () => plainMatMul(dy2, a, true, false) };
    if (transposeA && !transposeB)
      return { a: () => plainMatMul(b, dy2, false, true), b: () => plainMatMul(a, dy2, false, false) };
    return { a: () => plainMatMul(b, dy2, true, true), b: () => plainMatMul(dy2, a, true, true) };
  };

/** Extra per-backend registrations (conv gradients for wasm live in ./convGradients). */
const extraRegistrations: Array<(backend: BackendName) => void> = [];
export const addGradientRegistration = (f: (backend: BackendName) => void): void => {
  extraRegistrations.push(f);
};

export const registerFastGradients = (backend: BackendName): void => {
  if (backend === 'wasm') override('BatchMatMul', batchMatMulGrad, ['a', 'b']);
  for (const f of extraRegistrations) f(backend);
};
