/**
 * How `sample` splits a large draw into chunks: points a million values at a time, images (through a U-Net) a
 * quarter of that, halved again for a class-conditional teacher, whose CFG passes every sample twice.
 */
import { chunkSamples, sampleChunks } from '../../cli/sample';
import type { LoadedModel } from '../../cli/models';

const stub = (kind: 'teacher' | 'student', sampleShape: number[], numClasses: number): LoadedModel => ({
  kind,
  method: kind,
  sampleShape,
  numClasses,
  nfe: 1,
  data: { kind: 'unknown' },
  scaling: { mapping: 'none', shift: [0], scale: [1], lo: -1, hi: 1, dtype: 'float32' } as LoadedModel['scaling'],
  sample: (n) => ({
    values: new Float32Array(n * sampleShape.reduce((a, b) => a * b, 1)),
    shape: [n, ...sampleShape],
    labels: null,
  }),
  dispose: () => undefined,
});

describe('sample chunks', () => {
  it('2-D points: 2^20 values per chunk, halved for a class-conditional teacher', () => {
    expect(chunkSamples(stub('student', [2], 8))).toBe(524288);
    expect(chunkSamples(stub('teacher', [2], 8))).toBe(262144);
    expect(chunkSamples(stub('teacher', [2], 0))).toBe(524288);
  });

  it('28×28 digits from a guided teacher: 167 per pass, so 1000 samples take 6 chunks', () => {
    expect(chunkSamples(stub('teacher', [28, 28, 1], 10))).toBe(167);
    expect(chunkSamples(stub('student', [28, 28, 1], 10))).toBe(334);
    const sizes = [...sampleChunks(stub('teacher', [28, 28, 1], 10), 1000, 0, undefined, {})].map((c) => c.shape[0]);
    expect(sizes).toEqual([167, 167, 167, 167, 167, 165]);
  });
});
