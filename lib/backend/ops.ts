/**
 * Fused building blocks whose kernels depend on the backend. Each falls back to the
 * plain composite of tfjs ops, so every backend computes the same function.
 *
 *   silu(x)        = x·σ(x); one kernel forward and one backward where registered (the
 *                    native wasm path), otherwise tf.mul(x, tf.sigmoid(x)).
 *   sumOfSquares(xs) = Σ_j Σ_i x_j[i]² (a gradient norm): one kernel for all tensors where
 *                    registered, otherwise a square and a sum per tensor.
 *   sinusoidal(t, ω) = [sin(t·ωᵀ), cos(t·ωᵀ)] (a time embedding): one kernel where registered,
 *                    otherwise an outer product, a sin, a cos and a concat.
 *   meanSquaredError(a, b) = mean((a − b)²): one kernel each way where registered, otherwise
 *                    sub, square and mean (and their ~8 gradient kernels).
 *   conv2dBias     = conv(x, W) + b, fused on the same condition as dense.
 *   dense(x, W, b) = x·W + b; fused matMul + bias where its gradient is fast (every
 *                    backend but stock wasm, whose fused-matMul gradient uses the slow
 *                    transposed products), otherwise matMul then add.
 *   denseAct(x, W, b, act) = act(x·W + b), act linear or SiLU: on the native wasm path one
 *                    kernel forward and one backward (its own gradient, no reshapes, no
 *                    separate bias and activation kernels); otherwise silu(dense(…)).
 *   mlpForward(x, layers) = a chain of denseAct layers; on the native wasm path one kernel
 *                    for the whole chain, and with a gradient one more for its backward pass.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  SILU,
  SILU_GRAD,
  SUM_SQUARES,
  DENSE,
  DENSE_GRAD,
  MLP,
  MLP_TRAIN,
  MLP_GRAD,
  SINUSOIDAL,
  MSE,
  MSE_GRAD,
  denseShapes,
  nativeKernelsActive,
} from './kernels';

const hasKernel = (name: string): boolean => tf.getKernel(name, tf.getBackend()) !== undefined;

const siluComposite = (x: tf.Tensor): tf.Tensor => tf.tidy(() => tf.mul(x, tf.sigmoid(x)));

/** SiLU(x) = x·σ(x). */
export const silu = (x: tf.Tensor): tf.Tensor =>
  x.dtype === 'float32' && hasKernel(SILU) ? (tf.engine().runKernel(SILU, { x }) as tf.Tensor) : siluComposite(x);

/** d SiLU / dx = σ(x)·(1 + x·(1 − σ(x))). */
const siluGradComposite = (dy: tf.Tensor, x: tf.Tensor): tf.Tensor =>
  tf.tidy(() => {
    const s = tf.sigmoid(x);
    return tf.mul(dy, tf.mul(s, tf.add(1, tf.mul(x, tf.sub(1, s)))));
  });

tf.registerGradient({
  kernelName: SILU,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    const d = dy as tf.Tensor;
    return {
      x: () =>
        hasKernel(SILU_GRAD) ? (tf.engine().runKernel(SILU_GRAD, { dy: d, x }) as tf.Tensor) : siluGradComposite(d, x),
    };
  },
});

/** Whether fused matMul (+ bias) is at least as fast as matMul then add, forward and backward. */
export const fusedDenseFast = (): boolean => tf.getBackend() !== 'wasm' || nativeKernelsActive();

/** x·W + b for x [B, in], W [in, out], b [out]. */
export const dense = (x: tf.Tensor, W: tf.Tensor, b: tf.Tensor): tf.Tensor =>
  fusedDenseFast()
    ? tf.fused.matMul({ a: x as tf.Tensor2D, b: W as tf.Tensor2D, bias: b })
    : tf.tidy(() => tf.add(tf.matMul(x as tf.Tensor2D, W as tf.Tensor2D), b));

export type DenseActivation = 'linear' | 'silu';

/**
 * The native dense layer as a custom-gradient op: the forward kernel returns [y] or [y, z]
 * (SiLU keeps the pre-activation z for the gradient), the backward kernel [dx, dW, db].
 * Why a custom gradient: tf.fused.matMul's runs ≈ 15 small kernels per layer (3-D
 * reshapes, a bias sum, the activation's gradient), each with tfjs's per-kernel cost.
 */
