/**
 * wasm conv gradients (lib/backend/convGradients): written as forward convolutions, they
 * must match the cpu backend's stock Conv2DBackpropInput / Conv2DBackpropFilter kernels
 * (~1e-5) and a finite difference, for strides, 'same'/'valid'/numeric/explicit pads,
 * rectangular kernels and sizes that do not divide evenly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { conv2dInputGrad, conv2dFilterGrad, ConvPad } from '../../lib/backend/convGradients';

type S4 = [number, number, number, number];
interface Case {
  readonly x: S4;
  readonly f: S4;
  readonly s: number | [number, number];
  readonly pad: ConvPad;
}

const CASES: Case[] = [
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], s: 2, pad: 'same' },
  { x: [2, 7, 8, 3], f: [3, 3, 3, 4], s: 2, pad: 'same' },
  { x: [2, 9, 7, 2], f: [3, 2, 2, 5], s: [2, 3], pad: 'valid' },
  { x: [1, 10, 10, 2], f: [4, 4, 2, 3], s: 3, pad: 'valid' },
  { x: [2, 8, 8, 2], f: [3, 3, 2, 3], s: 2, pad: 1 },
  {
    x: [2, 8, 8, 2],
    f: [3, 3, 2, 3],
    s: 2,
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
  { x: [2, 6, 6, 2], f: [1, 1, 2, 3], s: 2, pad: 'valid' },
];

// seeds start at 1: tfjs treats seed 0 as "unseeded" (Math.random)
const inputs = (c: Case, i: number) => {
  const x = tf.randomNormal(c.x, 0, 1, 'float32', 10 + i) as tf.Tensor4D;
  const f = tf.randomNormal(c.f, 0, 1, 'float32', 100 + i) as tf.Tensor4D;
  const outShape = tf.tidy(() => tf.conv2d(x, f, c.s, c.pad as 'same').shape);
  const dy = tf.randomNormal(outShape, 0, 1, 'float32', 200 + i) as tf.Tensor4D;
  return { x, f, dy };
};

interface Reference {
  readonly dx: Float32Array;
  readonly dw: Float32Array;
}

/** Stock cpu kernels, called directly (independent of any registered gradient). */
const stockReference = (c: Case, i: number): Reference =>
  tf.tidy(() => {
    const { x, f, dy } = inputs(c, i);
    const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC' };
    const dx = tf
      .engine()
      .runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...attrs, inputShape: c.x } as never) as tf.Tensor;
    const dw = tf
      .engine()
      .runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: c.f } as never) as tf.Tensor;
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });

const maxRelErr = (got: ArrayLike<number>, want: ArrayLike<number>): number => {
  expect(got.length).toBe(want.length);
  let scale = 1;
  for (let k = 0; k < want.length; k++) scale = Math.max(scale, Math.abs(want[k]));
  let err = 0;
  for (let k = 0; k < want.length; k++) err = Math.max(err, Math.abs(got[k] - want[k]));
  return err / scale;
};

let reference: Reference[] = [];

beforeAll(async () => {
  await useBackend('cpu');
  reference = CASES.map(stockReference);
  await useBackend('wasm');
});

afterAll(async () => {
  await useBackend('wasm');
});

