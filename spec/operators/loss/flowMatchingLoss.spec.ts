/** flowMatchingLoss: NoisedBatch → LossStep whose closure is ‖v_θ(x_t, t, c) − (ε − x0)‖². */
import * as tf from '@tensorflow/tfjs-core';
import { firstValueFrom, map, of } from 'rxjs';
import { useBackend } from '../../../lib/backend';
import { flowMatchingLoss } from '../../../lib/operators/loss/flowMatchingLoss';
import { LossStep, NoisedBatch } from '../../../lib/stream/types';
import type { VelocityMlp } from '../../../lib/models/mlp';
import { read, values } from '../../helpers/tensors';
import { batchOf, key, marbles, smallMlp } from '../../helpers/operators';

let model: VelocityMlp;
beforeAll(async () => {
  await useBackend('wasm');
  model = smallMlp(3, 1);
});
afterAll(() => model.dispose());

const noised = (step: number): NoisedBatch => {
  const b = batchOf(
    key(step),
    [
      [0.1, 0.2],
      [1, -1],
      [-2, 0.5],
    ],
    [0, 3, 2],
  );
  return {
    ...b,
    t: tf.tensor1d([0.9, 0.5, 0.2]),
    eps: tf.tensor2d([
      [0.3, -1],
      [0.5, 0.5],
      [-1, 2],
    ]),
    xt: tf.tensor2d([
      [0.5, -0.2],
      [1.2, 0.7],
      [-0.4, -1.1],
    ]),
  };
};
const release = (s: LossStep) => s.owned.forEach((t) => t.dispose());

describe('flowMatchingLoss', () => {
  it('the closure equals the MSE computed by hand on the host', async () => {
    const b = noised(1);
    const step = await firstValueFrom(of(b).pipe(flowMatchingLoss(model)));
    const v = read(() => model.apply(b.xt, b.t, b.labels));
    const [x0, eps] = [values(b.x0), values(b.eps)];
    // mean over all 6 elements of (v − (ε − x0))²
    const byHand = v.reduce((s, vi, i) => s + (vi - (eps[i] - x0[i])) ** 2, 0) / v.length;
    const loss = step.loss();
    expect(loss.shape).toEqual([]);
    expect(loss.dataSync()[0]).toBeCloseTo(byHand, 5);
    loss.dispose();
    release(step);
  });

  it('carries the key, the role and owns every tensor of the batch', async () => {
    const b = noised(2);
    const step = await firstValueFrom(of(b).pipe(flowMatchingLoss(model, 'fake')));
    expect(step.key).toEqual(key(2));
    expect(step.role).toBe('fake');
    expect(new Set(step.owned)).toEqual(new Set([b.x0, b.labels, b.t, b.eps, b.xt]));
    release(step);
    const teacher = await firstValueFrom(of(noised(3)).pipe(flowMatchingLoss(model)));
    expect(teacher.role).toBe('teacher');
    release(teacher);
  });

  it('the closure is differentiable w.r.t. the model and leaves no tensors behind', async () => {
    const step = await firstValueFrom(of(noised(4)).pipe(flowMatchingLoss(model)));
    const n0 = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(step.loss, model.params.variables);
    expect(Object.keys(grads).length).toBe(model.params.variables.length);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(n0);
    release(step);
  });

  it('preserves order and propagates errors (marble)', () => {
    marbles().run(({ cold, expectObservable }) => {
      const stepOf = (s: LossStep) => {
        release(s);
        return s.key.step;
      };
      const src = cold('a-b-c|', { a: 2, b: 0, c: 1 }).pipe(map((s) => noised(s)));
      expectObservable(src.pipe(flowMatchingLoss(model), map(stepOf))).toBe('x-y-z|', { x: 2, y: 0, z: 1 });
      const failing = cold('a-#', { a: 3 }, new Error('upstream')).pipe(map((s) => noised(s)));
      expectObservable(failing.pipe(flowMatchingLoss(model), map(stepOf))).toBe('x-#', { x: 3 }, new Error('upstream'));
    });
  });
});
