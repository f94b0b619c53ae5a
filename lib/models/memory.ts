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

/** What an estimate needs of a network: its weights, what one sample keeps for the backward pass, its adapters. */
export interface NetworkSize {
  readonly weights: number;
  /** Activations kept per sample for the backward pass (floats). */
  readonly activationsPerSample: number;
  /** Weights of a LoRA adapter of rank r on this network (a lower bound). */
  readonly loraWeights: (rank: number) => number;
}

/**
 * MLP on D-dimensional data, widths h₁…h_L, time embedding E:
 *   weights      P = Σᵢ (wᵢ + 1)·wᵢ₊₁ over w = (D + E, h₁, …, h_L, D)
 *   activations  2·Σᵢ wᵢ per sample      (two per layer)
 *   LoRA rank r  r·Σᵢ (wᵢ + wᵢ₊₁)        (A [in, r] and B [r, out] per dense layer)
 */
export const mlpSize = (hidden: readonly number[], timeEmbedDim: number, dim: number): NetworkSize => {
  const w = [dim + timeEmbedDim, ...hidden, dim];
  let weights = 0;
  let fans = 0;
  for (let i = 0; i + 1 < w.length; i++) {
    weights += (w[i] + 1) * w[i + 1];
    fans += w[i] + w[i + 1];
  }
  return { weights, activationsPerSample: 2 * w.reduce((a, b) => a + b, 0), loraWeights: (r) => r * fans };
};

/**
 * U-Net of base width c on h×w images: at least two 3×3 convolutions at full width
 * (P ≥ 2·9c²), one feature map per convolution kept per sample (h·w·c each, at least eight
 * of them), and LoRA on at least one c → c dense layer (2rc).
 */
export const unetSize = (width: number, size: number, imageWidth = size): NetworkSize => ({
  weights: 2 * 9 * width * width,
  activationsPerSample: 8 * size * imageWidth * width,
  loraWeights: (r) => 2 * r * width,
});

/** Training a network with Adam: bytes ≥ 4·(4P + B·activations). */
export const trainingMemory = (n: NetworkSize, batch: number): MemoryEstimate => {
  const activations = batch * n.activationsPerSample;
  return {
    bytes: F32 * (4 * n.weights + activations),
    weights: n.weights,
    path: activations > 4 * n.weights ? 'batchSize' : 'model',
  };
};

/** MLP training: bytes ≥ 4·(4P + 2B·Σᵢ wᵢ). */
export const mlpMemory = (
  hidden: readonly number[],
  timeEmbedDim: number,
  dim: number,
  batch: number,
): MemoryEstimate => trainingMemory(mlpSize(hidden, timeEmbedDim, dim), batch);

/** U-Net training: bytes ≥ 4·(4P + 8B·s²·c). */
export const unetMemory = (width: number, size: number, batch: number): MemoryEstimate =>
  trainingMemory(unetSize(width, size), batch);

export interface DistillMemoryEstimate {
  readonly bytes: number;
  /** The teacher's weights. */
  readonly weights: number;
  /** Weights of one trained role (a generator expert or a fake score): the teacher's, or one adapter's. */
  readonly roleWeights: number;
  /** Trained roles alive at once (a generator and a fake score per phase trained at the same time). */
  readonly trainedRoles: number;
  /** Frozen generator experts kept from finished phases. */
  readonly frozenExperts: number;
  readonly activations: number;
  /** What dominates: the trained and frozen copies (`experts`), or the batch's activations (`batchSize`). */
  readonly path: 'experts' | 'batchSize';
}

/**
 * Distilling a teacher into a student of `phases` phases, a lower bound:
 *   the frozen teacher                      P
 *   per phase trained at a time, its generator expert and fake score, each kept 4 times
 *   (weights, gradients, two Adam moments)   8T     (T = P for full copies, the adapter for LoRA)
 *   the finished phases' experts (sequential phasing keeps them for the rollouts)   (K − 1)·T
 *   one backward pass through a role at the largest batch   B·activations
 * bytes ≥ 4·(P + 8T·live + (K − 1)·T + B·activations); concurrent phasing trains all K at once.
 */
export const distillMemory = (
  n: NetworkSize,
  o: { readonly phases: number; readonly batch: number; readonly loraRank?: number; readonly concurrent?: boolean },
): DistillMemoryEstimate => {
  const role = o.loraRank === undefined ? n.weights : n.loraWeights(o.loraRank);
  const live = o.concurrent ? o.phases : 1;
  const frozenExperts = o.concurrent ? 0 : o.phases - 1;
  const activations = o.batch * n.activationsPerSample;
  const copies = 8 * role * live + role * frozenExperts;
  return {
    bytes: F32 * (n.weights + copies + activations),
    weights: n.weights,
    roleWeights: role,
    trainedRoles: 2 * live,
    frozenExperts,
    activations,
    path: activations > n.weights + copies ? 'batchSize' : 'experts',
  };
};

/**
 * The O(N²) metrics on N points per set (energy distance, MMD, k-NN, Vendi): MMD keeps the
 * pairwise distances within and across two sets, ≈ 2N² float64 values.
 */
export const pairwiseMemory = (points: number): number => 2 * points * points * 8;

/** This machine's memory, the budget an estimate is compared to. */
export const memoryBudget = (): number => os.totalmem();

export const formatBytes = (bytes: number): string =>
  bytes >= 1e12
    ? `${(bytes / 1e12).toFixed(1)} TB`
    : bytes >= 1e9
      ? `${(bytes / 1e9).toFixed(1)} GB`
      : `${(bytes / 1e6).toFixed(0)} MB`;

/** The refusal of an estimate over the budget: what it counts, and both sizes. */
export const tooMuchMemory = (bytes: number, budget: number, what: string): string =>
  `the run needs at least ${formatBytes(bytes)} of memory (${what}), more than this machine's ${formatBytes(budget)}`;

export const formatCount = (n: number): string =>
  n >= 1e9 ? `${(n / 1e9).toFixed(1)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : `${Math.round(n / 1e3)} k`;
