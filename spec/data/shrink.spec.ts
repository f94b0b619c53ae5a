/**
 * Smaller images: k×k average pooling, then a centred crop or a pad with the background,
 * checked against hand-computed pixels on tiny synthetic images; every shape that cannot
 * be made is refused with the field and what was expected.
 */
import * as E from 'fp-ts/Either';
import { shrinkImages, shrinkIssues, shrunkSide, shrinks } from '../../lib/data/shrink';

/** One or more 4×4 byte images, row-major. */
const images = (...rows: number[][]) => ({
  count: rows.length,
  height: 4,
  width: 4,
  pixels: Uint8Array.from(rows.flat()),
});
const unit = (p: number): number => p / 127.5 - 1;

// 4×4 image: its 2×2 blocks average to 10, 50, 90, 255
const img = [0, 20, 40, 60, 10, 10, 40, 60, 80, 100, 255, 255, 80, 100, 255, 255];

const values = (r: ReturnType<typeof shrinkImages>) => {
  if (E.isLeft(r)) throw r.left;
  return { side: r.right.side, values: Array.from(r.right.values) };
};

describe('shrinkImages', () => {
  it('pools each k×k block to the mean of its pixels, mapped like one byte (p/127.5 − 1)', () => {
    const r = values(shrinkImages(images(img), { pool: 2 }));
    expect(r.side).toBe(2);
    [10, 50, 90, 255].forEach((p, i) => expect(r.values[i]).toBeCloseTo(unit(p), 6));
  });

  it('pads the pooled image with the background (−1) around it, centred', () => {
    const r = values(shrinkImages(images(img), { pool: 2, size: 4 }));
    expect(r.side).toBe(4);
    const inner = [5, 6, 9, 10];
    r.values.forEach((v, i) => {
      if (!inner.includes(i)) expect(v).toBe(-1);
    });
    [10, 50, 90, 255].forEach((p, k) => expect(r.values[inner[k]]).toBeCloseTo(unit(p), 6));
  });

  it('crops the centre without pooling (pool 1), image after image', () => {
    const second = img.map((p) => 255 - p);
    const r = values(shrinkImages(images(img, second), { size: 2 }));
    expect(r.side).toBe(2);
    const centre = (x: number[]) => [x[5], x[6], x[9], x[10]].map(unit);
    [...centre(img), ...centre(second)].forEach((v, i) => expect(r.values[i]).toBeCloseTo(v, 6));
  });

  it.each([
    [{ pool: 3 }, 'data.pool', /divisor of the stored side 4.*got 3/],
    [{ pool: 2, size: 3 }, 'data.size', /differs from the pooled 2 by an even number.*got 3/],
  ])('refuses %j at %s', (s, at, message) => {
    const issues = shrinkIssues(4, s);
    expect(issues.map((i) => i.path)).toEqual([at]);
    expect(issues[0].message).toMatch(message);
    const r = shrinkImages(images(img), s);
    expect(E.isLeft(r) && r.left.message).toMatch(new RegExp(`^${at.replace('.', '\\.')}: `));
  });

  it('refuses images that are not square', () => {
    const r = shrinkImages({ count: 1, height: 2, width: 4, pixels: new Uint8Array(8) }, { pool: 2 });
    expect(E.isLeft(r) && r.left.message).toMatch(/square images, got 2×4/);
  });

  it('reports the side it makes and whether it changes anything', () => {
    expect([shrunkSide(28, {}), shrunkSide(28, { pool: 2 }), shrunkSide(28, { pool: 2, size: 12 })]).toEqual([
      28, 14, 12,
    ]);
    expect([shrinks({}), shrinks({ pool: 1 }), shrinks({ pool: 2 }), shrinks({ size: 24 })]).toEqual([
      false,
      false,
      true,
      true,
    ]);
  });
});
