/** Sample sets read from `.npy` files, for `evaluateSamples`. */
import * as E from 'fp-ts/Either';
import { readNpy, npyToLabels, npyToModel } from '../data/npy';
import { DataError } from '../data/errors';
import type { SampleSet } from './evaluate';

/**
 * A sample set from `.npy` files (values, optional labels [N]) in the model's scale, as `train` maps
 * data: integer images (uint8 from `sample`, or the training set itself) onto [−1, 1], floats as given.
 * `mapped` says which of the two happened. Throws with the file's name on bad input.
 */
export const readSampleSet = (
  file: string,
  labelsFile: string | undefined,
): SampleSet & { readonly mapped: boolean } => {
  const a = readNpy(file);
  if (E.isLeft(a)) throw a.left;
  const values = npyToModel(a.right, file);
  if (E.isLeft(values)) throw values.left;
  let labels: Int32Array | null = null;
  if (labelsFile !== undefined) {
    const l = readNpy(labelsFile);
    if (E.isLeft(l)) throw l.left;
    if (l.right.shape.length !== 1 || l.right.shape[0] !== a.right.shape[0])
      throw new DataError(
        `${labelsFile}: expected labels of shape [${a.right.shape[0]}] (one per sample of ${file}), ` +
          `got [${l.right.shape.join(', ')}]`,
      );
    const ids = npyToLabels(l.right, labelsFile);
    if (E.isLeft(ids)) throw ids.left;
    labels = ids.right;
  }
  return {
    values: values.right.values,
    shape: a.right.shape,
    labels,
    mapped: values.right.scaling.mapping === 'range',
  };
};
