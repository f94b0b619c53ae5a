/**
 * Native BLAS kernels for the wasm backend (lib/backend/native): every kernel they serve
 * must give the stock wasm kernel's numbers (relative 1e-5), including gradients, and
 * switching them off must restore the stock kernels. Without the addon (no OpenBLAS at
 * install time) the wasm backend must still work and say why.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, nativeStatus, setNativeKernels, nativeKernelsActive } from '../../lib/backend';
import { addonMissing, setWasmKernelOverrides } from '../../lib/backend/native';
import { denseAct, mlpForward, sinusoidal } from '../../lib/backend/ops';
import { SINUSOIDAL } from '../../lib/backend/kernels';

/** max |a − b| / max(1, max |b|): BLAS and XNNPACK sum in different orders. */
const relErr = (a: tf.Tensor, b: tf.Tensor): number => {
  const x = a.dataSync();
  const y = b.dataSync();
  expect(a.shape).toEqual(b.shape);
  let d = 0;
  let m = 1;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    m = Math.max(m, Math.abs(y[i]));
  }
  return d / m;
};

/** f under native kernels and under the stock wasm kernels; tensors returned are compared. */
const both = (f: () => tf.Tensor | tf.Tensor[]): Array<[tf.Tensor, tf.Tensor]> => {
  const asList = (r: tf.Tensor | tf.Tensor[]) => (Array.isArray(r) ? r : [r]);
  expect(setNativeKernels(true)).toBe(true);
  const native = asList(f());
  expect(setNativeKernels(false)).toBe(false);
  const stock = asList(f());
  setNativeKernels(true);
  return native.map((n, i) => [n, stock[i]]);
};

const expectSame = (f: () => tf.Tensor | tf.Tensor[], tol = 1e-5): void => {
  for (const [n, s] of both(f)) {
    expect(relErr(n, s)).toBeLessThanOrEqual(tol);
    n.dispose();
    s.dispose();
  }
};

const rnd = (shape: number[], seed: number): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed);
const maxAbs = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

beforeAll(async () => {
  await useBackend('wasm');
});

const status = nativeStatus();

(status.available ? describe.skip : describe)('without the native addon', () => {
  it('reports why and keeps the stock wasm kernels', () => {
    expect(status.active).toBe(false);
    expect(status.reason).toMatch(/\w+/);
    expect(setNativeKernels(true)).toBe(false);
    expect(nativeKernelsActive()).toBe(false);
    const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 4]));
    expect(Array.from(y.dataSync())).toEqual(Array(8).fill(3));
  });
});