describe('conv2d gradients as forward convolutions', () => {
  it.each(CASES.map((c, i) => [i, JSON.stringify(c.pad), c.s, c] as const))(
    'case %i (pad %s, stride %p): wasm tf.grads and the formulas on wasm match stock cpu kernels',
    (i, _p, _s, c) => {
      expect(tf.getBackend()).toBe('wasm');
      const { x, f, dy } = inputs(c, i);
      const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad as 'same'), dy)),
      )([x, f]);
      expect(gx.shape).toEqual(c.x);
      expect(gf.shape).toEqual(c.f);
      expect(maxRelErr(gx.dataSync(), reference[i].dx)).toBeLessThan(1e-5);
      expect(maxRelErr(gf.dataSync(), reference[i].dw)).toBeLessThan(1e-5);
      // the forward-conv formulas themselves, on wasm (tf.grads may be served by other kernels, e.g.
      // lib/backend/native)
      const dx = conv2dInputGrad(c.x, dy, f, c.s, c.pad);
      const dw = conv2dFilterGrad(x, dy, c.f, c.s, c.pad);
      expect(maxRelErr(dx.dataSync(), reference[i].dx)).toBeLessThan(1e-5);
      expect(maxRelErr(dw.dataSync(), reference[i].dw)).toBeLessThan(1e-5);
      tf.dispose([x, f, dy, gx, gf, dx, dw]);
    },
  );

  it(
    'on cpu (filter gradient by formula, its slow stock kernel bypassed) tf.grads and the formulas match the stock ' +
      'kernels',
    async () => {
      await useBackend('cpu');
      try {
        CASES.forEach((c, i) => {
          const { x, f, dy } = inputs(c, i);
          const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad as 'same'), dy)),
          )([x, f]);
          const dx = conv2dInputGrad(c.x, dy, f, c.s, c.pad);
          const dw = conv2dFilterGrad(x, dy, c.f, c.s, c.pad);
          for (const [got, want] of [
            [gx, reference[i].dx],
            [gf, reference[i].dw],
            [dx, reference[i].dx],
            [dw, reference[i].dw],
          ] as const) {
            expect(maxRelErr(got.dataSync(), want)).toBeLessThan(1e-5);
          }
          tf.dispose([x, f, dy, gx, gf, dx, dw]);
        });
      } finally {
        await useBackend('wasm');
      }
    },
  );

  it(
    'matches a finite difference on wasm (L = Σ conv(x, W)·dy is bilinear, so the central difference is exact up ' +
      'to rounding)',
    () => {
      const c = CASES[2];
      const { x, f, dy } = inputs(c, 2);
      const loss = (a: tf.Tensor4D, b: tf.Tensor4D): number =>
        tf.tidy(() => tf.sum(tf.mul(tf.conv2d(a, b, c.s, c.pad as 'same'), dy)).dataSync()[0]);
      const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad as 'same'), dy)),
      )([x, f]);
      const h = 0.05;
      for (const [which, dir] of [
        ['x', 1],
        ['x', 2],
        ['W', 3],
        ['W', 4],
      ] as const) {
        const shape = which === 'x' ? c.x : c.f;
        const v = tf.randomNormal(shape, 0, 1, 'float32', 300 + dir) as tf.Tensor4D;
        const plus = tf.tidy(() => tf.add(which === 'x' ? x : f, tf.mul(v, h)) as tf.Tensor4D);
        const minus = tf.tidy(() => tf.sub(which === 'x' ? x : f, tf.mul(v, h)) as tf.Tensor4D);
        const fd =
          which === 'x' ? (loss(plus, f) - loss(minus, f)) / (2 * h) : (loss(x, plus) - loss(x, minus)) / (2 * h);
        const analytic = tf.tidy(() => tf.sum(tf.mul(which === 'x' ? gx : gf, v)).dataSync()[0]);
        expect(Math.abs(fd - analytic)).toBeLessThan(1e-3 * Math.max(1, Math.abs(analytic)));
        tf.dispose([v, plus, minus]);
      }
      tf.dispose([x, f, dy, gx, gf]);
    },
  );

  it('conv2dTranspose gradients on wasm and cpu match the stock cpu kernels', async () => {
    const dyShape: S4 = [2, 7, 7, 4];
    const filterShape: S4 = [3, 3, 3, 4]; // [kh, kw, outChannels of the transpose, inChannels]
    const outShape: S4 = [2, 14, 14, 3];
    const make = () => ({
      a: tf.randomNormal(dyShape, 0, 1, 'float32', 7) as tf.Tensor4D,
      w: tf.randomNormal(filterShape, 0, 1, 'float32', 8) as tf.Tensor4D,
      up: tf.randomNormal(outShape, 0, 1, 'float32', 9) as tf.Tensor4D,
    });
    const grads = () =>
      tf.tidy(() => {
        const { a, w, up } = make();
        const g = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2dTranspose(p as tf.Tensor4D, q as tf.Tensor4D, outShape, 2, 'same'), up)),
        )([a, w]);
        return [g[0].dataSync(), g[1].dataSync()] as const;
      });
    const onWasm = grads();
    await useBackend('cpu');
    let onCpu: readonly [ArrayLike<number>, ArrayLike<number>];
    let stock: readonly [ArrayLike<number>, ArrayLike<number>];
    try {
      onCpu = grads();
      // y = convT(a, W) = Conv2DBackpropInput(a, W): ∂/∂a = conv2d(up, W), ∂/∂W = Conv2DBackpropFilter(x = up, dy = a)
      stock = tf.tidy(() => {
        const { a, w, up } = make();
        const da = tf.conv2d(up, w, 2, 'same');
        const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x: up, dy: a }, {
          strides: 2,
          pad: 'same',
          dataFormat: 'NHWC',
          filterShape,
        } as never) as tf.Tensor;
        return [da.dataSync(), dw.dataSync()] as const;
      });
    } finally {
      await useBackend('wasm');
    }
    for (const got of [onWasm, onCpu]) {
      expect(maxRelErr(got[0], stock[0])).toBeLessThan(1e-5);
      expect(maxRelErr(got[1], stock[1])).toBeLessThan(1e-5);
    }
  });

  it('creates no lingering tensors', () => {
    const c = CASES[1];
    const { x, f, dy } = inputs(c, 1);
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad as 'same'), dy)),
      )([x, f]);
      tf.dispose(g);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, f, dy]);
  });
});
