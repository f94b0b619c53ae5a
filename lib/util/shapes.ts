import * as tf from '@tensorflow/tfjs-core';

export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** Checks a tensor's shape against a pattern; null matches any size (the batch). */
export const assertShape = (x: tf.Tensor, expected: ReadonlyArray<number | null>, what: string): void => {
  const ok = x.rank === expected.length && expected.every((d, i) => d === null || d === x.shape[i]);
  if (!ok) {
    const pattern = expected.map((d) => (d === null ? 'B' : String(d))).join(', ');
    throw new ShapeError(`${what}: expected shape [${pattern}], got [${x.shape.join(', ')}]`);
  }
};
