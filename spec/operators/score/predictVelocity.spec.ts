/** predictVelocity: v = model(x_t, t, c), optionally with classifier-free guidance. */
import * as tf from '@tensorflow/tfjs-core';
import { firstValueFrom, map, of } from 'rxjs';
import { useBackend } from '../../../lib/backend';
import { predictVelocity } from '../../../lib/operators/score/predictVelocity';
import { NoisedBatch, ScoredBatch, disposeTensors } from '../../../lib/stream/types';
import type { VelocityMlp } from '../../../lib/models/mlp';
import { expectClose, read, values } from '../../helpers/tensors';
import { batchOf, key, marbles, smallMlp } from '../../helpers/operators';

let model: VelocityMlp;
let uncond: VelocityMlp;
beforeAll(async () => {
  await useBackend('wasm');
  model = smallMlp(3, 1);
  uncond = smallMlp(0, 2);
});
afterAll(() => {
  model.dispose();
  uncond.dispose();
});

const noised = (step: number, labels: number[] | null = [0, 1, 2, 3]): NoisedBatch => {
  const b = batchOf(
    key(step),
    [
      [0.1, 0.2],
      [1, -1],
      [-2, 0.5],
      [0.3, 0.3],
    ],
    labels,
  );
  const xt = tf.tensor2d([
    [0.5, -0.2],
    [1.2, 0.7],
    [-0.4, -1.1],
    [2, 0],
  ]);
  return { ...b, t: tf.tensor1d([0.9, 0.5, 0.2, 0.7]), eps: tf.zerosLike(b.x0), xt };
};

describe('predictVelocity', () => {
  it('g = 1 is one conditional pass: v = model(x_t, t, c)', async () => {
    const b = noised(1);
    const out = await firstValueFrom(of(b).pipe(predictVelocity(model)));
    const direct = model.apply(b.xt, b.t, b.labels);
    expect(values(out.v)).toEqual(values(direct));
    expect(out.v.shape).toEqual([4, 2]);
    expect(out.xt).toBe(b.xt);
    direct.dispose();
    disposeTensors(out);
  });

  it('g = 3: v = v(∅) + g·(v(c) − v(∅)) with two separate forwards, computed by hand', async () => {
    const b = noised(2, [0, 1, 2, 1]);
    const out = await firstValueFrom(of(b).pipe(predictVelocity(model, 3)));
    const vc = read(() => model.apply(b.xt, b.t, b.labels));
    const nullLabels = tf.tensor1d([3, 3, 3, 3], 'int32'); // ∅ = numClasses
    const vu = read(() => model.apply(b.xt, b.t, nullLabels));
    const byHand = vu.map((u, i) => u + 3 * (vc[i] - u));
    expectClose(values(out.v), byHand, 1e-5);
    // and guidance actually changes the prediction
    expect(Math.max(...byHand.map((x, i) => Math.abs(x - vc[i])))).toBeGreaterThan(1e-3);
    nullLabels.dispose();
    disposeTensors(out);
  });

  it('a null-labelled batch is a plain unconditional pass; unconditional models ignore guidance', async () => {
    const b = noised(3, null);
    const out = await firstValueFrom(of(b).pipe(predictVelocity(model, 4)));
    const nullLabels = tf.tensor1d([3, 3, 3, 3], 'int32');
    expectClose(
      values(out.v),
      read(() => model.apply(b.xt, b.t, nullLabels)),
      1e-6,
    );
    disposeTensors(out);
    const c = noised(4);
    const out2 = await firstValueFrom(of(c).pipe(predictVelocity(uncond, 4)));
    expectClose(
      values(out2.v),
      read(() => uncond.apply(c.xt, c.t, null)),
      1e-6,
    );
    disposeTensors(out2);
    nullLabels.dispose();
  });

  it('adds exactly one tensor (v) per element', async () => {
    const b = noised(5);
    const n0 = tf.memory().numTensors;
    const out = await firstValueFrom(of(b).pipe(predictVelocity(model, 2)));
    expect(tf.memory().numTensors).toBe(n0 + 1);
    disposeTensors(out);
  });

  it('preserves order and propagates errors (marble)', () => {
    marbles().run(({ cold, expectObservable }) => {
      const step = (b: ScoredBatch) => {
        const s = b.key.step;
        disposeTensors(b);
        return s;
      };
      const src = cold('a-b-c|', { a: 2, b: 0, c: 1 }).pipe(map((s) => noised(s)));
      expectObservable(src.pipe(predictVelocity(model, 2), map(step))).toBe('x-y-z|', { x: 2, y: 0, z: 1 });
      const failing = cold('a-#', { a: 3 }, new Error('upstream')).pipe(map((s) => noised(s)));
      expectObservable(failing.pipe(predictVelocity(model, 2), map(step))).toBe('x-#', { x: 3 }, new Error('upstream'));
    });
  });

  it('a wrongly shaped x_t errors the stream with the expected shape', async () => {
    const b = noised(6);
    const bad = { ...b, xt: tf.zeros([4, 3]) };
    await expect(firstValueFrom(of(bad).pipe(predictVelocity(model)))).rejects.toThrow(
      'mlp input x_t: expected shape [B, 2], got [4, 3]',
    );
    disposeTensors(bad);
    b.xt.dispose();
  });
});
