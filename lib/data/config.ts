/** Which data a pipeline trains on, as an io-ts codec, and the loader that opens it. */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import type { Dataset } from './types';
import { mixtureDataset } from './mixtures';
import { VideoOptions, resolveVideoOptions, videoDataset } from './video';
import { DataError } from './errors';
import { loadMnist, loadFashionMnist, fashionMnistDirs, MNIST_SIDE } from './mnist';
import { ImageShrink, ShrinkOptions, shrunkSide } from './shrink';
import { loadNpyDataset } from './npy';
import { loadImageFolder } from './imageFolder';

export const DataConfig = t.union([
  t.type({
    kind: t.literal('mixture'),
    name: t.keyof({ ring8: null, grid25: null, uneven7: null, rings2: null, skew3: null }),
  }),
  t.intersection([
    t.type({ kind: t.literal('mnist') }),
    t.partial({ split: t.keyof({ train: null, test: null, all: null }) }),
    ImageShrink,
  ]),
  t.intersection([
    t.type({ kind: t.literal('fashion-mnist') }),
    t.partial({ split: t.keyof({ train: null, test: null, all: null }) }),
    ImageShrink,
  ]),
  t.intersection([
    t.type({
      kind: t.literal('npy'),
      /** Samples [N, D] or images [N, H, W, C]; integer images are mapped onto [−1, 1], floats used as given. */
      path: t.string,
    }),
    t.partial({
      /** Integer class labels [N] (.npy). */
      labels: t.string,
      /** Standardise each channel, (x − mean)/std, instead of the default map. */
      normalise: t.boolean,
    }),
  ]),
  t.intersection([
    t.type({
      kind: t.literal('image-folder'),
      /** A folder of PNGs: one sub-folder per class (sorted names = class ids), or images only (unlabelled). */
      path: t.string,
    }),
    t.partial({
      /** Standardise each channel instead of mapping [0, 255] onto [−1, 1]. */
      normalise: t.boolean,
    }),
  ]),
  t.intersection([t.type({ kind: t.literal('video') }), VideoOptions]),
]);
export type DataConfig = t.TypeOf<typeof DataConfig>;

export { DataError };

/** The shrink fields of an image data config. */
const shrinkOf = (c: ShrinkOptions): ShrinkOptions => ({
  ...(c.pool !== undefined ? { pool: c.pool } : {}),
  ...(c.size !== undefined ? { size: c.size } : {}),
});

/** The side of an image data kind's samples: 28 as stored, or what its pool and size make of it. */
export const imageSideOf = (c: Extract<DataConfig, { kind: 'mnist' | 'fashion-mnist' }>): number =>
  shrunkSide(MNIST_SIDE, c);

/** Loaders per data kind (images in ./mnist, user files in ./npy and ./imageFolder). */
const loaders: { [K in DataConfig['kind']]?: (c: Extract<DataConfig, { kind: K }>) => E.Either<DataError, Dataset> } = {
  mixture: (c) => E.right(mixtureDataset(c.name)),
  mnist: (c) => loadMnist(c.split ?? 'all', undefined, shrinkOf(c)),
  'fashion-mnist': (c) => loadFashionMnist(c.split ?? 'all', fashionMnistDirs(), shrinkOf(c)),
  npy: (c) => loadNpyDataset(c.path, { labels: c.labels, normalise: c.normalise }),
  'image-folder': (c) => loadImageFolder(c.path, { normalise: c.normalise }),
  video: (c) => E.bimap((m: string) => new DataError(m), videoDataset)(resolveVideoOptions(c)),
};

export const loadDataset = (config: DataConfig): E.Either<DataError, Dataset> => {
  const load = loaders[config.kind] as ((c: DataConfig) => E.Either<DataError, Dataset>) | undefined;
  return load === undefined ? E.left(new DataError(`data.kind "${config.kind}" has no loader`)) : load(config);
};
