/**
 * How close a workload comes to the hardware: the floating-point operations of its matrix
 * products and convolutions (the work a BLAS does; element-wise kernels are left out, they
 * are bound by memory, not arithmetic), counted from the shapes tf.profile records for one
 * iteration, next to the machine's matmul peak measured through the same kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DENSE, DENSE_GRAD, MLP, MLP_TRAIN, MLP_GRAD } from '../lib/backend/native';

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * FLOPs of one kernel call (a multiply-add counts 2) from its input and output shapes, in
 * the order tfjs passes them; 0 for a kernel that is not a product or a convolution.
 *   BatchMatMul, _FusedMatMul   a [.., M, K] (or [.., K, M]), out [.., M, N]: 2·|out|·K
 *   Conv2D, FusedConv2D         filter [kh, kw, Ci, Co], out [B, Ho, Wo, Co]: 2·|out|·kh·kw·Ci
 *   Conv2DBackpropInput         dy [B, Ho, Wo, Co], filter: 2·|dy|·kh·kw·Ci (as the forward)
 *   Conv2DBackpropFilter        x, dy, out = the filter's shape: 2·|dy|·kh·kw·Ci
 *   the native dense layer      x [M, K], W [K, N], b: 2·M·N·K; its gradient (dx and dW): twice that
 *   the native dense chain      x [M, K₀], W₀, b₀, W₁, b₁, …: Σ_i 2·M·K_i·K_{i+1} (with or without a cache)
 *   its gradient                dy, x [M, K₀], cache, W₀, W₁, …: twice that (dx and dW of every layer)
 */
export const kernelFlops = (
  name: string,
  inputs: ReadonlyArray<readonly number[] | null>,
  outputs: ReadonlyArray<readonly number[]>,
): number => {
  const out = outputs[0];
  if (out === undefined) return 0;
  switch (name) {
    case 'BatchMatMul':
    case '_FusedMatMul': {
      const a = inputs[0]!;
      const M = out[out.length - 2];
      // transposed a is [K, M]: when a's rows are not M its rows are K (when both are M, K = M)
      const K = a[a.length - 2] === M ? a[a.length - 1] : a[a.length - 2];
      return 2 * size(out) * K;
    }
    case DENSE:
      return 2 * size(out) * inputs[1]![0];
    case DENSE_GRAD:
      return 4 * size(inputs[0]!) * inputs[2]![0];
    case MLP:
    case MLP_TRAIN:
      // inputs x, W0, b0, W1, b1, …: the weights sit at the odd positions
      return inputs.reduce((s, w, i) => (i % 2 === 1 ? s + 2 * inputs[0]![0] * size(w!) : s), 0);
    case MLP_GRAD:
      // inputs dy, x, cache, W0, W1, …
      return inputs.slice(3).reduce((s, w) => s + 4 * inputs[1]![0] * size(w!), 0);
    case 'Conv2D':
    case 'FusedConv2D': {
      const f = inputs[1]!;
      return 2 * size(out) * f[0] * f[1] * f[2];
    }
    case 'Conv2DBackpropInput': {
      const [dy, f] = [inputs[0]!, inputs[1]!];
      return 2 * size(dy) * f[0] * f[1] * f[2];
    }
    case 'Conv2DBackpropFilter':
      return 2 * size(inputs[1]!) * out[0] * out[1] * out[2];
    default:
      return 0;
  }
};

/** One iteration seen through tf.profile: the work, the kernel calls, their time, the allocation. */
export interface IterationProfile {
  /** FLOPs of the products and convolutions. */
  readonly flops: number;
  /** Kernel calls. */
  readonly kernels: number;
  /** Time inside the kernels (ms); the wall time minus this is tfjs's and the framework's own. */
  readonly kernelMs: number;
  /** Bytes of the tensors the kernels created (each kernel's outputs, freed or not). */
  readonly bytesAllocated: number;
  readonly peakBytes: number;
}

/** One kernel call as tf.profile recorded it, with its time (ms). */
export type KernelCall = Awaited<ReturnType<typeof tf.profile>>['kernels'][number] & { readonly ms: number };

/**
 * The kernel calls of one call of `f`, without tf.profile's scope entries ("unnamed scope":
 * a custom gradient's forward function, whose time includes the kernels it calls, which
 * are recorded too), and the peak of tensor bytes.
 */
export const kernelCalls = async (f: () => void): Promise<{ calls: KernelCall[]; peakBytes: number }> => {
  const p = await tf.profile(f);
  const backend = tf.getBackend();
  const kernels = p.kernels.filter((k) => tf.getKernel(k.name, backend) !== undefined);
  const times = await Promise.all(kernels.map((k) => k.kernelTimeMs));
  return {
    calls: kernels.map((k, i) => ({ ...k, ms: typeof times[i] === 'number' ? (times[i] as number) : 0 })),
    peakBytes: p.peakBytes,
  };
};

/** Bytes of a kernel call's outputs (4 per element: float32 and int32 alike). */
export const outputBytes = (k: KernelCall): number => k.outputShapes.reduce((b, shape) => b + 4 * size(shape ?? []), 0);

/** Profiles one call of `f` (profiling slows kernels down: not a timing). */
export const profileIteration = async (f: () => void): Promise<IterationProfile> => {
  const { calls, peakBytes } = await kernelCalls(f);
  return {
    flops: calls.reduce((s, k) => s + kernelFlops(k.name, k.inputShapes, k.outputShapes), 0),
    kernels: calls.length,
    kernelMs: calls.reduce((s, k) => s + k.ms, 0),
    bytesAllocated: calls.reduce((s, k) => s + outputBytes(k), 0),
    peakBytes,
  };
};

/** GFLOP/s of `flops` done in `ms`. */
export const gflops = (flops: number, ms: number): number => flops / ms / 1e6;

/** The best GFLOP/s of an n×n by n×n tf.matMul on the active kernels (one warm-up, then the fastest of `reps`). */
export const matmulPeak = (n = 1024, reps = 5): number => {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  let best = Infinity;
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    if (i > 0) best = Math.min(best, performance.now() - t0);
    c.dispose();
  }
  tf.dispose([a, b]);
  return gflops(2 * n ** 3, best);
};
