/**
 * One-step DMD's regression loss L_reg = E d(G(z), y) (docs/algorithm.md §3) against
 * values worked out by hand on tiny tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { regressionLoss, disposePairs } from '../../lib/losses/regression';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('regressionLoss', () => {
  // x − y = [[1, −2], [0.5, 0]]
  const x = () =>
    tf.tensor2d([
      [1, 0],
      [2, 1],
    ]);
  const y = () =>
    tf.tensor2d([
      [0, 2],
      [1.5, 1],
    ]);

  it('mse: mean (x − y)² = (1 + 4 + 0.25 + 0)/4 = 1.3125', () => {
    const [a, b] = [x(), y()];
    const before = tf.memory().numTensors;
    const l = regressionLoss(a, b, 'mse');
    expect(l.dataSync()[0]).toBeCloseTo(1.3125, 6);
    l.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });

  it('l1: mean |x − y| = (1 + 2 + 0.5 + 0)/4 = 0.875', () => {
    const [a, b] = [x(), y()];
    const l = regressionLoss(a, b, 'l1');
    expect(l.dataSync()[0]).toBeCloseTo(0.875, 6);
    tf.dispose([l, a, b]);
  });

  it('is 0 on equal tensors, and its gradient w.r.t. x is 2(x − y)/N (mse) and sign(x − y)/N (l1)', () => {
    const [a, b] = [x(), y()];
    const before = tf.memory().numTensors;
    const gMse = tf.grad((v: tf.Tensor) => regressionLoss(v, b, 'mse'))(a);
    const gL1 = tf.grad((v: tf.Tensor) => regressionLoss(v, b, 'l1'))(a);
    const zero = regressionLoss(a, a, 'mse');
    expect(Array.from(gMse.dataSync())).toEqual([0.5, -1, 0.25, 0].map((v) => expect.closeTo(v, 6)));
    expect(Array.from(gL1.dataSync()).slice(0, 3)).toEqual([0.25, -0.25, 0.25].map((v) => expect.closeTo(v, 6)));
    expect(zero.dataSync()[0]).toBe(0);
    tf.dispose([gMse, gL1, zero]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });

  it('disposePairs frees z, labels and y', () => {
    const before = tf.memory().numTensors;
    disposePairs({ z: tf.zeros([3, 2]), labels: tf.tensor1d([0, 1, 0], 'int32') as tf.Tensor1D, y: tf.ones([3, 2]) });
    disposePairs({ z: tf.zeros([3, 2]), labels: null, y: tf.ones([3, 2]) });
    expect(tf.memory().numTensors).toBe(before);
  });
});
