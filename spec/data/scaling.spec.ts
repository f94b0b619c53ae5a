/**
 * The data ↔ model maps: integer images onto [−1, 1] by bit depth, per-channel
 * standardisation, floats as given with warnings when far from unit scale; and back.
 */
import * as E from 'fp-ts/Either';
import {
  chooseScaling,
  rangeScaling,
  standardiseScaling,
  toModel,
  toRaw,
  toStoredIntegers,
  valueStats,
  modelRange,
  scaleWarnings,
  DataScaling,
} from '../../lib/data/scaling';

const choose = (
  kind: 'float' | 'uint8' | 'uint16' | 'int',
  values: number[],
  o: { image?: boolean; normalise?: boolean; channels?: number } = {},
) =>
  chooseScaling({
    kind,
    image: o.image ?? true,
    normalise: o.normalise ?? false,
    stats: valueStats(values, o.channels ?? 1),
    what: 'x.npy',
  });

const right = <A>(r: E.Either<string, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left);
  return r.right;
};

describe('data scaling', () => {
  test('uint8 and uint16 images map their dtype range onto [−1, 1], and back', () => {
    const m8 = rangeScaling(8);
    expect(Array.from(toModel(m8, [0, 127.5, 255]))).toEqual([-1, 0, 1]);
    // float32 round trip: within float precision, and exact once rounded back to bytes
    toRaw(m8, toModel(m8, [0, 3, 254, 255])).forEach((v, i) => expect(v).toBeCloseTo([0, 3, 254, 255][i], 4));
    expect(Array.from(toStoredIntegers(m8, toRaw(m8, toModel(m8, [0, 3, 254, 255]))))).toEqual([0, 3, 254, 255]);
    const m16 = rangeScaling(16);
    expect(Array.from(toModel(m16, [0, 65535]))).toEqual([-1, 1]);
    expect([m8.dtype, m16.dtype, m8.lo, m8.hi, m16.hi]).toEqual(['uint8', 'uint16', 0, 255, 65535]);
  });

  test('samples go back to their stored integers: rounded and clipped to the dtype range', () => {
    const out = toStoredIntegers(rangeScaling(8), Float32Array.from([-40, 0.4, 0.6, 254.5, 366]));
    expect(out).toBeInstanceOf(Uint8Array);
    expect(Array.from(out)).toEqual([0, 0, 1, 255, 255]);
    expect(toStoredIntegers(rangeScaling(16), Float32Array.from([70000]))).toEqual(Uint16Array.from([65535]));
  });

  test(
    'the default map by stored type: uint8/uint16 images by range, int32/int64 by the depth their ' + 'values fit',
    () => {
      expect(right(choose('uint8', [0, 255])).scaling).toEqual(rangeScaling(8));
      expect(right(choose('uint16', [0, 4095])).scaling).toEqual(rangeScaling(16));
      const int8bit = right(choose('int', [0, 200]));
      expect(int8bit.scaling).toEqual(rangeScaling(8));
      expect(int8bit.notes).toEqual(['x.npy: integer images with values in [0, 255] read as 8-bit pixels']);
      expect(right(choose('int', [0, 1000])).scaling).toEqual(rangeScaling(16));
      const wide = choose('int', [-5, 70000]);
      expect(E.isLeft(wide) && wide.left).toBe(
        'x.npy: integer images with values -5…70000 fit neither 8-bit [0, 255] nor 16-bit [0, 65535] pixels; ' +
          'save them as uint8/uint16, or as float32 (used as given, or standardised with --normalise)',
      );
      // integer vectors are not pixels: used as given
      expect(right(choose('int', [0, 3], { image: false })).scaling.mapping).toBe('none');
    },
  );

  test('floats are used as given, figures spanning their own range', () => {
    const c = right(choose('float', [-0.5, 0.25, 2]));
    expect(c.scaling).toEqual({ mapping: 'none', shift: [0], scale: [1], lo: -0.5, hi: 2, dtype: 'float32' });
    expect(c.notes).toEqual([]);
  });

  test('--normalise standardises each channel: zero mean, unit std, and inverts exactly', () => {
    // two channels with different scales, interleaved (the last axis)
    const raw = [0, 100, 2, 300, 4, 500, 6, 700];
    const { scaling } = right(choose('float', raw, { normalise: true, channels: 2 }));
    expect(scaling.mapping).toBe('standardise');
    const x = toModel(scaling, raw, 2);
    for (const c of [0, 1]) {
      const ch = Array.from(x).filter((_, i) => i % 2 === c);
      const mean = ch.reduce((a, b) => a + b, 0) / ch.length;
      expect(mean).toBeCloseTo(0, 6);
      expect(Math.sqrt(ch.reduce((a, b) => a + (b - mean) ** 2, 0) / ch.length)).toBeCloseTo(1, 5);
    }
    Array.from(toRaw(scaling, x, 2)).forEach((v, i) => expect(v).toBeCloseTo(raw[i], 3));
    // uint8 images standardised still come back as uint8 in [0, 255]
    const u = right(choose('uint8', [0, 10, 20], { normalise: true })).scaling;
    expect([u.dtype, u.lo, u.hi]).toEqual(['uint8', 0, 255]);
    // a constant channel is only centred
    expect(standardiseScaling(valueStats([3, 3], 1), 'float32').scale).toEqual([1]);
  });

  test('warns when float data is far from unit scale: a std above 10, or values in [0, 255]', () => {
    expect(scaleWarnings(valueStats([0, 255, 128, 3], 1), 'x.npy')[0]).toMatch(
      /^x\.npy: float data used as given, but its values lie in \[0, 255\] \(0\.00…255: pixels saved as floats\?\); /,
    );
    expect(scaleWarnings(valueStats([-500, 500], 1), 'x.npy')[0]).toMatch(
      /its std is 500; the model trains best near unit scale/,
    );
    expect(scaleWarnings(valueStats([-1, 1, 0.5], 1), 'x.npy')).toEqual([]);
    expect(scaleWarnings(valueStats([0, 1, 0.5], 1), 'x.npy')).toEqual([]);
    expect(right(choose('float', [0, 255])).notes).toHaveLength(1);
  });

  test('modelRange: where the stored range lands in the model scale', () => {
    expect(modelRange(rangeScaling(8))).toEqual({ lo: -1, hi: 1 });
    const z: DataScaling = { mapping: 'standardise', shift: [10, 0], scale: [5, 1], lo: 0, hi: 20, dtype: 'float32' };
    expect(modelRange(z)).toEqual({ lo: -2, hi: 20 });
  });
});
