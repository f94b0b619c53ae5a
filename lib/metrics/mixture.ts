/**
 * Mode metrics for samples from a known Gaussian mixture.
 * A sample belongs to its nearest centre; it is "high quality" when within 3σ_k of it.
 * A mode is covered when it holds at least `minShare` (default 10 %) of its expected share
 * of the samples.
 */
import type { GaussianMixture } from '../data/types';
import { componentStd } from '../data/mixtures';

export interface ModeReport {
  readonly modesCovered: number;
  readonly numModes: number;
  /** Percentage of samples within 3σ of their nearest centre. */
  readonly highQualityPercent: number;
  /** High-quality samples per mode. */
  readonly counts: readonly number[];
}

/** samples: row-major [N, D]. */
export const modeReport = (
  samples: Float32Array | readonly number[],
  dim: number,
  mixture: GaussianMixture,
  minShare = 0.1,
): ModeReport => {
  const n = Math.floor(samples.length / dim);
  const K = mixture.centers.length;
  const counts = new Array<number>(K).fill(0);
  let good = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let k = 0; k < K; k++) {
      let d = 0;
      for (let j = 0; j < dim; j++) d += (samples[i * dim + j] - mixture.centers[k][j]) ** 2;
      if (d < bestD) [bestD, best] = [d, k];
    }
    if (Math.sqrt(bestD) <= 3 * componentStd(mixture, best)) {
      good++;
      counts[best]++;
    }
  }
  const modesCovered = counts.filter((c, k) => c >= minShare * mixture.weights[k] * n).length;
  return { modesCovered, numModes: K, highQualityPercent: n === 0 ? 0 : (100 * good) / n, counts };
};
