/**
 * Sample images as PNG tiles (pngjs): float pixels → 8-bit grey or RGB, nearest-neighbour
 * upscaled by an integer factor so small samples stay crisp. Plots embed the tiles as
 * data URLs in vega image marks; `sample --out x.png` writes a grid of them.
 */
import { PNG } from 'pngjs';

/** One image: H × W × C floats (C = 1 or 3), row-major. */
export interface ImageData {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly values: ArrayLike<number>;
}

/** Value range mapped to [0, 255]; the data generators here use [−1, 1]. */
export interface Range {
  readonly lo: number;
  readonly hi: number;
}

export const DATA_RANGE: Range = { lo: -1, hi: 1 };

const toByte = (v: number, r: Range): number =>
  Math.max(0, Math.min(255, Math.round(((v - r.lo) / (r.hi - r.lo)) * 255)));

/** Encodes one image as PNG bytes, each pixel repeated `scale`×`scale`. */
export const encodeImage = (img: ImageData, range: Range = DATA_RANGE, scale = 1): Buffer => {
  if (img.channels !== 1 && img.channels !== 3)
    throw new RangeError(`encodeImage: expected 1 or 3 channels, got ${img.channels}`);
  const png = new PNG({ width: img.width * scale, height: img.height * scale });
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const src = (Math.floor(y / scale) * img.width + Math.floor(x / scale)) * img.channels;
      const dst = (y * png.width + x) * 4;
      for (let c = 0; c < 3; c++) png.data[dst + c] = toByte(img.values[src + (img.channels === 1 ? 0 : c)], range);
      png.data[dst + 3] = 255;
    }
  }
  return PNG.sync.write(png);
};

export const pngDataUrl = (png: Buffer): string => `data:image/png;base64,${png.toString('base64')}`;

/**
 * Assembles tiles into one raster grid (rows × cols, `gap` white pixels between tiles).
 * Tiles must share one size; a null tile stays white.
 */
export const tileGrid = (
  tiles: ReadonlyArray<ReadonlyArray<ImageData | null>>,
  range: Range = DATA_RANGE,
  scale = 1,
  gap = 2,
): Buffer => {
  const first = tiles.flat().find((t): t is ImageData => t !== null);
  if (first === undefined) throw new RangeError('tileGrid: no tiles');
  const th = first.height * scale;
  const tw = first.width * scale;
  const rows = tiles.length;
  const cols = Math.max(...tiles.map((r) => r.length));
  const png = new PNG({ width: cols * tw + (cols - 1) * gap, height: rows * th + (rows - 1) * gap, fill: true });
  png.data.fill(255);
  tiles.forEach((row, r) =>
    row.forEach((tile, c) => {
      if (tile === null) return;
      if (tile.height !== first.height || tile.width !== first.width)
        throw new RangeError(
          `tileGrid: tile [${r}, ${c}] is ${tile.height}×${tile.width}, expected ${first.height}×${first.width}`,
        );
      const one = PNG.sync.read(encodeImage(tile, range, scale));
      PNG.bitblt(one, png, 0, 0, tw, th, c * (tw + gap), r * (th + gap));
    }),
  );
  return PNG.sync.write(png);
};

/** Decoded PNG facts, for checks: size, and whether any pixel differs from the first. */
export const pngFacts = (bytes: Buffer): { width: number; height: number; distinctColours: number; blank: boolean } => {
  const png = PNG.sync.read(bytes);
  const colours = new Set<number>();
  for (let i = 0; i < png.data.length && colours.size < 1000; i += 4) colours.add(png.data.readUInt32BE(i));
  return { width: png.width, height: png.height, distinctColours: colours.size, blank: colours.size <= 1 };
};
