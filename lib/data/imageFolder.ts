/**
 * A folder of PNG images as a Dataset, in the ImageFolder layout:
 *
 *   root/<class>/<image>.png   one sub-folder per class; class ids follow the sorted
 *                              folder names (0 = first), as torchvision numbers them
 *   root/<image>.png           no sub-folders: unlabelled images
 *
 * Every image must have the first image's height and width. Grey images (grey PNGs, or RGB
 * ones whose pixels all have R = G = B) give C = 1; when any image has colour, C = 3 and grey
 * images are repeated into RGB. Alpha is
 * dropped, and 16-bit PNGs are read at 8 bits (pngjs rescales them). Pixels are uint8,
 * so the default map is [0, 255] → [−1, 1] (lib/data/scaling.ts); `normalise`
 * standardises each channel instead.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { PNG } from 'pngjs';
import { DataError } from './errors';
import { indexedDataset, IndexedDataset } from './indexed';
import { chooseScaling, toModel, valueStats } from './scaling';

export interface ImageFolderOptions {
  /** Standardise each channel instead of mapping [0, 255] onto [−1, 1]. */
  readonly normalise?: boolean;
}

/** One decoded PNG: its pixels as RGB bytes (H·W·3) and whether any pixel has colour (grey saved as RGB is grey). */
interface Decoded {
  readonly file: string;
  readonly height: number;
  readonly width: number;
  readonly color: boolean;
  readonly rgb: Uint8Array;
}

const isPng = (name: string): boolean => name.toLowerCase().endsWith('.png');
const visible = (name: string): boolean => !name.startsWith('.');
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const listDir = (dir: string): E.Either<DataError, fs.Dirent[]> => {
  try {
    return E.right(
      fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((d) => visible(d.name))
        .sort((a, b) => byCodePoint(a.name, b.name)),
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'folder not found' : code === 'ENOTDIR' ? 'not a folder' : `cannot read (${code})`;
    return E.left(new DataError(`${dir}: ${why}`));
  }
};

const decode = (file: string): E.Either<DataError, Decoded> => {
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(fs.readFileSync(file));
  } catch (err) {
    return E.left(new DataError(`${file}: not a readable PNG image (${(err as Error).message})`));
  }
  const rgb = new Uint8Array(png.width * png.height * 3);
  let color = false;
  for (let p = 0; p < png.width * png.height; p++) {
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = png.data[p * 4 + c];
    if (rgb[p * 3] !== rgb[p * 3 + 1] || rgb[p * 3 + 1] !== rgb[p * 3 + 2]) color = true;
  }
  return E.right({ file, height: png.height, width: png.width, color, rgb });
};

/** The images and their class ids (null when the folder has no class sub-folders). */
interface Listing {
  readonly files: string[];
  readonly labels: number[] | null;
  readonly classNames: string[];
  readonly skipped: string[];
}

const listImages = (root: string): E.Either<DataError, Listing> => {
  const top = listDir(root);
  if (E.isLeft(top)) return top;
  const dirs = top.right.filter((d) => d.isDirectory());
  const topPngs = top.right.filter((d) => d.isFile() && isPng(d.name));
  if (dirs.length > 0 && topPngs.length > 0)
    return E.left(
      new DataError(
        `${root}: holds both class sub-folders and images (${topPngs[0].name}); ` +
          'expected one sub-folder per class, or images only',
      ),
    );
  if (dirs.length === 0) {
    const skipped = top.right.filter((d) => d.isFile() && !isPng(d.name)).map((d) => path.join(root, d.name));
    return E.right({ files: topPngs.map((d) => path.join(root, d.name)), labels: null, classNames: [], skipped });
  }
  const files: string[] = [];
  const labels: number[] = [];
  const skipped: string[] = [];
  for (let k = 0; k < dirs.length; k++) {
    const dir = path.join(root, dirs[k].name);
    const entries = listDir(dir);
    if (E.isLeft(entries)) return entries;
    const pngs = entries.right.filter((d) => d.isFile() && isPng(d.name));
    if (pngs.length === 0) return E.left(new DataError(`${dir}: class folder "${dirs[k].name}" holds no .png images`));
    pngs.forEach((d) => {
      files.push(path.join(dir, d.name));
      labels.push(k);
    });
    skipped.push(...entries.right.filter((d) => !(d.isFile() && isPng(d.name))).map((d) => path.join(dir, d.name)));
  }
  return E.right({ files, labels, classNames: dirs.map((d) => d.name), skipped });
};

