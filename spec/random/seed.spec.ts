/**
 * Splittable seeds and seeded draws (lib/random): every draw is a pure function of
 * (run seed, phase, step, role), so a step can be re-created from its key alone.
 */
import { lastValueFrom, of, toArray, map } from 'rxjs';
import { useBackend } from '../../lib/backend';
import { splitSeed, uniformStream, randomInts, randomInt } from '../../lib/random/seed';
import { normal, uniform } from '../../lib/random/draws';
import { StepKey, drawSeed, disposeTensors } from '../../lib/stream/types';
import { stepKeys } from '../../lib/operators/source/stepKeys';
import { sampleBatch } from '../../lib/operators/batch/sampleBatch';
import { dropCondition } from '../../lib/operators/batch/dropCondition';
import { sampleTimesteps } from '../../lib/operators/noise/sampleTimesteps';
import { forwardProcess } from '../../lib/operators/noise/forwardProcess';
import { timeRange } from '../../lib/schedule/sampling';
import { mixtureDataset } from '../../lib/data/mixtures';
import { muteNodeBackendHint, read, values } from '../helpers/tensors';

beforeAll(async () => {
  muteNodeBackendHint();
  await useBackend('wasm');
});

describe('splitSeed', () => {
  it('is a deterministic uint32 function of (seed, path)', () => {
    const a = splitSeed(42, 'phase', 1, 'step', 7, 'eps');
    expect(splitSeed(42, 'phase', 1, 'step', 7, 'eps')).toBe(a);
    expect(Number.isInteger(a) && a >= 0 && a < 2 ** 32).toBe(true);
  });

  it('different seeds, labels, orders and path lengths give different seeds', () => {
    const seeds = [
      splitSeed(42),
      splitSeed(43),
      splitSeed(42, 'a'),
      splitSeed(42, 'b'),
      splitSeed(42, 'a', 'b'),
      splitSeed(42, 'b', 'a'),
      splitSeed(42, 'ab'),
      splitSeed(42, 1),
      splitSeed(42, '1'),
      splitSeed(42, 'step', 1, 'eps'),
      splitSeed(42, 'step', 1, 'batch'),
      splitSeed(42, 'step', 2, 'eps'),
    ];
    expect(new Set(seeds).size).toBe(seeds.length);
  });

  it('has no collisions over 20 000 consecutive steps of two roles', () => {
    const seen = new Set<number>();
    for (let step = 0; step < 10000; step++)
      for (const role of ['eps', 't']) seen.add(splitSeed(0, 'phase', 0, 'step', step, role));
    expect(seen.size).toBe(20000);
  });

  it('drawSeed(key, role…) = splitSeed(seed, "phase", phase, "step", step, role…)', () => {
    const key: StepKey = { seed: 9, phase: 2, step: 31 };
    expect(drawSeed(key, 'eps')).toBe(splitSeed(9, 'phase', 2, 'step', 31, 'eps'));
    expect(drawSeed(key, 'eps')).not.toBe(drawSeed({ ...key, phase: 1 }, 'eps'));
    expect(drawSeed(key, 'eps')).not.toBe(drawSeed({ ...key, step: 32 }, 'eps'));
    expect(drawSeed(key, 'eps')).not.toBe(drawSeed({ ...key, seed: 10 }, 'eps'));
  });
});

describe('host-side draws', () => {
  it('uniformStream is in [0, 1), deterministic per seed, with mean ≈ 1/2 and variance ≈ 1/12', () => {
    const draw = (seed: number, n: number) => {
      const u = uniformStream(seed);
      return Array.from({ length: n }, () => u());
    };
    const xs = draw(123, 100000);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    // standard error of the mean: √(1/12/1e5) ≈ .0009
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
    expect(draw(123, 50)).toEqual(xs.slice(0, 50));
    expect(draw(124, 50)).not.toEqual(xs.slice(0, 50));
  });

  it('randomInts stays in [0, bound) and is roughly uniform (χ² test)', () => {
    const n = 80000;
    const bound = 8;
    const ids = randomInts(splitSeed(5, 'ints'), n, bound);
    const counts = new Array(bound).fill(0);
    let outside = 0;
    for (const k of ids) {
      if (k >= 0 && k < bound) counts[k]++;
      else outside++;
    }
    expect(outside).toBe(0);
    // χ² with 7 degrees of freedom; 24.3 is the 0.1 % critical value
    const expected = n / bound;
    const chi2 = counts.reduce((a, c) => a + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(24.3);
    expect(Array.from(randomInts(splitSeed(5, 'ints'), 100, bound))).toEqual(Array.from(ids.slice(0, 100)));
    const one = randomInt(3, 1000);
    expect(one).toBe(randomInts(3, 1, 1000)[0]);
  });
});

describe('seeded tensor draws', () => {
  it('normal and uniform are identical across calls with the same seed, different with another', () => {
    const a = read(() => normal([64, 3], 77));
    expect(read(() => normal([64, 3], 77))).toEqual(a);
    expect(read(() => normal([64, 3], 78))).not.toEqual(a);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.3); // 192 draws: sd of the mean ≈ .07
    const u = read(() => uniform([1000], -2, 3, 5));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u)).toBeLessThan(3);
    expect(read(() => uniform([1000], -2, 3, 5))).toEqual(u);
  });

  it('are bit-identical on the wasm and cpu backends (generated in JS)', async () => {
    const onWasm = read(() => normal([32], 11));
    await useBackend('cpu');
    try {
      expect(read(() => normal([32], 11))).toEqual(onWasm);
    } finally {
      await useBackend('wasm');
    }
  });
});

describe('re-creating a step from its key', () => {
  // The noising half of the teacher stream: batch → drop condition → t → x_t.
  const dataset = mixtureDataset('ring8');
  const noised = () => (source: import('rxjs').Observable<StepKey>) =>
    source.pipe(sampleBatch(dataset, 16), dropCondition(0.3, 8), sampleTimesteps(timeRange(0, 1, 3)), forwardProcess());

  it('step 17 of a 20-step run equals step 17 run alone', async () => {
    const inRun = await lastValueFrom(
      stepKeys(4, 1, 0, 20).pipe(
        noised(),
        map((b) => {
          const out =
            b.key.step >= 16
              ? { x0: values(b.x0), labels: values(b.labels!), t: values(b.t), eps: values(b.eps), xt: values(b.xt) }
              : null;
          disposeTensors(b);
          return out;
        }),
        toArray(),
      ),
    );
    const alone = await lastValueFrom(
      of<StepKey>({ seed: 4, phase: 1, step: 17 }).pipe(
        noised(),
        map((b) => {
          const out = {
            x0: values(b.x0),
            labels: values(b.labels!),
            t: values(b.t),
            eps: values(b.eps),
            xt: values(b.xt),
          };
          disposeTensors(b);
          return out;
        }),
      ),
    );
    expect(inRun[17]).toEqual(alone);
    // and it is not just any step: step 16 differs
    expect(inRun[16]!.x0).not.toEqual(alone.x0);
  });
});