const denseActNative = (activation: DenseActivation) =>
  tf.customGrad(((x: tf.Tensor, W: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const outs = tf.engine().runKernel(DENSE, { x, W, b }, { activation }) as unknown as tf.Tensor[];
    save(activation === 'silu' ? [x, W, outs[1]] : [x, W]);
    return {
      value: outs[0],
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, Ws, z] = saved;
        return tf
          .engine()
          .runKernel(
            DENSE_GRAD,
            { dy, x: xs, W: Ws, ...(z === undefined ? {} : { z }) },
            { activation },
          ) as unknown as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
const denseActNativeOps: Record<DenseActivation, ReturnType<typeof denseActNative>> = {
  linear: denseActNative('linear'),
  silu: denseActNative('silu'),
};

/**
 * Whether tfjs is recording operations for a gradient here (inside tf.grad/variableGrads and
 * not inside a kernel or a customGrad forward, where offTape's targets run). When it is not,
 * nothing will read a layer's pre-activation, so the forward-only kernels need not keep it.
 */
export const gradientRecorded = (): boolean => {
  // isTapeOn is the engine's own (not public) test; without it, assume a gradient may be taken
  const engine = tf.engine() as unknown as { isTapeOn?: () => boolean };
  return typeof engine.isTapeOn === 'function' ? engine.isTapeOn() : true;
};

/** act(x·W + b) for x [B, in], W [in, out], b [out]; act 'linear' (= dense) or 'silu'. */
export const denseAct = (x: tf.Tensor, W: tf.Tensor, b: tf.Tensor, activation: DenseActivation): tf.Tensor2D => {
  if (hasKernel(DENSE) && denseShapes(x, W, b) !== null) {
    if (gradientRecorded()) return denseActNativeOps[activation](x, W, b) as tf.Tensor2D;
    // no gradient: the kernel alone, without the customGrad wrapper and without z
    const [y] = tf.engine().runKernel(DENSE, { x, W, b }, { activation, keepZ: false }) as unknown as tf.Tensor[];
    return y as tf.Tensor2D;
  }
  return (activation === 'silu' ? tf.tidy(() => silu(dense(x, W, b))) : dense(x, W, b)) as tf.Tensor2D;
};

/** One layer of mlpForward: act(h·W + b). */
export interface DenseLayer {
  readonly W: tf.Tensor;
  readonly b: tf.Tensor;
  readonly activation: DenseActivation;
}

let mlpKernelEnabled = true;
/** Turns the one-kernel chain off (on by default), so specs can compare it with the layered path. */
export const setMlpKernel = (on: boolean): void => {
  mlpKernelEnabled = on;
};

/** Whether x [B, K₀] and the layers chain (each W [K_i, K_{i+1}], b [K_{i+1}]) fit the one-kernel path. */
const chains = (x: tf.Tensor, layers: readonly DenseLayer[]): boolean => {
  let h: tf.TensorInfo = x;
  for (const l of layers) {
    const s = denseShapes(h, l.W, l.b);
    if (s === null) return false;
    h = { dataId: h.dataId, shape: [s.M, s.N], dtype: 'float32' };
  }
  return layers.length > 0 && layers.length <= 32;
};

/** The kernels' inputs x, W0, b0, W1, b1, … (MLP_GRAD: dy, x, cache, W0, W1, …). */
const chainInputs = (head: tf.NamedTensorMap, Ws: readonly tf.Tensor[], bs: readonly tf.Tensor[] = []) => {
  const inputs: tf.NamedTensorMap = { ...head };
  Ws.forEach((W, i) => {
    inputs[`W${i}`] = W;
    if (bs[i] !== undefined) inputs[`b${i}`] = bs[i];
  });
  return inputs;
};

/**
 * The chain as one custom-gradient op of (x, W0, b0, W1, b1, …): MLP_TRAIN's forward keeps
 * each SiLU layer's z and each hidden layer's output in one cache tensor, MLP_GRAD returns
 * [dx, dW0, db0, …] from it in one call. Why: a denseAct per layer costs two kernel calls
 * and a custom-gradient record per layer, each with tfjs's per-kernel cost, and wakes the
 * threads for every layer; the chain wakes them once per direction.
 */
const mlpTrainable = (activations: readonly DenseActivation[]) =>
  tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [x, ...params] = args as tf.Tensor[];
    const Ws = params.filter((_, i) => i % 2 === 0);
    const attrs = { activations } as unknown as tf.NamedAttrMap;
    const inputs = chainInputs(
      { x },
      Ws,
      params.filter((_, i) => i % 2 === 1),
    );
    const [y, cache] = tf.engine().runKernel(MLP_TRAIN, inputs, attrs) as unknown as tf.Tensor[];
    save([x, cache, ...Ws]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, cs, ...Wss] = saved;
        return tf
          .engine()
          .runKernel(MLP_GRAD, chainInputs({ dy, x: xs, cache: cs }, Wss), attrs) as unknown as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);

const trainableChains = new Map<string, ReturnType<typeof mlpTrainable>>();

/**
 *   h₀ = x,  h_{i+1} = act_i(h_i·W_i + b_i),  returns h_L.
 * On the native wasm path the whole chain is one kernel (row tiles through all layers in
 * cache): without a gradient being recorded, only h_L is allocated; with one, the forward
 * keeps what its backward kernel reads. The layered path's numbers (its gradient may differ in
 * the last bits where OpenBLAS splits a small product over its own threads; spec/backend/ops.spec.ts).
 * Otherwise one denseAct per layer.
 */
export const mlpForward = (x: tf.Tensor, layers: readonly DenseLayer[]): tf.Tensor2D => {
  if (mlpKernelEnabled && hasKernel(MLP) && chains(x, layers)) {
    const activations = layers.map((l) => l.activation);
    if (!gradientRecorded())
      return tf.engine().runKernel(
        MLP,
        chainInputs(
          { x },
          layers.map((l) => l.W),
          layers.map((l) => l.b),
        ),
        {
          activations,
        } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor2D;
    if (hasKernel(MLP_TRAIN)) {
      const key = activations.join();
      if (!trainableChains.has(key)) trainableChains.set(key, mlpTrainable(activations));
      return trainableChains.get(key)!(x, ...layers.flatMap((l) => [l.W, l.b])) as tf.Tensor2D;
    }
  }
  return tf.tidy(() => layers.reduce<tf.Tensor>((h, l) => denseAct(h, l.W, l.b, l.activation), x)) as tf.Tensor2D;
};

/** mean((a − b)²) over every element. */
export const meanSquaredError = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
  a.dtype === 'float32' &&
  b.dtype === 'float32' &&
  a.size > 0 &&
  tf.util.arraysEqual(a.shape, b.shape) &&
  hasKernel(MSE)
    ? (tf.engine().runKernel(MSE, { a, b }) as tf.Scalar)
    : tf.tidy(() => tf.mean(tf.square(tf.sub(a, b))) as tf.Scalar);

// ∂/∂a = 2(a − b)·dy/n, ∂/∂b its negative (each computed only where the gradient reaches)
tf.registerGradient({
  kernelName: MSE,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved) => {
    const [a, b] = saved;
    const da = () => tf.engine().runKernel(MSE_GRAD, { a, b, dy: dy as tf.Tensor }) as tf.Tensor;
    return { a: da, b: () => tf.neg(da()) };
  },
});

/** a = t·ωᵀ [B, h] as a broadcast multiply (a matMul with K = 1: the same products, one kernel cheaper). */
const outer = (t: tf.Tensor, freqs: tf.Tensor): tf.Tensor =>
  tf.mul(tf.reshape(t, [-1, 1]), tf.reshape(freqs, [1, freqs.size]));

/** [sin(t·ωᵀ), cos(t·ωᵀ)] [B, 2h] for t of B elements and ω [h]. */
export const sinusoidal = (t: tf.Tensor, freqs: tf.Tensor1D): tf.Tensor2D =>
  t.dtype === 'float32' && freqs.dtype === 'float32' && hasKernel(SINUSOIDAL)
    ? (tf.engine().runKernel(SINUSOIDAL, { t, freqs }) as tf.Tensor2D)
    : tf.tidy(() => {
        const a = outer(t, freqs);
        return tf.concat([tf.sin(a), tf.cos(a)], 1) as tf.Tensor2D;
      });

// ∂/∂a of [sin a, cos a] is [cos a, −sin a]; then a = t·ωᵀ's two factors
tf.registerGradient({
  kernelName: SINUSOIDAL,
  inputsToSave: ['t', 'freqs'],
  gradFunc: (dy, saved) => {
    const [t, freqs] = saved;
    const da = tf.tidy(() => {
      const a = outer(t, freqs);
      const [dSin, dCos] = tf.split(dy as tf.Tensor, 2, 1);
      return tf.sub(tf.mul(dSin, tf.cos(a)), tf.mul(dCos, tf.sin(a)));
    });
    return {
      t: () => tf.reshape(tf.sum(tf.mul(da, tf.reshape(freqs, [1, freqs.size])), 1), t.shape),
      freqs: () => tf.sum(tf.mul(da, tf.reshape(t, [-1, 1])), 0),
    };
  },
});

/** Σ_j Σ_i x_j[i]² as a scalar (not differentiable: for gradient norms). */
export const sumOfSquares = (xs: readonly tf.Tensor[]): tf.Scalar =>
  xs.length > 0 && xs.length <= 120 && xs.every((x) => x.dtype === 'float32') && hasKernel(SUM_SQUARES)
    ? (tf.engine().runKernel(SUM_SQUARES, Object.fromEntries(xs.map((x, i) => [`x${i}`, x]))) as tf.Scalar)
    : tf.tidy(() => (xs.length === 0 ? tf.scalar(0) : (tf.addN(xs.map((x) => tf.sum(tf.square(x)))) as tf.Scalar)));

/**
 * conv(x, W; stride, 'same') + b, NHWC. Fused (bias added in the conv kernel, bias
 * gradient from the backprop kernels) where the backend has fast Conv2D backprop kernels
 * (the native wasm path, tfjs-node, cpu); otherwise conv2d then add, whose gradient the
 * wasm backend serves with forward convolutions (lib/backend/convGradients).
 */
export const conv2dBias = (x: tf.Tensor4D, W: tf.Tensor4D, b: tf.Tensor, stride: number): tf.Tensor4D =>
  fusedDenseFast()
    ? tf.fused.conv2d({ x, filter: W, strides: stride, pad: 'same', bias: b })
    : tf.tidy(() => tf.add(tf.conv2d(x, W, stride, 'same'), b));
