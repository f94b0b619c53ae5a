/** How many samples a recorded snapshot holds, by data shape (the report's and live view's figures). */

/** Samples per snapshot: enough points for a scatter plot, a few rows of images or clips. */
/**
 * Labels 0, 1, …, K−1, 0, 1, …: every class as often as `n` allows, so an image grid with one
 * row per class fills every row alike; null for unconditional models (K = 0).
 */
export const balancedLabels = (n: number, numClasses: number): Int32Array | null =>
  numClasses > 0 ? Int32Array.from({ length: n }, (_, i) => i % numClasses) : null;

export const snapshotSize = (sampleShape: readonly number[], numClasses: number): number =>
  sampleShape.length === 1 && sampleShape[0] <= 16 ? 500 : numClasses > 0 ? 8 * numClasses : 64;
