/** countTensors: a debug tap recording tf.memory().numTensors as elements pass. */
import * as tf from '@tensorflow/tfjs-core';
import { lastValueFrom, map, range, toArray } from 'rxjs';
import { useBackend } from '../../../lib/backend';
import { countTensors } from '../../../lib/operators/taps/countTensors';
import { marbles } from '../../helpers/operators';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('countTensors', () => {
  it('reports the live tensor count with its label, per element', async () => {
    const seen: Array<[string, number]> = [];
    const n0 = tf.memory().numTensors;
    const kept: tf.Tensor[] = [];
    await lastValueFrom(
      range(0, 3).pipe(
        map((i) => kept.push(tf.scalar(i))), // a deliberately leaky operator: one tensor per element
        countTensors('after leak', (label, n) => seen.push([label, n])),
        toArray(),
      ),
    );
    expect(seen).toEqual([
      ['after leak', n0 + 1],
      ['after leak', n0 + 2],
      ['after leak', n0 + 3],
    ]);
    tf.dispose(kept);
  });

  it('a clean operator shows a flat count', async () => {
    const counts: number[] = [];
    await lastValueFrom(
      range(0, 5).pipe(
        map((i) => tf.tidy(() => tf.add(tf.scalar(i), 1).dataSync()[0])),
        countTensors('clean', (_, n) => counts.push(n)),
        toArray(),
      ),
    );
    expect(new Set(counts).size).toBe(1);
  });

  it('passes elements, completion and errors through unchanged (marble)', () => {
    marbles().run(({ cold, expectObservable }) => {
      const sink = () => undefined;
      expectObservable(cold('a-b|', { a: 1, b: 2 }).pipe(countTensors('x', sink))).toBe('a-b|', { a: 1, b: 2 });
      expectObservable(cold('a-#', { a: 1 }, new Error('upstream')).pipe(countTensors('x', sink))).toBe(
        'a-#',
        { a: 1 },
        new Error('upstream'),
      );
    });
  });
});
