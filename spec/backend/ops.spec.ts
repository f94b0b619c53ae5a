/**
 * Fused paths equal unfused ones (lib/backend/ops, native kernels): SiLU and its
 * gradient, dense = fused matMul + bias, the native Sum over contiguous axes, the dense
 * chain without a gradient (one kernel) against its layers, and the MLP's output and
 * gradients with the native path on vs the stock wasm kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, nativeStatus, setNativeKernels } from '../../lib/backend';
import {
  silu,
  dense,
  denseAct,
  sumOfSquares,
  conv2dBias,
  mlpForward,
  setMlpKernel,
  DenseLayer,
  DenseActivation,
  meanSquaredError,
} from '../../lib/backend/ops';
import { MLP_TRAIN, MLP_GRAD, ADAM, MSE, MSE_GRAD } from '../../lib/backend/kernels';
import { VelocityMlp } from '../../lib/models/mlp';
import { flowMatchingMse } from '../../lib/losses/flowMatching';
import { FusedAdamOptimizer } from '../../lib/optim/fusedAdam';

const maxRel = (a: tf.Tensor, b: tf.Tensor): number => {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let d = 0;
  let m = 1;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    m = Math.max(m, Math.abs(y[i]));
  }
  return d / m;
};

const rnd = (shape: number[], seed: number, scale = 1): tf.Tensor => tf.randomNormal(shape, 0, scale, 'float32', seed);

beforeAll(async () => {
  await useBackend('wasm');
});

afterAll(() => {
  setNativeKernels(true);
});

describe('fused ops without native kernels (any backend)', () => {
  it('silu is x·σ(x) with gradient σ(x)·(1 + x·(1 − σ(x)))', () => {
    setNativeKernels(false);
    const x = tf.tensor1d([-3, -0.5, 0, 0.7, 4]);
    const s = (v: number) => 1 / (1 + Math.exp(-v));
    const y = Array.from(silu(x).dataSync());
    const g = Array.from(
      tf
        .grad((z: tf.Tensor) => tf.sum(silu(z)))(x)
        .dataSync(),
    );
    [-3, -0.5, 0, 0.7, 4].forEach((v, i) => {
      expect(y[i]).toBeCloseTo(v * s(v), 6);
      expect(g[i]).toBeCloseTo(s(v) * (1 + v * (1 - s(v))), 6);
    });
    setNativeKernels(true);
  });
});

(nativeStatus().available ? describe : describe.skip)('native fused kernels equal the composites', () => {
  it('silu forward and gradient, including large, non-finite and empty inputs', () => {
    const x = tf.concat([rnd([1000], 1, 4), tf.tensor1d([-100, -88, -20, 0, 20, 88, 100, 1e-30])]);
    const dy = rnd(x.shape, 2);
    const run = () => [silu(x), tf.grad((z: tf.Tensor) => silu(z))(x, dy)];
    setNativeKernels(true);
    const [yN, gN] = run();
    setNativeKernels(false);
    const [yS, gS] = run();
    setNativeKernels(true);
    expect(maxRel(yN, yS)).toBeLessThan(1e-6);
    expect(maxRel(gN, gS)).toBeLessThan(1e-6);
    // a NaN stays NaN: the non-finite-loss check depends on it
    const nan = silu(tf.tensor1d([NaN, 1])).dataSync();
    expect(Number.isNaN(nan[0])).toBe(true);
    const gnan = tf
      .grad((z: tf.Tensor) => tf.sum(silu(z)))(tf.tensor1d([NaN, 1]))
      .dataSync();
    expect(Number.isNaN(gnan[0])).toBe(true);
    expect(silu(tf.zeros([0, 3])).shape).toEqual([0, 3]);
    tf.dispose([x, dy, yN, gN, yS, gS]);
  });

  it('dense (fused matMul + bias) equals matMul then add, forward and gradients', () => {
    const x = rnd([65, 34], 3);
    const W = rnd([34, 48], 4);
    const b = rnd([48], 5);
    const dy = rnd([65, 48], 6);
    const grads = (f: (x: tf.Tensor, W: tf.Tensor, b: tf.Tensor) => tf.Tensor) => [
      f(x, W, b),
      ...tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => f(p, q, r))([x, W, b], dy),
    ];
    setNativeKernels(true);
    const fused = grads(dense);
    setNativeKernels(false);
    const plain = grads((p, q, r) => tf.add(tf.matMul(p, q), r));
    setNativeKernels(true);
    fused.forEach((t, i) => expect(maxRel(t, plain[i])).toBeLessThan(1e-5));
    tf.dispose([x, W, b, dy, ...fused, ...plain]);
  });

  it('conv2dBias (fused conv + bias) equals conv then add, forward and gradients', () => {
    for (const stride of [1, 2]) {
      const x = rnd([3, 8, 8, 4], 40 + stride) as tf.Tensor4D;
      const W = rnd([3, 3, 4, 5], 50 + stride) as tf.Tensor4D;
      const b = rnd([5], 60 + stride);
      const dy = tf.tidy(() => rnd(tf.conv2d(x, W, stride, 'same').shape, 70 + stride));
      const run = () => [
        conv2dBias(x, W, b, stride),
        ...tf.grads((p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) =>
          conv2dBias(p as tf.Tensor4D, q as tf.Tensor4D, r, stride),
        )([x, W, b], dy),
      ];
      setNativeKernels(true);
      const fused = run();
      setNativeKernels(false);
      const plain = run();
      setNativeKernels(true);
      fused.forEach((t, i) => expect(maxRel(t, plain[i])).toBeLessThan(1e-5));
      tf.dispose([x, W, b, dy, ...fused, ...plain]);
    }
  });

  it('sum over contiguous axes equals the wasm kernel; other axes fall back', () => {
    const x = rnd([3, 4, 5, 6], 7);
    const cases: Array<[number | number[], boolean]> = [
      [0, false],
      [[0, 1], true],
      [[1, 2], false],
      [3, true],
      [[1, 2, 3], false],
      [[0, 2], false],
      [[0, 1, 2, 3], false],
      [-1, false],
    ];
    for (const [axis, keepDims] of cases) {
      setNativeKernels(true);
      const n = tf.sum(x, axis, keepDims);
      setNativeKernels(false);
      const s = tf.sum(x, axis, keepDims);
      setNativeKernels(true);
      expect(maxRel(n, s)).toBeLessThan(1e-5);
      tf.dispose([n, s]);
    }
    expect(tf.sum(tf.tensor1d([1, 2, 3], 'int32')).dataSync()[0]).toBe(6);
    x.dispose();
  });

  it("meanSquaredError: one kernel each way, the composite's value and its gradient to the bit", async () => {
    const a = rnd([1024, 2], 70);
    const b = rnd([1024, 2], 71);
    const dy = tf.scalar(0.37);
    const run = () => [
      meanSquaredError(a, b),
      ...tf.grads((p: tf.Tensor, q: tf.Tensor) => meanSquaredError(p, q))([a, b], dy),
    ];
    const profile = await tf.profile(() => tf.dispose(tf.grad((p: tf.Tensor) => meanSquaredError(p, b))(a)));
    // (the Identity kernels: tfjs saving a and b for the gradient)
    expect(profile.kernels.map((k) => k.name).filter((k) => k !== 'Identity')).toEqual([MSE, MSE_GRAD]);
    setNativeKernels(true);
    const fused = run();
    setNativeKernels(false);
    const plain = run();
    setNativeKernels(true);
    // the value is summed in double (tfjs: float32); the gradients round as tfjs's do
    expect(maxRel(fused[0], plain[0])).toBeLessThan(1e-6);
    expect(maxRel(fused[1], plain[1])).toBe(0);
    expect(maxRel(fused[2], plain[2])).toBe(0);
    // NaN stays NaN (the non-finite-loss check reads it); other shapes take the composite
    expect(Number.isNaN(meanSquaredError(tf.tensor1d([NaN, 1]), tf.tensor1d([0, 0])).dataSync()[0])).toBe(true);
    expect(meanSquaredError(tf.ones([2, 3]), tf.zeros([3])).dataSync()[0]).toBe(1);
    tf.dispose([a, b, dy, ...fused, ...plain]);
  });

  it('sum of squares over several tensors equals Σ sum(square(x))', () => {
    const xs = [rnd([1000], 31), rnd([17, 33], 32), rnd([3], 33), rnd([2, 3, 4, 5], 34)];
    setNativeKernels(true);
    const n = sumOfSquares(xs);
    setNativeKernels(false);
    const s = sumOfSquares(xs);
    setNativeKernels(true);
    expect(n.shape).toEqual([]);
    expect(maxRel(n, s)).toBeLessThan(1e-6);
    expect(sumOfSquares([]).dataSync()[0]).toBe(0);
    expect(Number.isNaN(sumOfSquares([tf.tensor1d([1, NaN])]).dataSync()[0])).toBe(true);
    tf.dispose([...xs, n, s]);
  });

  it('fused Adam equals tf.train.adam step for step, across a checkpoint round trip', async () => {
    const init = [rnd([33, 17], 21), rnd([17], 22), rnd([5, 3, 3, 2], 23)];
    // seeds from 1: tfjs treats seed 0 as unseeded
    const grads = (step: number) => init.map((x, i) => rnd(x.shape, 100 * step + i + 1, 0.1 * (step + 1)));
    const run = async (make: () => tf.Optimizer): Promise<tf.Tensor[]> => {
      const vars = init.map((x, i) => tf.variable(x, true, `adam_spec_${i}_${Math.random()}`));
      let opt = make();
      for (let step = 0; step < 6; step++) {
        if (step === 3) {
          // checkpoint: save the state, continue in a fresh optimiser
          const saved = await opt.getWeights();
          const copies = saved.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) }));
          saved[0].tensor.dispose(); // the iteration count is a fresh scalar; the rest are the optimiser's
          opt.dispose();
          opt = make();
          await opt.setWeights(copies);
          tf.dispose(copies.map((c) => c.tensor)); // setWeights made variables of them
        }
        const g = grads(step);
        opt.applyGradients(Object.fromEntries(vars.map((v, i) => [v.name, g[i]])));
        tf.dispose(g);
      }
      const out = vars.map((v) => tf.clone(v));
      opt.dispose();
      vars.forEach((v) => v.dispose());
      return out;
    };
    const before = tf.memory().numTensors;
    setNativeKernels(true);
    const fused = await run(() => new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8));
    const stock = await run(() => tf.train.adam(0.01, 0.9, 0.999, 1e-8));
    fused.forEach((t, i) => expect(maxRel(t, stock[i])).toBeLessThan(1e-6));
    tf.dispose([...fused, ...stock]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fused Adam: every variable in one kernel call, beyond one addon call (30 variables), empty ones', () => {
    // 41 variables of assorted sizes, one of them empty, and one without a gradient
    const shapes = Array.from({ length: 41 }, (_, i) => (i === 7 ? [0, 3] : [1 + (i % 5), 1 + ((3 * i) % 7)]));
    const run = (make: () => tf.Optimizer, profileKernels?: string[]) => {
      const vars = shapes.map((s, i) =>
        tf.tidy(() => tf.variable(rnd(s, 200 + i), true, `adam_many_${i}_${Math.random()}`)),
      );
      const opt = make();
      for (let step = 0; step < 3; step++) {
        // (a null gradient: tfjs's optimisers skip that variable)
        const grads = Object.fromEntries(
          vars.map((v, i) => [v.name, i === 11 ? null : rnd(v.shape, 300 + 50 * step + i, 0.1)]),
        ) as unknown as tf.NamedTensorMap;
        opt.applyGradients(grads);
        tf.dispose(Object.values(grads).filter((g) => g !== null));
      }
      if (profileKernels !== undefined) {
        const g = Object.fromEntries(vars.map((v) => [v.name, tf.onesLike(v)]));
        return tf
          .profile(() => opt.applyGradients(g))
          .then((p) => {
            profileKernels.push(...p.kernels.map((k) => k.name));
            tf.dispose(Object.values(g));
            opt.dispose();
            vars.forEach((v) => v.dispose());
            return [] as tf.Tensor[];
          });
      }
      const out = vars.map((v) => tf.clone(v));
      opt.dispose();
      vars.forEach((v) => v.dispose());
      return Promise.resolve(out);
    };
    const before = tf.memory().numTensors;
    return (async () => {
      const fused = await run(() => new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8));
      const stock = await run(() => tf.train.adam(0.01, 0.9, 0.999, 1e-8));
      fused.forEach((t, i) => expect(maxRel(t, stock[i])).toBeLessThan(1e-6));
      tf.dispose([...fused, ...stock]);
      const kernels: string[] = [];
      await run(() => new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8), kernels);
      expect(kernels.filter((k) => k === ADAM)).toHaveLength(1);
      expect(tf.memory().numTensors).toBe(before);
    })();
  });

  it('the MLP gives the same velocity and gradients with native kernels on and off', () => {
    const model = new VelocityMlp({
      kind: 'mlp',
      dim: 2,
      numClasses: 8,
      hidden: [64, 64],
      timeEmbedDim: 16,
      seed: 3,
    } as never);
    const xt = rnd([128, 2], 8);
    const t = tf.randomUniform([128], 0, 1, 'float32', 9);
    const labels = tf.tensor1d(
      Array.from({ length: 128 }, (_, i) => i % 9),
      'int32',
    );
    const target = rnd([128, 2], 10);
    const run = () => {
      const v = model.apply(xt, t, labels);
      const { value, grads } = tf.variableGrads(
        () => flowMatchingMse(model.apply(xt, t, labels), target, tf.zerosLike(target)),
        model.params.variables,
      );
      return [v, value, ...model.params.variables.map((p) => grads[p.name])];
    };
    setNativeKernels(true);
    const on = run();
    setNativeKernels(false);
    const off = run();
    setNativeKernels(true);
    on.forEach((x, i) => expect(maxRel(x, off[i])).toBeLessThan(1e-5));
    tf.dispose([...on, ...off, xt, t, labels, target]);
    model.dispose();
  });

  it('a dense chain without a gradient: one kernel equals its layers and the stock kernels, and leaks nothing', () => {
    // 1000 rows: several row tiles, a ragged last one, spread over the threads
    const widths = [43, 256, 256, 2];
    const x = rnd([1000, widths[0]], 20);
    const layers: DenseLayer[] = widths.slice(1).map((n, i) => ({
      W: rnd([widths[i], n], 21 + i, 1 / Math.sqrt(widths[i])),
      b: rnd([n], 31 + i, 0.1),
      activation: i < widths.length - 2 ? 'silu' : 'linear',
    }));
    const before = tf.memory().numTensors;
    const fused = mlpForward(x, layers);
    expect(tf.memory().numTensors).toBe(before + 1);
    setMlpKernel(false);
    const layered = mlpForward(x, layers);
    setMlpKernel(true);
    // without a gradient a layer is one kernel that keeps no pre-activation; with one, its customGrad op
    const recorded = tf.tidy(() => {
      let out: tf.Tensor | null = null;
      tf.grad((h: tf.Tensor) => {
        out = tf.keep(layers.reduce<tf.Tensor>((a, l) => denseAct(a, l.W, l.b, l.activation), h));
        return tf.sum(out);
      })(x);
      return out!;
    });
    setNativeKernels(false);
    const stock = mlpForward(x, layers);
    setNativeKernels(true);
    expect(maxRel(fused, layered)).toBeLessThan(1e-6);
    expect(maxRel(recorded, layered)).toBe(0);
    expect(maxRel(fused, stock)).toBeLessThan(1e-5);
    tf.dispose([fused, layered, recorded, stock]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, ...layers.flatMap((l) => [l.W, l.b])]);
  });

  it('a dense chain with a gradient: two kernels equal to its layers and the stock kernels, no leak', async () => {
    // rows: several tiles with a ragged last one, and a single row; activations: SiLU and linear, hidden and last
    const cases: Array<[number, number[], DenseActivation[]]> = [
      [1000, [43, 256, 256, 2], ['silu', 'silu', 'linear']],
      [300, [5, 40, 40, 3], ['linear', 'silu', 'silu']],
      [1, [3, 2], ['silu']],
    ];
    for (const [M, widths, acts] of cases) {
      const x = rnd([M, widths[0]], 40);
      const params = acts.flatMap((_, i) => [
        rnd([widths[i], widths[i + 1]], 41 + i, 1 / Math.sqrt(widths[i])),
        rnd([widths[i + 1]], 51 + i, 0.1),
      ]);
      const dy = rnd([M, widths[widths.length - 1]], 60);
      const chain = (h: tf.Tensor, p: tf.Tensor[]) =>
        mlpForward(
          h,
          acts.map((activation, i) => ({ W: p[2 * i], b: p[2 * i + 1], activation })),
        );
      const run = () => [
        tf.tidy(() => chain(x, params)),
        ...tf.grads((h: tf.Tensor, ...p: tf.Tensor[]) => chain(h, p))([x, ...params], dy),
      ];
      const before = tf.memory().numTensors;
      const profile = await tf.profile(() => tf.dispose(run()));
      const kernels = profile.kernels.map((k) => k.name);
      // (the first evaluation records no gradient: the forward-only kernel)
      expect(kernels.filter((k) => k === MLP_TRAIN)).toHaveLength(1);
      expect(kernels.filter((k) => k === MLP_GRAD)).toHaveLength(1);
      const fused = run();
      setMlpKernel(false);
      const layered = run();
      setMlpKernel(true);
      setNativeKernels(false);
      const stock = run();
      setNativeKernels(true);
      // the same tiles and blocks as the layered kernels; OpenBLAS may split a small product over its threads there
      fused.forEach((t, i) => expect(maxRel(t, layered[i])).toBeLessThan(1e-6));
      fused.forEach((t, i) => expect(maxRel(t, stock[i])).toBeLessThan(1e-5));
      tf.dispose([...fused, ...layered, ...stock]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, dy, ...params]);
    }
  });
});
