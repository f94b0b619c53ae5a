/**
 * A synthetic MNIST-layout dataset on disk (gzipped IDX files, as Debian ships Fashion-MNIST):
 * 28×28 images of a bright square whose position is set by the class, on a black background,
 * so a classifier can learn the classes in a few steps. For specs that must not need the
 * real datasets.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { encodeIdx } from '../../lib/data/idx';

/** Image n of class n mod 10: a 6×6 square at row 2 + 2·(class mod 5), column 4 + 12·⌊class / 5⌋, then noise. */
const pixelsOf = (count: number, seed: number): Uint8Array => {
  const px = new Uint8Array(count * 784);
  for (let n = 0; n < count; n++) {
    const c = n % 10;
    const top = 2 + 2 * (c % 5) + (n % 3);
    const left = 4 + 12 * Math.floor(c / 5);
    for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) px[n * 784 + (top + y) * 28 + left + x] = 255;
    for (let k = 0; k < 20; k++) px[n * 784 + ((n * 31 + k * 97 + seed * 13) % 784)] = (k * 53 + seed) % 256;
  }
  return px;
};

/** Writes `train` and `test` images (labels n mod 10) into `dir` in the MNIST file layout; returns `dir`. */
export const writeSyntheticIdx = (dir: string, train: number, test: number): string => {
  fs.mkdirSync(dir, { recursive: true });
  const put = (name: string, dims: number[], data: Uint8Array) =>
    fs.writeFileSync(path.join(dir, `${name}.gz`), zlib.gzipSync(encodeIdx(dims, data)));
  const labels = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 10);
  put('train-images-idx3-ubyte', [train, 28, 28], pixelsOf(train, 1));
  put('train-labels-idx1-ubyte', [train], labels(train));
  put('t10k-images-idx3-ubyte', [test, 28, 28], pixelsOf(test, 2));
  put('t10k-labels-idx1-ubyte', [test], labels(test));
  return dir;
};
