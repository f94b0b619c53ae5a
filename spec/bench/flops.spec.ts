/**
 * The bench's arithmetic count (bench/flops.ts): FLOPs of products and convolutions from
 * kernel shapes, checked against hand counts, through tf.profile as the bench runs it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, nativeKernelsActive } from '../../lib/backend';
import { DENSE, DENSE_GRAD, MLP, MLP_TRAIN, MLP_GRAD } from '../../lib/backend/native';
import { denseAct, mlpForward, DenseLayer } from '../../lib/backend/ops';
import { kernelFlops, profileIteration, matmulPeak, gflops } from '../../bench/flops';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('kernelFlops', () => {
  it('matrix products: 2·M·N·K per batch, whichever side is transposed', () => {
    expect(
      kernelFlops(
        'BatchMatMul',
        [
          [2, 3, 4],
          [2, 4, 5],
        ],
        [[2, 3, 5]],
      ),
    ).toBe(2 * 2 * 3 * 5 * 4);
    expect(
      kernelFlops(
        'BatchMatMul',
        [
          [2, 4, 3],
          [2, 4, 5],
        ],
        [[2, 3, 5]],
      ),
    ).toBe(2 * 2 * 3 * 5 * 4); // a transposed
    expect(kernelFlops('_FusedMatMul', [[7, 7], [7, 2], [2]], [[7, 2]])).toBe(2 * 7 * 2 * 7);
  });

  it('convolutions and both backprops: 2·|out|·kh·kw·Ci; other kernels count nothing', () => {
    expect(
      kernelFlops(
        'Conv2D',
        [
          [1, 5, 5, 2],
          [3, 3, 2, 4],
        ],
        [[1, 5, 5, 4]],
      ),
    ).toBe(2 * 100 * 18);
    expect(
      kernelFlops(
        'Conv2DBackpropInput',
        [
          [1, 5, 5, 4],
          [3, 3, 2, 4],
        ],
        [[1, 5, 5, 2]],
      ),
    ).toBe(2 * 100 * 18);
    expect(
      kernelFlops(
        'Conv2DBackpropFilter',
        [
          [1, 5, 5, 2],
          [1, 5, 5, 4],
        ],
        [[3, 3, 2, 4]],
      ),
    ).toBe(2 * 100 * 18);
    expect(kernelFlops('Add', [[4], [4]], [[4]])).toBe(0);
  });

  it('the native dense layer (x [M, K]·W [K, N] + b) and its gradient (dx = dz·Wᵀ and dW = xᵀ·dz)', () => {
    expect(
      kernelFlops(
        DENSE,
        [[6, 3], [3, 5], [5]],
        [
          [6, 5],
          [6, 5],
        ],
      ),
    ).toBe(2 * 6 * 5 * 3);
    expect(
      kernelFlops(
        DENSE_GRAD,
        [
          [6, 5],
          [6, 3],
          [3, 5],
          [6, 5],
        ],
        [[6, 3], [3, 5], [5]],
      ),
    ).toBe(2 * 2 * 6 * 5 * 3);
  });

  it('the native dense chain (x [M, K₀] through W₀ [K₀, K₁], W₁ [K₁, K₂]): the sum of its layers', () => {
    expect(kernelFlops(MLP, [[6, 3], [3, 5], [5], [5, 2], [2]], [[6, 2]])).toBe(2 * 6 * 3 * 5 + 2 * 6 * 5 * 2);
    expect(kernelFlops(MLP_TRAIN, [[6, 3], [3, 5], [5], [5, 2], [2]], [[6, 2], [72]])).toBe(
      2 * 6 * 3 * 5 + 2 * 6 * 5 * 2,
    );
    // its gradient: dy, x, cache, W₀, W₁ → dx and dW of both layers
    expect(kernelFlops(MLP_GRAD, [[6, 2], [6, 3], [72], [3, 5], [5, 2]], [[6, 3], [3, 5], [5], [5, 2], [2]])).toBe(
      2 * (2 * 6 * 3 * 5 + 2 * 6 * 5 * 2),
    );
  });
});

describe('profileIteration', () => {
  it('counts the FLOPs, kernels and allocation of what it runs', async () => {
    const a = tf.ones([8, 16]);
    const b = tf.ones([16, 4]);
    const p = await profileIteration(() => tf.tidy(() => void tf.relu(tf.matMul(a, b))));
    expect(p.flops).toBe(2 * 8 * 4 * 16);
    expect(p.kernels).toBe(2);
    expect(p.bytesAllocated).toBe(2 * 4 * 8 * 4);
    tf.dispose([a, b]);
  });

  it('a dense layer and its gradient count the same FLOPs on the native and the stock kernels', async () => {
    const x = tf.randomNormal([6, 3], 0, 1, 'float32', 1);
    const W = tf.randomNormal([3, 5], 0, 1, 'float32', 2);
    const b = tf.zeros([5]);
    const forward = await profileIteration(() => tf.tidy(() => void denseAct(x, W, b, 'silu')));
    expect(forward.flops).toBe(2 * 6 * 5 * 3);
    const both = await profileIteration(() =>
      tf.tidy(() => void tf.grads((p, q) => tf.sum(denseAct(p, q, b, 'silu')))([x, W])),
    );
    expect(both.flops).toBe(3 * 2 * 6 * 5 * 3);
    tf.dispose([x, W, b]);
  });

  it('a dense chain counts the FLOPs of its layers on every kernel path, with and without a gradient', async () => {
    const x = tf.randomNormal([6, 3], 0, 1, 'float32', 1);
    const layers: DenseLayer[] = [
      { W: tf.randomNormal([3, 5], 0, 1, 'float32', 2), b: tf.zeros([5]), activation: 'silu' },
      { W: tf.randomNormal([5, 2], 0, 1, 'float32', 3), b: tf.zeros([2]), activation: 'linear' },
    ];
    const forward = 2 * 6 * 3 * 5 + 2 * 6 * 5 * 2;
    const p = await profileIteration(() => tf.tidy(() => void mlpForward(x, layers)));
    expect(p.flops).toBe(forward);
    // with a gradient: the forward, then dx and dW of every layer (twice the forward)
    const params = [x, ...layers.flatMap((l) => [l.W, l.b])];
    const chain = (h: tf.Tensor, W0: tf.Tensor, b0: tf.Tensor, W1: tf.Tensor, b1: tf.Tensor) =>
      mlpForward(h, [
        { W: W0, b: b0, activation: 'silu' },
        { W: W1, b: b1, activation: 'linear' },
      ]);
    const withGrad = await profileIteration(() =>
      tf.tidy(() => void tf.grads((...p: tf.Tensor[]) => tf.sum(chain(p[0], p[1], p[2], p[3], p[4])))(params)),
    );
    expect(withGrad.flops).toBe(3 * forward);
    tf.dispose([x, ...layers.flatMap((l) => [l.W, l.b])]);
  });

  it('a convolution forward, and with the native kernels its gradient (one forward, two backprops)', async () => {
    const x = tf.randomNormal([1, 5, 5, 2], 0, 1, 'float32', 1);
    const f = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 2);
    const conv = (p: tf.Tensor, q: tf.Tensor) => tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, 'same');
    expect((await profileIteration(() => tf.tidy(() => void conv(x, f)))).flops).toBe(3600);
    if (nativeKernelsActive())
      expect(
        (await profileIteration(() => tf.tidy(() => void tf.grads((p, q) => tf.sum(conv(p, q)))([x, f])))).flops,
      ).toBe(3 * 3600);
    tf.dispose([x, f]);
  });
});

it('matmulPeak is a finite rate; gflops converts FLOPs and ms', () => {
  const before = tf.memory().numTensors;
  const peak = matmulPeak(64, 2);
  expect(Number.isFinite(peak) && peak > 0).toBe(true);
  expect(tf.memory().numTensors).toBe(before);
  expect(gflops(2e9, 100)).toBe(20);
});
