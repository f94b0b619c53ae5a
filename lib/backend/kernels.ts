/**
 * Names of the framework's own kernels and whether the native addon serves them. Kept
 * apart from ./native (which loads the addon with fs and require) so that the models'
 * forward passes, which only ask "is this kernel registered?", also run in a browser.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** SiLU forward and backward (lib/backend/ops.ts silu). */
export const SILU = 'PhasedDmdSilu';
export const SILU_GRAD = 'PhasedDmdSiluGrad';
/** The fused dense layer (lib/backend/ops.ts denseAct) and its gradient. */
export const DENSE = 'PhasedDmdDense';
export const DENSE_GRAD = 'PhasedDmdDenseGrad';
/** A chain of dense layers evaluated without a gradient (lib/backend/ops.ts mlpForward). */
export const MLP = 'PhasedDmdMlp';
/** The chain with a gradient: forward keeping what the gradient reads, and that gradient (mlpForward). */
export const MLP_TRAIN = 'PhasedDmdMlpTrain';
export const MLP_GRAD = 'PhasedDmdMlpGrad';
/** The sinusoidal time embedding [sin(t·ωᵀ), cos(t·ωᵀ)] (lib/backend/ops.ts sinusoidal). */
export const SINUSOIDAL = 'PhasedDmdSinusoidal';
/** mean((a − b)²) and its gradient (lib/backend/ops.ts meanSquaredError). */
export const MSE = 'PhasedDmdMse';
export const MSE_GRAD = 'PhasedDmdMseGrad';
/** The fused Adam step (lib/optim/fusedAdam.ts). */
export const ADAM = 'PhasedDmdAdam';
/** Σ‖x_j‖² over several tensors (lib/backend/ops.ts sumOfSquares). */
export const SUM_SQUARES = 'PhasedDmdSumSquares';

const size = (shape: readonly number[]): number => shape.reduce((n, d) => n * d, 1);

/**
 * Shapes of a dense layer x [M, K], W [K, N], b [N] (float32, none empty), or null: the op then
 * takes the composite.
 */
export const denseShapes = (
  x: tf.TensorInfo,
  W: tf.TensorInfo,
  b: tf.TensorInfo,
): { M: number; K: number; N: number } | null =>
  [x, W, b].every((t) => t.dtype === 'float32' && size(t.shape) > 0) &&
  x.shape.length === 2 &&
  W.shape.length === 2 &&
  b.shape.length === 1 &&
  x.shape[1] === W.shape[0] &&
  b.shape[0] === W.shape[1]
    ? { M: x.shape[0], K: x.shape[1], N: W.shape[1] }
    : null;

let active = false;

/** Whether the native addon's kernels currently serve the wasm backend. */
export const nativeKernelsActive = (): boolean => active;

/** Set by ./native when it installs or removes its kernels. */
export const markNativeKernels = (on: boolean): void => {
  active = on;
};
