/** sampleTimesteps: t per sample inside an interval of unshifted time, then shifted. */
import { firstValueFrom, map, of } from 'rxjs';
import { useBackend } from '../../../lib/backend';
import { sampleTimesteps } from '../../../lib/operators/noise/sampleTimesteps';
import { timeRange, sampleTimes } from '../../../lib/schedule/sampling';
import { unshiftTime } from '../../../lib/schedule/time';
import { Batch, TimedBatch, disposeTensors, drawSeed } from '../../../lib/stream/types';
import { values, read } from '../../helpers/tensors';
import { batchOf, key, marbles } from '../../helpers/operators';

beforeAll(async () => {
  await useBackend('wasm');
});

const zeros = (step: number, n: number): Batch =>
  batchOf(
    key(step),
    Array.from({ length: n }, () => [0, 0]),
  );
const timesOf = async (b: Batch, sampling: ReturnType<typeof timeRange>) => {
  const out: TimedBatch = await firstValueFrom(of(b).pipe(sampleTimesteps(sampling)));
  const t = values(out.t);
  expect(out.t.shape).toEqual([b.x0.shape[0]]);
  disposeTensors(out);
  return t;
};

describe('sampleTimesteps', () => {
  it('stays inside the sub-interval (s, 1] of shifted time', async () => {
    // s = 5/6 at S = 5 ↔ u ∈ (.5, 1]
    const t = await timesOf(zeros(1, 3000), timeRange(5 / 6, 1, 5));
    expect(Math.min(...t)).toBeGreaterThanOrEqual(5 / 6 - 1e-6);
    expect(Math.max(...t)).toBeLessThanOrEqual(1 + 1e-6);
  });

  it('is shifted: at S = 5, P(t > .5) = 1 − unshift(.5) = 5/6 (not 1/2)', async () => {
    // unshift(.5, 5) = .5/(5 − 4·.5) = 1/6, so u > 1/6 ⇔ t > .5
    expect(unshiftTime(0.5, 5)).toBeCloseTo(1 / 6, 12);
    const t = await timesOf(zeros(2, 4000), timeRange(0, 1, 5));
    const share = t.filter((x) => x > 0.5).length / t.length;
    expect(Math.abs(share - 5 / 6)).toBeLessThan(0.03); // sd ≈ .006
    const plain = await timesOf(zeros(2, 4000), timeRange(0, 1, 1));
    expect(Math.abs(plain.filter((x) => x > 0.5).length / plain.length - 0.5)).toBeLessThan(0.03);
  });

  it('draws with the step\'s "t" seed: deterministic per key, equal to sampleTimes', async () => {
    const sampling = timeRange(0.2, 0.9, 3, 'logitNormal');
    const a = await timesOf(zeros(7, 64), sampling);
    expect(await timesOf(zeros(7, 64), sampling)).toEqual(a);
    expect(await timesOf(zeros(8, 64), sampling)).not.toEqual(a);
    expect(read(() => sampleTimes(sampling, 64, drawSeed(key(7), 't')))).toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0.2 - 1e-6);
    expect(Math.max(...a)).toBeLessThanOrEqual(0.9 + 1e-6);
  });

  it('keeps the batch fields', async () => {
    const b = batchOf(key(1), [[1, 2]], [3]);
    const out = await firstValueFrom(of(b).pipe(sampleTimesteps(timeRange(0, 1, 1))));
    expect(out.x0).toBe(b.x0);
    expect(out.labels).toBe(b.labels);
    expect(out.key).toBe(b.key);
    disposeTensors(out);
  });

  it('preserves order and propagates errors (marble)', () => {
    marbles().run(({ cold, expectObservable }) => {
      const step = (b: TimedBatch) => {
        const s = b.key.step;
        disposeTensors(b);
        return s;
      };
      const src = cold('a-b-c|', { a: 2, b: 0, c: 1 }).pipe(map((s) => zeros(s, 2)));
      expectObservable(src.pipe(sampleTimesteps(timeRange(0, 1, 1)), map(step))).toBe('x-y-z|', { x: 2, y: 0, z: 1 });
      const failing = cold('a#', { a: 3 }, new Error('upstream')).pipe(map((s) => zeros(s, 2)));
      expectObservable(failing.pipe(sampleTimesteps(timeRange(0, 1, 1)), map(step))).toBe(
        'x#',
        { x: 3 },
        new Error('upstream'),
      );
    });
  });
});
