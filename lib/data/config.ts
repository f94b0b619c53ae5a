/** Which data a pipeline trains on, as an io-ts codec, and the loader that opens it. */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import type { Dataset } from './types';
import { mixtureDataset } from './mixtures';
import { VideoOptions, resolveVideoOptions, videoDataset } from './video';
import { DataError } from './errors';
import { loadMnist, loadFashionMnist } from './mnist';
import { loadNpyDataset } from './npy';
import { loadImageFolder } from './imageFolder';

export const DataConfig = t.union([
  t.type({ kind: t.literal('mixture'), name: t.keyof({ ring8: null, grid25: null, uneven7: null, rings2: null, skew3: null }) }),
  t.intersection([t.type({ kind: t.literal('mnist') }), t.partial({ split: t.keyof({ train: null, test: null, all: null }) })]),
  t.intersection([t.type({ kind: t.literal('fashion-mnist') }), t.partial({ split: t.keyof({ train: null, test: null, all: null }) })]),
  t.intersection([t.type({ kind: t.literal('npy'), path: t.string }), t.partial({ labels: t.string, normalise: t.boolean })]),
  t.intersection([t.type({ kind: t.literal('image-folder'), path: t.string }), t.partial({ normalise: t.boolean })]),
  t.intersection([t.type({ kind: t.literal('video') }), VideoOptions]),
]);
export type DataConfig = t.TypeOf<typeof DataConfig>;

export { DataError };

/** Loaders per data kind (images in ./mnist, user files in ./npy and ./imageFolder). */
const loaders: { [K in DataConfig['kind']]?: (c: Extract<DataConfig, { kind: K }>) => E.Either<DataError, Dataset> } = {
  mixture: (c) => E.right(mixtureDataset(c.name)),
  mnist: (c) => loadMnist(c.split ?? 'all'),
  'fashion-mnist': (c) => loadFashionMnist(c.split ?? 'all'),
  npy: (c) => loadNpyDataset(c.path, { labels: c.labels, normalise: c.normalise }),
  'image-folder': (c) => loadImageFolder(c.path, { normalise: c.normalise }),
  video: (c) => E.bimap((m: string) => new DataError(m), videoDataset)(resolveVideoOptions(c)),
};

export const loadDataset = (config: DataConfig): E.Either<DataError, Dataset> => {
  const load = loaders[config.kind] as ((c: DataConfig) => E.Either<DataError, Dataset>) | undefined;
  return load === undefined ? E.left(new DataError(`data.kind "${config.kind}" has no loader`)) : load(config);
};
