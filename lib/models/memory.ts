/**
 * What a training run needs in memory, estimated from its config before any tensor is
 * allocated, as a lower bound: float32 weights kept four times (weights, gradients, two
 * Adam moments) and the activations one batch keeps for the backward pass. A config
 * whose lower bound exceeds the machine's memory is refused with the estimate instead of
 * being run until the system kills it.
 */
import * as os from 'os';

const F32 = 4;

export interface MemoryEstimate {
  readonly bytes: number;
  readonly weights: number;
  /** The config field that dominates the estimate. */
  readonly path: 'model' | 'batchSize';
}

/**
 * MLP on D-dimensional data, widths h₁…h_L, time embedding E:
 *   weights   P = Σᵢ (wᵢ + 1)·wᵢ₊₁ over w = (D + E, h₁, …, h_L, D)
 *   bytes   ≥ 4·(4P + 2B·Σᵢ wᵢ)       (two activations per layer and sample)
 */
export const mlpMemory = (
  hidden: readonly number[],
  timeEmbedDim: number,
  dim: number,
  batch: number,
): MemoryEstimate => {
  const w = [dim + timeEmbedDim, ...hidden, dim];
  let weights = 0;
  for (let i = 0; i + 1 < w.length; i++) weights += (w[i] + 1) * w[i + 1];
  const activations = 2 * batch * w.reduce((a, b) => a + b, 0);
  return { bytes: F32 * (4 * weights + activations), weights, path: activations > 4 * weights ? 'batchSize' : 'model' };
};

/**
 * U-Net of base width c on s×s images: at least two 3×3 convolutions at full width
 * (P ≥ 2·9c²) and one feature map per convolution kept per sample (B·s²·c each, at least
 * eight of them): bytes ≥ 4·(4P + 8B·s²·c).
 */
export const unetMemory = (width: number, size: number, batch: number): MemoryEstimate => {
  const weights = 2 * 9 * width * width;
  const activations = 8 * batch * size * size * width;
  return { bytes: F32 * (4 * weights + activations), weights, path: activations > 4 * weights ? 'batchSize' : 'model' };
};

/** This machine's memory, the budget an estimate is compared to. */
export const memoryBudget = (): number => os.totalmem();

export const formatBytes = (bytes: number): string =>
  bytes >= 1e12
    ? `${(bytes / 1e12).toFixed(1)} TB`
    : bytes >= 1e9
      ? `${(bytes / 1e9).toFixed(1)} GB`
      : `${(bytes / 1e6).toFixed(0)} MB`;

export const formatCount = (n: number): string =>
  n >= 1e9 ? `${(n / 1e9).toFixed(1)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : `${Math.round(n / 1e3)} k`;
