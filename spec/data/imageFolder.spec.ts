/**
 * PNG folders in the ImageFolder layout: classes from sorted sub-folders, grey or RGB,
 * one size for all (a mismatch refused with its path), uint8 pixels onto [−1, 1].
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { PNG } from 'pngjs';
import { useBackend } from '../../lib/backend';
import { loadImageFolder } from '../../lib/data/imageFolder';
import { loadDataset, DataError } from '../../lib/data/config';
import { rangeScaling } from '../../lib/data/scaling';

let tmp: string;
beforeAll(async () => {
  await useBackend('wasm');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imgfolder-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes an H×W PNG: grey (every channel = value(y, x)) or colour (red = value, green = 0, blue = 255). */
const png = (file: string, h: number, w: number, value: (y: number, x: number) => number, colour = false): void => {
  const img = new PNG({
    width: w,
    height: h,
    colorType: colour ? 2 : 0,
    inputColorType: 6,
    inputHasAlpha: true,
  } as never);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      const v = value(y, x);
      img.data.set(colour ? [v, 0, 255, 255] : [v, v, v, 255], i);
    }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(img, { colorType: colour ? 2 : 0, inputHasAlpha: true } as never));
};

const folder = (name: string): string => path.join(tmp, name);
const leftMessage = <A>(r: E.Either<DataError, A>): string => {
  if (E.isRight(r)) throw new Error('expected a DataError');
  expect(r.left).toBeInstanceOf(DataError);
  return r.left.message;
};

describe('image folders', () => {
  test('one sub-folder per class (sorted names), grey 8×12 images: [8, 12, 1], pixels 0 → −1, 255 → 1', () => {
    const root = folder('grey');
    png(path.join(root, 'dog', 'a.png'), 8, 12, () => 255);
    png(path.join(root, 'cat', 'b.png'), 8, 12, () => 0);
    png(path.join(root, 'cat', 'a.png'), 8, 12, (y, x) => (y === 0 && x === 0 ? 255 : 0));
    fs.writeFileSync(path.join(root, 'cat', 'notes.txt'), 'not an image');
    const d = loadImageFolder(root);
    if (E.isLeft(d)) throw d.left;
    expect(E.isRight(loadDataset({ kind: 'image-folder', path: root }))).toBe(true);
    expect([d.right.sampleShape, d.right.numClasses, d.right.size, d.right.classNames]).toEqual([
      [8, 12, 1],
      2,
      3,
      ['cat', 'dog'],
    ]);
    expect(d.right.scaling).toEqual(rangeScaling(8));
    expect(d.right.notes).toEqual([
      `${root}: 1 entries that are not .png files skipped, e.g. ${path.join(root, 'cat', 'notes.txt')}`,
    ]);
    // files in sorted order within each class: cat/a, cat/b, dog/a
    const { x0, labels } = d.right.gather([0, 1, 2]);
    const v = x0.dataSync();
    expect(Array.from(labels!.dataSync())).toEqual([0, 0, 1]);
    expect([v[0], v[1], v[96], v[2 * 96]]).toEqual([1, -1, -1, 1]);
    tf.dispose([x0, labels!]);
  });

  test('colour: C = 3, and a grey image among colour ones is repeated into RGB (with a note)', () => {
    const root = folder('rgb');
    png(path.join(root, 'a', '1.png'), 4, 4, () => 255, true);
    png(path.join(root, 'b', '1.png'), 4, 4, () => 0);
    const d = loadImageFolder(root);
    if (E.isLeft(d)) throw d.left;
    expect(d.right.sampleShape).toEqual([4, 4, 3]);
    expect(d.right.notes).toEqual([
      `${root}: 1 grayscale image(s) repeated into RGB, e.g. ${path.join(root, 'b', '1.png')}`,
    ]);
    const { x0, labels } = d.right.gather([0, 1]);
    const v = Array.from(x0.dataSync());
    expect(v.slice(0, 3)).toEqual([1, -1, 1]); // red 255, green 0, blue 255
    expect(v.slice(48, 51)).toEqual([-1, -1, -1]);
    tf.dispose([x0, labels!]);
  });

  test('images directly in the folder: unlabelled; --normalise standardises instead', () => {
    const root = folder('flat');
    png(path.join(root, 'x.png'), 4, 4, () => 10);
    png(path.join(root, 'y.png'), 4, 4, () => 30);
    const d = loadImageFolder(root, { normalise: true });
    if (E.isLeft(d)) throw d.left;
    expect([d.right.numClasses, d.right.scaling?.mapping, d.right.scaling?.shift, d.right.scaling?.scale]).toEqual([
      0,
      'standardise',
      [20],
      [10],
    ]);
    const b = d.right.gather([0, 1]);
    expect(b.labels).toBeNull();
    expect(Array.from(b.x0.dataSync()).filter((_, i) => i % 16 === 0)).toEqual([-1, 1]);
    b.x0.dispose();
  });

  test.each([
    [
      'an image of another size, by its path',
      'size',
      (root: string) => {
        png(path.join(root, 'a', '1.png'), 4, 4, () => 0);
        png(path.join(root, 'b', '2.png'), 4, 6, () => 0);
      },
      (root: string) =>
        `${path.join(root, 'b', '2.png')}: image is 4×6 (H×W), expected 4×4 like ${path.join(root, 'a', '1.png')}; ` +
        'every image must have the same size',
    ],
    [
      'a file that is not a PNG though named .png',
      'corrupt',
      (root: string) => {
        fs.mkdirSync(path.join(root, 'a'), { recursive: true });
        fs.writeFileSync(path.join(root, 'a', 'bad.png'), 'hello');
      },
      (root: string) => `${path.join(root, 'a', 'bad.png')}: not a readable PNG image`,
    ],
    [
      'an empty class folder',
      'emptyclass',
      (root: string) => {
        png(path.join(root, 'a', '1.png'), 4, 4, () => 0);
        fs.mkdirSync(path.join(root, 'b'));
      },
      (root: string) => `${path.join(root, 'b')}: class folder "b" holds no .png images`,
    ],
    [
      'class folders and images side by side',
      'mixed',
      (root: string) => {
        png(path.join(root, 'a', '1.png'), 4, 4, () => 0);
        png(path.join(root, 'top.png'), 4, 4, () => 0);
      },
      (root: string) => `${root}: holds both class sub-folders and images (top.png)`,
    ],
    [
      'a folder without images',
      'none',
      (root: string) => fs.mkdirSync(root),
      (root: string) => `${root}: no .png images found`,
    ],
    ['a missing folder', 'missing', () => undefined, (root: string) => `${root}: folder not found`],
  ])('refuses %s', (_what, name, make, message) => {
    const root = folder(name);
    make(root);
    expect(leftMessage(loadImageFolder(root))).toContain(message(root));
  });
});
