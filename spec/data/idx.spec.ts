/**
 * IDX parsing (MNIST-style files) and the image-set checks on top of it: every malformed
 * case is refused with the file name and what was expected. Fashion-MNIST is read from
 * a synthetic fixture (gzipped, like Debian ships it) and, when Debian's
 * dataset-fashion-mnist is installed, from the real package.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { parseIdx, encodeIdx, readIdxFile } from '../../lib/data/idx';
import { readImageSet, loadFashionMnist, FASHION_MNIST_DIRS } from '../../lib/data/mnist';
import { loadDataset, DataConfig, DataError } from '../../lib/data/config';
import { decodeOrThrow } from '../../lib/config/report';
import type { IndexedDataset } from '../../lib/data/indexed';

const leftMessage = <A>(r: E.Either<DataError, A>): string => {
  if (E.isRight(r)) throw new Error('expected a DataError');
  expect(r.left).toBeInstanceOf(DataError);
  return r.left.message;
};

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idx-spec-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37 + seed * 11) % 256);

describe('parseIdx', () => {
  it('round-trips what encodeIdx writes', () => {
    const data = bytes(2 * 3 * 4, 1);
    const r = parseIdx(encodeIdx([2, 3, 4], data), 'f');
    expect(E.isRight(r) && r.right.dims).toEqual([2, 3, 4]);
    expect(E.isRight(r) && Array.from(r.right.data)).toEqual(Array.from(data));
  });

  it('reads the header big-endian (MNIST magic 0x00000803, 60000 × 28 × 28)', () => {
    const header = Uint8Array.from([0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28]);
    const file = new Uint8Array(header.length + 60000 * 784);
    file.set(header);
    const r = parseIdx(file, 'train');
    expect(E.isRight(r) && r.right.dims).toEqual([60000, 28, 28]);
  });

  const good = encodeIdx([2, 2], Uint8Array.from([1, 2, 3, 4]));
  it.each([
    ['an empty file', new Uint8Array(0), /f\.idx: truncated IDX header: expected at least 4 bytes, got 0/],
    [
      'bad magic',
      Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]),
      /f\.idx: not an IDX file: expected magic bytes 0x00 0x00, got 0x01 0x00/,
    ],
    [
      'a non-byte element type',
      Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]),
      /unsupported IDX element type 0x0d \(float32\); expected 0x08 \(unsigned byte\)/,
    ],
    ['rank 0', Uint8Array.from([0, 0, 8, 0]), /IDX rank 0: expected at least one dimension/],
    ['a truncated header', good.subarray(0, 9), /truncated IDX header: rank 2 needs 12 header bytes, got 9/],
    [
      'truncated data',
      good.subarray(0, good.length - 1),
      /truncated IDX data: dimensions \[2, 2\] need 4 bytes, got 3/,
    ],
    ['trailing bytes', Uint8Array.from([...good, 9, 9]), /dimensions \[2, 2\] need 4 bytes, but 2 extra bytes follow/],
  ])('refuses %s', (_what, file, message) => {
    expect(leftMessage(parseIdx(file, 'f.idx'))).toMatch(message);
  });

  it('reads gzipped files, and names a missing or corrupt file', () => {
    const f = path.join(dir, 'a-idx1-ubyte.gz');
    fs.writeFileSync(f, zlib.gzipSync(encodeIdx([3], Uint8Array.from([7, 8, 9]))));
    const r = readIdxFile(f);
    expect(E.isRight(r) && Array.from(r.right.data)).toEqual([7, 8, 9]);
    expect(leftMessage(readIdxFile(path.join(dir, 'missing')))).toBe(`${path.join(dir, 'missing')}: file not found`);
    const bad = path.join(dir, 'bad.gz');
    fs.writeFileSync(bad, 'not gzip');
    expect(leftMessage(readIdxFile(bad))).toMatch(new RegExp(`^${bad}: not a valid gzip file`));
  });
});

describe('readImageSet', () => {
  const write = (name: string, dims: number[], data: Uint8Array): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, encodeIdx(dims, data));
    return f;
  };
  const images = () => write('img', [3, 2, 2], bytes(12, 2));

  it('pairs images [N, H, W] with labels [N]', () => {
    const r = readImageSet(images(), write('lab', [3], Uint8Array.from([0, 9, 4])), 10);
    expect(E.isRight(r) && [r.right.count, r.right.height, r.right.width, Array.from(r.right.labels)]).toEqual([
      3,
      2,
      2,
      [0, 9, 4],
    ]);
  });
  it.each([
    [
      'images of rank 2',
      () => readImageSet(write('img2', [3, 4], bytes(12, 3)), write('l', [3], Uint8Array.from([0, 1, 2])), 10),
      /img2: expected image dimensions \[N, H, W\], got \[3, 4\]/,
    ],
    [
      'labels of rank 2',
      () => readImageSet(images(), write('l2', [3, 1], Uint8Array.from([0, 1, 2])), 10),
      /l2: expected label dimensions \[N\], got \[3, 1\]/,
    ],
    [
      'a label count mismatch',
      () => readImageSet(images(), write('l3', [2], Uint8Array.from([0, 1])), 10),
      /l3: expected 3 labels \(one per image in .*img\), got 2/,
    ],
    [
      'a label out of range',
      () => readImageSet(images(), write('l4', [3], Uint8Array.from([0, 10, 1])), 10),
      /l4: label 1 is 10, expected 0–9/,
    ],
  ])('refuses %s', (_what, read, message) => {
    expect(leftMessage(read())).toMatch(message);
  });
});

describe('Fashion-MNIST', () => {
  it('says how to install it when absent', () => {
    const msg = leftMessage(loadFashionMnist('all', [path.join(dir, 'nowhere')]));
    expect(msg).toMatch(
      /Fashion-MNIST is not installed \(looked in .*nowhere\): apt-get install dataset-fashion-mnist/,
    );
  });

  it('reads a gzipped Debian-layout directory (synthetic fixture): splits, counts, labels, range', () => {
    const fx = path.join(dir, 'fashion');
    fs.mkdirSync(fx);
    const put = (name: string, dims: number[], data: Uint8Array) =>
      fs.writeFileSync(path.join(fx, `${name}.gz`), zlib.gzipSync(encodeIdx(dims, data)));
    const px = (n: number, seed: number) =>
      Uint8Array.from({ length: n * 784 }, (_, i) => (i % 784 === 0 ? 255 : i % 784 === 1 ? 0 : (i * seed) % 256));
    put('train-images-idx3-ubyte', [5, 28, 28], px(5, 3));
    put('train-labels-idx1-ubyte', [5], Uint8Array.from([0, 1, 2, 3, 4]));
    put('t10k-images-idx3-ubyte', [2, 28, 28], px(2, 5));
    put('t10k-labels-idx1-ubyte', [2], Uint8Array.from([8, 9]));
    const sizes = (['train', 'test', 'all'] as const).map((s) => {
      const r = loadFashionMnist(s, [path.join(dir, 'nowhere'), fx]);
      if (E.isLeft(r)) throw r.left;
      return r.right.size;
    });
    expect(sizes).toEqual([5, 2, 7]);
    const all = loadFashionMnist('all', [fx]);
    if (E.isLeft(all)) throw all.left;
    expect(all.right.sampleShape).toEqual([28, 28, 1]);
    const b = all.right.gather([0, 6]);
    expect(Array.from(b.labels!.dataSync())).toEqual([0, 9]);
    const v = b.x0.dataSync();
    expect([v[0], v[1], v[784]]).toEqual([1, -1, 1]);
    tf.dispose([b.x0, b.labels!]);
  });

  it('data.kind "fashion-mnist" with pool 2, size 12 gives the pooled centre of each image (synthetic fixture)', () => {
    const fx = path.join(dir, 'fashion-small');
    fs.mkdirSync(fx);
    const put = (name: string, dims: number[], data: Uint8Array) =>
      fs.writeFileSync(path.join(fx, `${name}.gz`), zlib.gzipSync(encodeIdx(dims, data)));
    const px = Uint8Array.from({ length: 3 * 784 }, (_, i) => (i * 7 + 3) % 256);
    put('train-images-idx3-ubyte', [3, 28, 28], px);
    put('train-labels-idx1-ubyte', [3], Uint8Array.from([4, 5, 6]));
    put('t10k-images-idx3-ubyte', [1, 28, 28], px.subarray(0, 784));
    put('t10k-labels-idx1-ubyte', [1], Uint8Array.from([7]));
    const before = process.env.FASHION_MNIST_DIR;
    process.env.FASHION_MNIST_DIR = fx;
    try {
      const r = loadDataset(decodeOrThrow(DataConfig, { kind: 'fashion-mnist', split: 'train', pool: 2, size: 12 }));
      if (E.isLeft(r)) throw r.left;
      expect([r.right.sampleShape, r.right.size, r.right.numClasses]).toEqual([[12, 12, 1], 3, 10]);
      const b = (r.right as IndexedDataset).gather([2]);
      const v = b.x0.dataSync();
      // output (i, j) is pooled pixel (i + 1, j + 1): the mean of rows 2i+2, 2i+3 and columns 2j+2, 2j+3
      const at = (i: number, j: number): number => {
        const rows = [2 * i + 2, 2 * i + 3];
        const cols = [2 * j + 2, 2 * j + 3];
        const sum = rows.reduce((a, y) => a + cols.reduce((c, x) => c + px[2 * 784 + y * 28 + x], 0), 0);
        return sum / 4 / 127.5 - 1;
      };
      for (const [i, j] of [
        [0, 0],
        [5, 7],
        [11, 11],
      ])
        expect(v[i * 12 + j]).toBeCloseTo(at(i, j), 5);
      expect(Array.from(b.labels!.dataSync())).toEqual([6]);
      tf.dispose([b.x0, b.labels!]);
      const bad = loadDataset(decodeOrThrow(DataConfig, { kind: 'fashion-mnist', split: 'train', pool: 5 }));
      expect(E.isLeft(bad) && bad.left.message).toMatch(/data\.pool: expected a divisor of the stored side 28/);
    } finally {
      if (before === undefined) delete process.env.FASHION_MNIST_DIR;
      else process.env.FASHION_MNIST_DIR = before;
    }
  });

  const installed = fs.existsSync(path.join(FASHION_MNIST_DIRS[0], 'train-images-idx3-ubyte.gz'));
  (installed ? it : it.skip)(
    'reads the installed Debian package: 60000 + 10000 images, 10 classes (skipped when dataset-fashion-mnist is ' +
      'not installed)',
    () => {
      const sizes = (['train', 'test'] as const).map((split) => {
        const s = loadDataset({ kind: 'fashion-mnist', split });
        if (E.isLeft(s)) throw s.left;
        return s.right.size;
      });
      expect(sizes).toEqual([60000, 10000]);
      const r = loadDataset({ kind: 'fashion-mnist' });
      if (E.isLeft(r)) throw r.left;
      expect([r.right.size, r.right.numClasses]).toEqual([70000, 10]);
      const b = r.right.sample(32, 4);
      const v = b.x0.dataSync();
      expect(Math.min(...v)).toBeGreaterThanOrEqual(-1);
      expect(Math.max(...v)).toBeLessThanOrEqual(1);
      tf.dispose([b.x0, b.labels!]);
    },
  );
});