/** Decodes every image, refusing the first whose size differs from the first image's. */
const decodeAll = (files: readonly string[]): E.Either<DataError, Decoded[]> => {
  const out: Decoded[] = [];
  for (const file of files) {
    const d = decode(file);
    if (E.isLeft(d)) return d;
    const first = out[0] ?? d.right;
    if (d.right.height !== first.height || d.right.width !== first.width)
      return E.left(
        new DataError(
          `${file}: image is ${d.right.height}×${d.right.width} (H×W), expected ${first.height}×${first.width} ` +
            `like ${first.file}; every image must have the same size`,
        ),
      );
    out.push(d.right);
  }
  return E.right(out);
};

/** The pixels [N, H, W, C] as floats: C = 3 when any image has colour, else the grey channel. */
const stack = (images: readonly Decoded[], channels: 1 | 3): Float32Array => {
  const { height, width } = images[0];
  const size = height * width * channels;
  const out = new Float32Array(images.length * size);
  images.forEach((img, n) => {
    for (let p = 0; p < height * width; p++) {
      if (channels === 1) out[n * size + p] = img.rgb[p * 3];
      else for (let c = 0; c < 3; c++) out[n * size + p * 3 + c] = img.rgb[p * 3 + c];
    }
  });
  return out;
};

export const loadImageFolder = (
  root: string,
  options: ImageFolderOptions = {},
): E.Either<DataError, IndexedDataset> => {
  const listing = listImages(root);
  if (E.isLeft(listing)) return listing;
  const { files, labels, classNames, skipped } = listing.right;
  if (files.length === 0)
    return E.left(
      new DataError(`${root}: no .png images found (expected <root>/<class>/<image>.png, or <root>/<image>.png)`),
    );
  const decoded = decodeAll(files);
  if (E.isLeft(decoded)) return decoded;
  const images = decoded.right;
  const channels = images.some((d) => d.color) ? 3 : 1;
  const { height, width } = images[0];
  const raw = stack(images, channels);
  const choice = chooseScaling({
    kind: 'uint8',
    image: true,
    normalise: options.normalise === true,
    stats: valueStats(raw, channels),
    what: root,
  });
  if (E.isLeft(choice)) return E.left(new DataError(choice.left));
  const values = toModel(choice.right.scaling, raw, channels);
  const grey = channels === 3 ? images.filter((d) => !d.color).length : 0;
  const notes = [
    ...choice.right.notes,
    ...(grey > 0
      ? [`${root}: ${grey} grayscale image(s) repeated into RGB, e.g. ${images.find((d) => !d.color)!.file}`]
      : []),
    ...(skipped.length > 0
      ? [`${root}: ${skipped.length} entries that are not .png files skipped, e.g. ${skipped[0]}`]
      : []),
  ];
  const rowSize = height * width * channels;
  return E.right(
    indexedDataset({
      name: root,
      sampleShape: [height, width, channels],
      numClasses: classNames.length,
      size: images.length,
      labels: labels === null ? null : Int32Array.from(labels),
      scaling: choice.right.scaling,
      notes,
      ...(classNames.length > 0 ? { classNames } : {}),
      copyRow: (i, out, at) => out.set(values.subarray(i * rowSize, (i + 1) * rowSize), at),
    }),
  );
};
