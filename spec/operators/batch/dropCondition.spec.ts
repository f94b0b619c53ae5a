/** dropCondition: labels → ∅ with probability p, from the step's "drop" seed. */
import * as tf from '@tensorflow/tfjs-core';
import { firstValueFrom, map, of } from 'rxjs';
import { useBackend } from '../../../lib/backend';
import { dropCondition } from '../../../lib/operators/batch/dropCondition';
import { Batch, disposeTensors } from '../../../lib/stream/types';
import { values } from '../../helpers/tensors';
import { batchOf, key, marbles } from '../../helpers/operators';

beforeAll(async () => {
  await useBackend('wasm');
});

const N = 4000;
const NULL = 8;
const labelled = (step: number): Batch =>
  batchOf(
    key(step),
    Array.from({ length: N }, () => [0, 0]),
    Array.from({ length: N }, (_, i) => i % 8),
  );

describe('dropCondition', () => {
  it('replaces ≈ p of the labels by the null class and keeps the others', async () => {
    const input = labelled(1);
    const before = values(input.labels!);
    const out = await firstValueFrom(of(input).pipe(dropCondition(0.25, NULL)));
    const after = values(out.labels!);
    const dropped = after.filter((l) => l === NULL).length;
    // binomial(4000, .25): sd ≈ 27, so ±100 is > 3.5 sd
    expect(Math.abs(dropped - 0.25 * N)).toBeLessThan(100);
    after.forEach((l, i) => expect(l === NULL || l === before[i]).toBe(true));
    expect(out.labels!.dtype).toBe('int32');
    expect(out.x0).toBe(input.x0); // passed on, not copied
    disposeTensors(out);
  });

  it('owns its tensors: the old labels are disposed, nothing leaks', async () => {
    const input = labelled(2);
    const n0 = tf.memory().numTensors;
    const out = await firstValueFrom(of(input).pipe(dropCondition(0.5, NULL)));
    expect(input.labels!.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(n0);
    disposeTensors(out);
  });

  it('is deterministic per key and differs between steps', async () => {
    const run = async (step: number) => {
      const out = await firstValueFrom(of(labelled(step)).pipe(dropCondition(0.3, NULL)));
      const v = values(out.labels!);
      disposeTensors(out);
      return v;
    };
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(await run(6)).not.toEqual(a);
  });

  it('p = 0 and unlabelled batches pass unchanged', async () => {
    const input = labelled(3);
    expect(await firstValueFrom(of(input).pipe(dropCondition(0, NULL)))).toBe(input);
    disposeTensors(input);
    const unlabelled = batchOf(key(3), [[1, 2]]);
    expect(await firstValueFrom(of(unlabelled).pipe(dropCondition(0.5, NULL)))).toBe(unlabelled);
    disposeTensors(unlabelled);
  });

  it('preserves order and propagates errors (marble)', () => {
    marbles().run(({ cold, expectObservable }) => {
      const step = (b: Batch) => {
        const s = b.key.step;
        disposeTensors(b);
        return s;
      };
      const src = cold('a-b|', { a: 0, b: 1 }).pipe(map((s) => batchOf(key(s), [[0, 0]], [1])));
      expectObservable(src.pipe(dropCondition(0.5, NULL), map(step))).toBe('x-y|', { x: 0, y: 1 });
      const failing = cold('a-#', { a: 4 }, new Error('upstream')).pipe(map((s) => batchOf(key(s), [[0, 0]], [1])));
      expectObservable(failing.pipe(dropCondition(0.5, NULL), map(step))).toBe('x-#', { x: 4 }, new Error('upstream'));
    });
  });
});
