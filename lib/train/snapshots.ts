/** How many samples a recorded snapshot holds, by data shape (the report's and live view's figures). */

/** Samples per snapshot: enough points for a scatter plot, a few rows of images or clips. */
export const snapshotSize = (sampleShape: readonly number[], numClasses: number): number =>
  sampleShape.length === 1 && sampleShape[0] <= 16 ? 500 : numClasses > 0 ? 8 * numClasses : 64;
