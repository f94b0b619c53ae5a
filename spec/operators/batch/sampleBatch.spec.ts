/** sampleBatch: StepKey → Batch, drawn with the step's "batch" seed. */
import * as tf from '@tensorflow/tfjs-core';
import { firstValueFrom, map, of } from 'rxjs';
import { useBackend } from '../../../lib/backend';
import { sampleBatch } from '../../../lib/operators/batch/sampleBatch';
import { mixtureDataset } from '../../../lib/data/mixtures';
import { Batch, StepKey, disposeTensors, drawSeed } from '../../../lib/stream/types';
import { values } from '../../helpers/tensors';
import { key, marbles } from '../../helpers/operators';

beforeAll(async () => {
  await useBackend('wasm');
});

const ring8 = mixtureDataset('ring8');
const host = (b: Batch) => ({ step: b.key.step, x0: values(b.x0), labels: values(b.labels!), shape: b.x0.shape });
const draw = async (k: StepKey, n = 32) => {
  const b = await firstValueFrom(of(k).pipe(sampleBatch(ring8, n)));
  const h = host(b);
  disposeTensors(b);
  return h;
};

describe('sampleBatch', () => {
  it('draws batchSize labelled samples, keeping the key', async () => {
    const b = await firstValueFrom(of(key(3)).pipe(sampleBatch(ring8, 32)));
    expect(b.key).toEqual(key(3));
    expect(b.x0.shape).toEqual([32, 2]);
    expect(b.labels!.shape).toEqual([32]);
    expect(b.labels!.dtype).toBe('int32');
    // every sample lies near the ring centre of its label (σ = .1, 6σ slack)
    const x = values(b.x0);
    values(b.labels!).forEach((k, i) => {
      const [cx, cy] = ring8.mixture.centers[k];
      expect(Math.hypot(x[2 * i] - cx, x[2 * i + 1] - cy)).toBeLessThan(0.6);
    });
    disposeTensors(b);
  });

  it('is deterministic per key and equals dataset.sample(n, drawSeed(key, "batch"))', async () => {
    const a = await draw(key(3));
    expect(await draw(key(3))).toEqual(a);
    expect((await draw(key(4))).x0).not.toEqual(a.x0);
    expect((await draw(key(3, 2))).x0).not.toEqual(a.x0);
    expect((await draw(key(3, 1, 1))).x0).not.toEqual(a.x0);
    const direct = ring8.sample(32, drawSeed(key(3), 'batch'));
    expect(values(direct.x0)).toEqual(a.x0);
    tf.dispose([direct.x0, direct.labels!]);
  });

  it('preserves order and propagates errors (marble)', () => {
    marbles().run(({ cold, expectObservable }) => {
      const steps = (s: Batch) => {
        const n = s.key.step;
        disposeTensors(s);
        return n;
      };
      expectObservable(
        cold('a-b-c|', { a: key(2), b: key(0), c: key(1) }).pipe(sampleBatch(ring8, 4), map(steps)),
      ).toBe('x-y-z|', { x: 2, y: 0, z: 1 });
      expectObservable(
        cold('a-#', { a: key(5) }, new Error('source failed')).pipe(sampleBatch(ring8, 4), map(steps)),
      ).toBe('x-#', { x: 5 }, new Error('source failed'));
    });
  });
});
