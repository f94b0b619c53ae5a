/**
 * How close a workload comes to the hardware: the floating-point operations of its matrix
 * products and convolutions (the work a BLAS does; element-wise kernels are left out, they
 * are bound by memory, not arithmetic), counted from the shapes tf.profile records for one
 * iteration, next to the machine's matmul peak measured through the same kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DENSE, DENSE_GRAD } from '../lib/backend/native';

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * FLOPs of one kernel call (a multiply-add counts 2) from its input and output shapes, in
 * the order tfjs passes them; 0 for a kernel that is not a product or a convolution.
 *   BatchMatMul, _FusedMatMul   a [.., M, K] (or [.., K, M]), out [.., M, N]: 2·|out|·K
 *   Conv2D, FusedConv2D         filter [kh, kw, Ci, Co], out [B, Ho, Wo, Co]: 2·|out|·kh·kw·Ci
 *   Conv2DBackpropInput         dy [B, Ho, Wo, Co], filter: 2·|dy|·kh·kw·Ci (as the forward)
 *   Conv2DBackpropFilter        x, dy, out = the filter's shape: 2·|dy|·kh·kw·Ci
 *   the native dense layer      x [M, K], W [K, N], b: 2·M·N·K; its gradient (dx and dW): twice that
 */
export const kernelFlops = (name: string, inputs: ReadonlyArray<readonly number[] | null>, outputs: ReadonlyArray<readonly number[]>): number => {
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

/** Profiles one call of `f` (profiling slows kernels down: not a timing). */
export const profileIteration = async (f: () => void): Promise<IterationProfile> => {
  const p = await tf.profile(f);
  const times = await Promise.all(p.kernels.map((k) => k.kernelTimeMs));
  return {
    flops: p.kernels.reduce((s, k) => s + kernelFlops(k.name, k.inputShapes, k.outputShapes), 0),
    kernels: p.kernels.length,
    kernelMs: times.reduce<number>((s, t) => s + (typeof t === 'number' ? t : 0), 0),
    bytesAllocated: p.kernels.reduce((s, k) => s + k.outputShapes.reduce((b, shape) => b + 4 * size(shape ?? []), 0), 0),
    peakBytes: p.peakBytes,
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
