/** forwardProcess: ε from the step's "eps" seed, x_t = (1 − t)·x0 + t·ε. */
import * as tf from '@tensorflow/tfjs-core';
import { firstValueFrom, map, of } from 'rxjs';
import { useBackend } from '../../../lib/backend';
import { forwardProcess } from '../../../lib/operators/noise/forwardProcess';
import { normal } from '../../../lib/random/draws';
import { NoisedBatch, TimedBatch, disposeTensors, drawSeed } from '../../../lib/stream/types';
import { expectClose, read, values } from '../../helpers/tensors';
import { batchOf, key, marbles } from '../../helpers/operators';

beforeAll(async () => {
  await useBackend('wasm');
});

const timed = (step: number, x0: number[][], t: number[]): TimedBatch => ({
  ...batchOf(
    key(step),
    x0,
    x0.map(() => 1),
  ),
  t: tf.tensor1d(t),
});

describe('forwardProcess', () => {
  it('x_t = (1 − t)·x0 + t·ε with ε = N(0, I) drawn from drawSeed(key, "eps")', async () => {
    const x0 = [
      [1, -2],
      [0, 4],
      [3, 3],
    ];
    const t = [0, 0.25, 1];
    const b = timed(9, x0, t);
    const out = await firstValueFrom(of(b).pipe(forwardProcess()));
    const eps = read(() => normal([3, 2], drawSeed(key(9), 'eps')));
    expect(values(out.eps)).toEqual(eps);
    // by hand on the host, row by row
    const expected = x0.flatMap((row, i) => row.map((x, d) => (1 - t[i]) * x + t[i] * eps[2 * i + d]));
    expectClose(values(out.xt), expected, 1e-6);
    // t = 0 is the data, t = 1 is the noise
    expectClose(values(out.xt).slice(0, 2), [1, -2], 1e-6);
    expectClose(values(out.xt).slice(4, 6), eps.slice(4, 6), 1e-6);
    // the other fields are passed on
    expect(out.x0).toBe(b.x0);
    expect(out.t).toBe(b.t);
    expect(out.labels).toBe(b.labels);
    disposeTensors(out);
  });

  it('adds exactly two tensors (ε and x_t) per element', async () => {
    const b = timed(1, [[1, 1]], [0.5]);
    const n0 = tf.memory().numTensors;
    const out = await firstValueFrom(of(b).pipe(forwardProcess()));
    expect(tf.memory().numTensors).toBe(n0 + 2);
    disposeTensors(out);
  });

  it('is deterministic per key', async () => {
    const run = async (step: number) => {
      const out = await firstValueFrom(
        of(
          timed(
            step,
            [
              [0, 0],
              [1, 1],
            ],
            [0.5, 0.5],
          ),
        ).pipe(forwardProcess()),
      );
      const v = values(out.xt);
      disposeTensors(out);
      return v;
    };
    const a = await run(3);
    expect(await run(3)).toEqual(a);
    expect(await run(4)).not.toEqual(a);
  });

  it('preserves order and propagates errors (marble)', () => {
    marbles().run(({ cold, expectObservable }) => {
      const step = (b: NoisedBatch) => {
        const s = b.key.step;
        disposeTensors(b);
        return s;
      };
      const src = cold('a-b-c|', { a: 2, b: 0, c: 1 }).pipe(map((s) => timed(s, [[0, 0]], [0.5])));
      expectObservable(src.pipe(forwardProcess(), map(step))).toBe('x-y-z|', { x: 2, y: 0, z: 1 });
      const failing = cold('a-#', { a: 3 }, new Error('upstream')).pipe(map((s) => timed(s, [[0, 0]], [0.5])));
      expectObservable(failing.pipe(forwardProcess(), map(step))).toBe('x-#', { x: 3 }, new Error('upstream'));
    });
  });
});
