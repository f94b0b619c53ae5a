/**
 * Smaller images for the image tasks: k×k average pooling, then a centre crop or a pad with
 * the background to a square side the networks can take (the U-Net and the feature
 * classifier halve an image twice, so their side must be a multiple of 4; MNIST's 28 pooled
 * by 2 is 14, which becomes 12 by cropping or 16 by padding).
 *
 *   pooled(i, j) = mean over a, b < k of x(k·i + a, k·j + b)          H/k × W/k
 *   out(i, j)    = pooled(i − o, j − o),  o = (size − H/k) / 2         background where outside
 *
 * A byte image p maps to p/127.5 − 1 as before, so a pooled pixel is the mean of its bytes
 * mapped the same way, and the background (byte 0) pads with −1.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { PositiveInt } from '../config/primitives';
import { DataError } from './errors';

/** How an image dataset is made smaller; both fields optional (unset: the images as stored). */
export const ImageShrink = t.partial({
  /** Average pooling over k×k blocks (k divides the stored height and width). */
  pool: PositiveInt,
  /** The square side after pooling: a centre crop (smaller) or a pad with the background (larger). */
  size: PositiveInt,
});
export type ImageShrink = t.TypeOf<typeof ImageShrink>;
/** The same fields unbranded: what the functions below take. */
export interface ShrinkOptions {
  readonly pool?: number;
  readonly size?: number;
}

/** The side an image of `stored` pixels has after `s` (pooled, then cropped or padded). */
export const shrunkSide = (stored: number, s: ShrinkOptions): number => s.size ?? stored / (s.pool ?? 1);

/** Whether `s` changes the images at all. */
export const shrinks = (s: ShrinkOptions): boolean => (s.pool ?? 1) !== 1 || s.size !== undefined;

/**
 * Why `s` cannot apply to square images of side `stored` (one message per field, named by
 * `where`), or [] when it can.
 */
export const shrinkIssues = (
  stored: number,
  s: ShrinkOptions,
  where = 'data',
): Array<{ path: string; message: string }> => {
  const pool = s.pool ?? 1;
  if (stored % pool !== 0)
    return [
      {
        path: `${where}.pool`,
        message: `expected a divisor of the stored side ${stored} (each output pixel averages pool×pool), got ${pool}`,
      },
    ];
  const pooled = stored / pool;
  if (s.size !== undefined && (pooled - s.size) % 2 !== 0)
    return [
      {
        path: `${where}.size`,
        message:
          `expected a side that differs from the pooled ${pooled} by an even number (the crop or pad is centred), ` +
          `got ${s.size}`,
      },
    ];
  return [];
};

/** Stored 8-bit images, N × H × W bytes. */
export interface StoredPixels {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly pixels: Uint8Array;
}

/** The value of a byte pixel, p/127.5 − 1 (a pooled pixel: of the mean of its bytes). */
export const byteToUnit = (p: number): number => p / 127.5 - 1;

/**
 * Every image of `set` pooled and cropped or padded: N × size × size values in [−1, 1]. Left when
 * the images are not square or `s` does not fit their side.
 */
export const shrinkImages = (
  set: StoredPixels,
  s: ShrinkOptions,
  where = 'data',
): E.Either<DataError, { readonly side: number; readonly values: Float32Array }> => {
  if (set.height !== set.width)
    return E.left(new DataError(`${where}.pool: expected square images, got ${set.height}×${set.width}`));
  const issues = shrinkIssues(set.height, s, where);
  if (issues.length > 0) return E.left(new DataError(`${issues[0].path}: ${issues[0].message}`));
  const k = s.pool ?? 1;
  const pooled = set.height / k;
  const side = shrunkSide(set.height, s);
  const offset = (side - pooled) / 2;
  const values = new Float32Array(set.count * side * side).fill(-1);
  const area = k * k;
  for (let n = 0; n < set.count; n++) {
    const src = n * set.height * set.width;
    const dst = n * side * side;
    for (let i = Math.max(0, -offset); i < Math.min(pooled, side - offset); i++)
      for (let j = Math.max(0, -offset); j < Math.min(pooled, side - offset); j++) {
        let sum = 0;
        for (let a = 0; a < k; a++)
          for (let b = 0; b < k; b++) sum += set.pixels[src + (k * i + a) * set.width + k * j + b];
        values[dst + (i + offset) * side + (j + offset)] = byteToUnit(sum / area);
      }
  }
  return E.right({ side, values });
};