(status.available ? describe : describe.skip)('native kernels on wasm', () => {
  it('are active after useBackend("wasm") and report their BLAS', () => {
    expect(nativeKernelsActive()).toBe(true);
    expect(nativeStatus().blas).toMatch(/OpenBLAS|BLAS/i);
    expect(nativeStatus().kernels).toEqual(
      expect.arrayContaining(['BatchMatMul', '_FusedMatMul', 'Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput']),
    );
  });

  it('matMul equals the wasm kernel for every transpose, batched and broadcast', () => {
    const [M, K, N] = [37, 53, 29];
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const a = rnd(ta ? [K, M] : [M, K], 1);
      const b = rnd(tb ? [N, K] : [K, N], 2);
      expectSame(() => tf.matMul(a, b, ta, tb));
      const a3 = rnd(ta ? [3, K, M] : [3, M, K], 3);
      const b3 = rnd(tb ? [3, N, K] : [3, K, N], 4);
      const b1 = rnd(tb ? [1, N, K] : [1, K, N], 5);
      expectSame(() => tf.matMul(a3, b3, ta, tb));
      expectSame(() => tf.matMul(a3, b1, ta, tb));
      tf.dispose([a, b, a3, b3, b1]);
    }
    // 4-D batches and a large product (the MLP's hidden layer)
    const a4 = rnd([2, 3, 5, 7], 6);
    const b4 = rnd([2, 3, 7, 4], 7);
    expectSame(() => tf.matMul(a4, b4));
    const h = rnd([1024, 256], 8);
    const w = rnd([256, 256], 9);
    expectSame(() => tf.matMul(h, w));
    tf.dispose([a4, b4, h, w]);
  });

  it('fused matMul (bias + activation) equals the stock unfused ops', () => {
    // reference: plain matMul + bias + activation on the stock kernels. (The stock wasm
    // _FusedMatMul is wrong for transposeB with a non-square b — seen on tfjs 4.22 — so
    // it cannot be the reference for that case.)
    const a = rnd([64, 48], 11);
    const b = rnd([48, 40], 12);
    const bT = tf.transpose(b);
    const bias = rnd([40], 13);
    const activate: Record<string, (z: tf.Tensor) => tf.Tensor> = {
      linear: (z) => z,
      relu: tf.relu,
      relu6: tf.relu6,
      sigmoid: tf.sigmoid,
      elu: tf.elu,
      leakyrelu: (z) => tf.leakyRelu(z, 0.1),
    };
    for (const [activation, act] of Object.entries(activate)) {
      expect(setNativeKernels(false)).toBe(false);
      const expected = tf.tidy(() => act(tf.add(tf.matMul(a, b), bias)));
      expect(setNativeKernels(true)).toBe(true);
      const fusedAct = activation as 'linear';
      for (const got of [
        tf.fused.matMul({ a, b, bias, activation: fusedAct, leakyreluAlpha: 0.1 }),
        tf.fused.matMul({ a, b: bT, transposeB: true, bias, activation: fusedAct, leakyreluAlpha: 0.1 }),
      ]) {
        expect(relErr(got, expected)).toBeLessThan(1e-5);
        got.dispose();
      }
      expected.dispose();
    }
    expectSame(() => tf.fused.matMul({ a, b, bias, activation: 'relu' }));
    tf.dispose([a, b, bT, bias]);
  });

  const CONVS: Array<{
    x: number[];
    f: number[];
    s: number | [number, number];
    pad: 'same' | 'valid' | number;
    d?: number;
  }> = [
    { x: [3, 9, 9, 4], f: [3, 3, 4, 6], s: 1, pad: 'same' },
    { x: [2, 8, 8, 3], f: [3, 3, 3, 5], s: 2, pad: 'same' },
    { x: [2, 7, 8, 3], f: [3, 3, 3, 5], s: 2, pad: 'same' },
    { x: [2, 9, 7, 2], f: [3, 2, 2, 5], s: [2, 3], pad: 'valid' },
    { x: [2, 8, 8, 2], f: [3, 3, 2, 3], s: 1, pad: 1 },
    { x: [2, 6, 6, 4], f: [1, 1, 4, 3], s: 1, pad: 'valid' },
    { x: [2, 10, 10, 2], f: [3, 3, 2, 3], s: 1, pad: 'valid', d: 2 },
    // U-Net-like widths: oneDNN picks its blocked-weight kernels here
    { x: [3, 14, 14, 32], f: [3, 3, 32, 32], s: 1, pad: 'same' },
    { x: [2, 14, 14, 32], f: [3, 3, 32, 64], s: 2, pad: 'same' },
    { x: [2, 7, 7, 64], f: [1, 1, 64, 32], s: 1, pad: 'same' },
  ];

  it('conv2d and fused conv2d equal the wasm kernels', () => {
    CONVS.forEach((c, i) => {
      const x = rnd(c.x, 20 + i) as tf.Tensor4D;
      const f = rnd(c.f, 40 + i) as tf.Tensor4D;
      const bias = rnd([c.f[3]], 60 + i);
      expectSame(() => tf.conv2d(x, f, c.s, c.pad, 'NHWC', c.d ?? 1));
      expectSame(() =>
        tf.fused.conv2d({ x, filter: f, strides: c.s, pad: c.pad, dilations: c.d ?? 1, bias, activation: 'relu' }),
      );
      tf.dispose([x, f, bias]);
    });
  });

  it('conv2d gradients (native backprop kernels) equal the wasm forward-conv gradients', () => {
    CONVS.filter((c) => c.d === undefined).forEach((c, i) => {
      const x = rnd(c.x, 70 + i) as tf.Tensor4D;
      const f = rnd(c.f, 80 + i) as tf.Tensor4D;
      const dy = tf.tidy(() => rnd(tf.conv2d(x, f, c.s, c.pad).shape, 90 + i));
      expectSame(() =>
        tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, c.s, c.pad))(
          [x, f],
          dy,
        ),
      );
      tf.dispose([x, f, dy]);
    });
  });

  it('matMul gradients (transposed BLAS products) equal the explicit-transpose ones', () => {
    const a = rnd([33, 17], 101);
    const b = rnd([17, 21], 102);
    const dy = rnd([33, 21], 103);
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const A = ta ? tf.transpose(a) : a;
      const B = tb ? tf.transpose(b) : b;
      expectSame(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, ta, tb))([A, B], dy));
    }
    tf.dispose([a, b, dy]);
  });

  it(
    'denseAct (one kernel each way) equals silu(dense) on the stock kernels, values and gradients, leaving no ' +
      'tensors',
    () => {
      const x = rnd([37, 19], 121);
      const W = rnd([19, 23], 122);
      const b = rnd([23], 123);
      const dy = rnd([37, 23], 124);
      for (const activation of ['linear', 'silu'] as const) {
        const f = (xx: tf.Tensor, WW: tf.Tensor, bb: tf.Tensor) => denseAct(xx, WW, bb, activation);
        expectSame(() => f(x, W, b));
        expectSame(() => tf.grads(f)([x, W, b], dy));
        // only W's gradient wanted (a frozen input): the unused dx must not leak
        const before = tf.memory().numTensors;
        const { grads } = tf.tidy(() => {
          const v = tf.variable(W, true, `denseAct-${activation}`);
          const r = tf.variableGrads(() => tf.sum(tf.mul(f(x, v, b), dy)) as tf.Scalar, [v]);
          r.value.dispose();
          v.dispose();
          return r;
        });
        const [reference] = tf.tidy(() => tf.grads((WW: tf.Tensor) => f(x, WW, b))([W], dy));
        expect(relErr(Object.values(grads)[0], reference)).toBeLessThan(1e-6);
        tf.dispose([...Object.values(grads), reference]);
        expect(tf.memory().numTensors).toBe(before);
      }
      tf.dispose([x, W, b, dy]);
    },
  );

  it('sin, cos and concat equal the wasm kernels', () => {
    const args = tf.mul(1000, tf.randomUniform([64, 16], 0, 1, 'float32', 111));
    expectSame(() => [tf.sin(args), tf.cos(args)], 1e-6);
    const shapes: Array<[number[], number[], number]> = [
      [[1024, 2], [1024, 32], 1],
      [[3, 4, 5, 70], [3, 4, 5, 80], 3],
      [[2, 3, 4], [5, 3, 4], 0],
      [[2, 3, 4], [2, 7, 4], 1],
    ];
    // concat is an addon-free override: compare with the overrides off (stock wasm)
    shapes.forEach(([a, b, axis], i) => {
      const x = rnd(a, 120 + i);
      const y = rnd(b, 130 + i);
      const f = () => tf.concat([x, y, x], axis);
      const ours = f();
      setWasmKernelOverrides(false);
      const stockOut = f();
      setWasmKernelOverrides(true);
      expect(Array.from(ours.dataSync())).toEqual(Array.from(stockOut.dataSync()));
      expect(ours.shape).toEqual(stockOut.shape);
      tf.dispose([x, y, ours, stockOut]);
    });
    const ints = [
      tf.tensor2d(
        [
          [1, 2],
          [3, 4],
        ],
        [2, 2],
        'int32',
      ),
      tf.tensor2d([[5], [6]], [2, 1], 'int32'),
    ];
    expect(Array.from(tf.concat(ints, 1).dataSync())).toEqual([1, 2, 5, 3, 4, 6]);
    expect(tf.concat([tf.zeros([0, 3]), tf.ones([2, 3])], 0).shape).toEqual([2, 3]);
    tf.dispose([args, ...ints]);
  });

  it("sin and cos are the correctly rounded values, libm beyond the reduction's range, NaN for NaN and ±∞", () => {
    // the time embedding's range, multiples of π/2 (where the reduction cancels), tiny, signed zeros, and the
    // large arguments that take libm (those are compared with libm's float result: within one float step)
    const near = Array.from({ length: 64 }, (_, k) => (k - 32) * (Math.PI / 2) * (1 + 1e-7));
    const values = [
      ...Array.from(tf.mul(1000, tf.randomUniform([4096], -1, 1, 'float32', 112)).dataSync()),
      ...near,
      1e-30,
      -1e-30,
      0,
      -0,
      799999,
      -799999,
    ];
    const x = tf.tensor1d(values);
    const [s, c] = [tf.sin(x).dataSync(), tf.cos(x).dataSync()];
    const xs = x.dataSync();
    xs.forEach((v, i) => {
      expect(s[i]).toBe(Math.fround(Math.sin(v)));
      expect(c[i]).toBe(Math.fround(Math.cos(v)));
    });
    expect(Object.is(s[values.findIndex((v) => Object.is(v, -0))], -0)).toBe(true);
    const large = tf.tensor1d([1e6, -3.5e7, 1e30, 12.5]);
    const [sl, cl] = [tf.sin(large).dataSync(), tf.cos(large).dataSync()];
    large.dataSync().forEach((v, i) => {
      expect(Math.abs(sl[i] - Math.sin(v))).toBeLessThan(1e-7);
      expect(Math.abs(cl[i] - Math.cos(v))).toBeLessThan(1e-7);
    });
    const odd = tf.tensor1d([NaN, Infinity, -Infinity, 1]);
    expect(Array.from(tf.sin(odd).dataSync()).slice(0, 3).every(Number.isNaN)).toBe(true);
    expect(Array.from(tf.cos(odd).dataSync()).slice(0, 3).every(Number.isNaN)).toBe(true);
    tf.dispose([x, large, odd]);
  });

  it("the sinusoidal embedding: one kernel, sin and cos of the composite's arguments, its gradient", async () => {
    const t = tf.randomUniform([300], 0, 1, 'float32', 113);
    const freqs = tf.tensor1d(Array.from({ length: 16 }, (_, i) => 1000 * Math.exp((-Math.log(10000) * i) / 16)));
    const dy = rnd([300, 32], 114);
    const profile = await tf.profile(() => tf.dispose(sinusoidal(t, freqs)));
    expect(profile.kernels.map((k) => k.name)).toEqual([SINUSOIDAL]);
    const run = () => [
      sinusoidal(t, freqs),
      ...tf.grads((p: tf.Tensor, q: tf.Tensor) => sinusoidal(p, q as tf.Tensor1D))([t, freqs], dy),
    ];
    const ours = run();
    setNativeKernels(false);
    const stockOut = run();
    setNativeKernels(true);
    // a = t·ω in float32 as the composite's multiply, then the correctly rounded sin and cos
    const [tv, wv, y] = [t.dataSync(), freqs.dataSync(), ours[0].dataSync()];
    tv.forEach((tb, b) =>
      wv.forEach((w, i) => {
        const a = Math.fround(tb * w);
        expect(y[b * 32 + i]).toBe(Math.fround(Math.sin(a)));
        expect(y[b * 32 + 16 + i]).toBe(Math.fround(Math.cos(a)));
      }),
    );
    // wasm's own sin and cos of arguments up to 1000 are a few float steps off
    ours.forEach((g, i) =>
      expect(maxAbs(g, stockOut[i]) / Math.max(1, maxAbs(stockOut[i], tf.zerosLike(stockOut[i])))).toBeLessThan(1e-5),
    );
    expect(sinusoidal(tf.zeros([0]), freqs).shape).toEqual([0, 32]);
    expect(sinusoidal(tf.reshape(t, [300, 1]), freqs).shape).toEqual([300, 32]);
    tf.dispose([t, freqs, dy, ...ours, ...stockOut]);
  });

  it('add (same shape and broadcast) and split equal the wasm kernels', () => {
    const x = rnd([6, 9, 10, 12], 150);
    const pairs: Array<[number[], number[]]> = [
      [
        [6, 9, 10, 12],
        [6, 9, 10, 12],
      ],
      [[6, 9, 10, 12], [12]],
      [[12], [6, 9, 10, 12]],
      [
        [6, 9, 10, 12],
        [6, 1, 1, 12],
      ],
      [
        [6, 9, 10, 12],
        [6, 9, 1, 1],
      ],
      [
        [6, 9, 10, 12],
        [1, 9, 10, 12],
      ],
      [
        [6, 9, 10, 12],
        [6, 1, 10, 1],
      ], // two separate blocks: stock kernel
      [
        [4096, 1],
        [1, 3],
      ], // both broadcast: stock kernel
    ];
    pairs.forEach(([sa, sb], i) => {
      const a = rnd(sa, 160 + i);
      const b = rnd(sb, 170 + i);
      expectSame(() => tf.add(a, b), 0);
      tf.dispose([a, b]);
    });
    expectSame(() => tf.split(x, [3, 2, 7], 3), 0);
    expectSame(() => tf.split(x, 3, 1), 0);
    expectSame(() => tf.split(x, [1, 5], 0), 0);
    expectSame(() => tf.grad((z: tf.Tensor) => tf.concat([z, tf.mul(z, 2)], 2))(x), 0);
    x.dispose();
  });

  it('Identity shares the buffer: a clone outlives its source and keeps its values', () => {
    const x = rnd([7, 5], 140);
    const values = Array.from(x.dataSync());
    const c = tf.clone(x);
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual(values);
    c.dispose();
  });

  it('is deterministic: the same inputs give the same bits (threads and oneDNN included)', () => {
    const x = rnd([8, 14, 14, 32], 180) as tf.Tensor4D;
    const f = rnd([3, 3, 32, 48], 181) as tf.Tensor4D;
    const a = rnd([512, 256], 182);
    const w = rnd([256, 128], 183);
    const b = rnd([128], 184);
    const run = () =>
      tf.tidy(() => {
        const [dx, df] = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, 'same'))),
        )([x, f]);
        const [da, dw] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q))))([a, w]);
        // the dense layer's row-tiled forward and its gradient (dW by column blocks over the threads)
        const [dh, dv] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(denseAct(p, q, b, 'silu'))))([a, w]);
        const chain = mlpForward(a, [{ W: w, b, activation: 'silu' }]);
        // the chain with a gradient: one forward and one backward kernel over both layers
        const chainGrads = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
          tf.sum(
            tf.square(
              mlpForward(p, [
                { W: q, b, activation: 'silu' },
                { W: tf.transpose(q), b: tf.zeros([256]), activation: 'linear' },
              ]),
            ),
          ),
        )([a, w]);
        return [dx, df, da, dw, dh, dv, chain, ...chainGrads].map((t) => Array.from(t.dataSync()));
      });
    expect(run()).toEqual(run());
    tf.dispose([x, f, a, w, b]);
  });

  it('switching off restores the stock kernels; no tensors leak', () => {
    const before = tf.memory().numTensors;
    expect(setNativeKernels(false)).toBe(false);
    expect(nativeStatus().active).toBe(false);
    const y = tf.tidy(() => tf.sum(tf.matMul(tf.ones([4, 5]), tf.ones([5, 3]))));
    expect(y.dataSync()[0]).toBe(60);
    y.dispose();
    expect(setNativeKernels(true)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});

(nativeStatus().available ? describe : describe.skip)('OpenMP wait policy of the native kernels', () => {
  // a fresh process each: libgomp reads the policy once, when the addon loads it
  const policyIn = (env: NodeJS.ProcessEnv): string => {
    const script =
      "const n = require('./lib/backend/native'); n.nativeStatus(); " +
      "process.stdout.write(String(process.env.OMP_WAIT_POLICY) + ' ' + [...n.envChosenByNative].join(','));";
    const r = require('child_process').spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      cwd: `${__dirname}/../..`,
      env,
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    return r.stdout;
  };
  const { OMP_WAIT_POLICY: _unused, GOMP_SPINCOUNT: _unused2, ...base } = process.env;

  it('defaults to passive waiting (spinning threads starve other work on small machines), and says it chose it', () => {
    expect(policyIn(base)).toBe('PASSIVE OMP_WAIT_POLICY');
  });

  it("keeps the user's own choice", () => {
    expect(policyIn({ ...base, OMP_WAIT_POLICY: 'ACTIVE' })).toBe('ACTIVE ');
    expect(policyIn({ ...base, GOMP_SPINCOUNT: '1000' })).toBe('undefined ');
  });
});

describe('an addon built from older sources', () => {
  it('is named by the functions it lacks, so it is refused whole instead of failing in a kernel', () => {
    const fns = (names: string[]) => Object.fromEntries(names.map((n) => [n, () => 0]));
    const all = addonMissing({});
    expect(all).toContain('mlp');
    expect(all).toContain('mlpTrain');
    expect(all).toContain('mlpGrad');
    expect(all).toContain('gemm');
    expect(addonMissing(fns(all))).toEqual([]);
    expect(addonMissing(fns(all.filter((n) => n !== 'mlp' && n !== 'denseRows')))).toEqual(['denseRows', 'mlp']);
    expect(addonMissing({ ...fns(all), mlp: 'not a function' })).toEqual(['mlp']);
  });
});
