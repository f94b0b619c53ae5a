/**
 * The convolutional U-Net velocity model: shapes, seeded init, clone / copyWeightsFrom,
 * gradients reaching every parameter on wasm (and matching cpu), and a few flow-matching
 * steps on a small fixed MNIST batch lowering the loss.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { VelocityUnet, upsampleNearest2x } from '../../lib/models/unet';
import { buildModel } from '../../lib/models/build';
import { UnetConfig } from '../../lib/models/config';
import { decodeOrThrow } from '../../lib/config/report';
import { loadMnist } from '../../lib/data/mnist';

const config = (over: Record<string, number> = {}): UnetConfig =>
  decodeOrThrow(
    UnetConfig,
    { kind: 'unet', size: 28, channels: 1, width: 4, timeEmbedDim: 8, numClasses: 10, seed: 5, ...over },
    'unet config',
  );

const inputs = (batch: number, seed = 1) => ({
  x: tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', seed),
  t: tf.randomUniform([batch], 0, 1, 'float32', seed + 1),
  labels: tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % 11),
    'int32',
  ), // includes ∅ = 10
});

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

beforeAll(async () => {
  await useBackend('wasm');
});

describe('VelocityUnet', () => {
  it('maps [B, 28, 28, C] to [B, 28, 28, C], with or without labels, and is built by buildModel', () => {
    const m = buildModel(config({ channels: 3 }));
    expect(m).toBeInstanceOf(VelocityUnet);
    expect(m.sampleShape).toEqual([28, 28, 3]);
    const x = tf.randomNormal([3, 28, 28, 3], 0, 1, 'float32', 3);
    const t = tf.tensor1d([0.1, 0.5, 0.9]);
    const labels = tf.tensor1d([0, 4, 10], 'int32');
    const allNull = tf.fill([3], 10, 'int32');
    const before = tf.memory().numTensors;
    const v = m.apply(x, t, labels);
    const vNull = m.apply(x, t, null);
    expect(v.shape).toEqual([3, 28, 28, 3]);
    expect(vNull.shape).toEqual([3, 28, 28, 3]);
    // labels matter, and null labels mean ∅ (id numClasses)
    expect(maxAbsDiff(v, vNull)).toBeGreaterThan(1e-6);
    const vAllNull = m.apply(x, t, allNull);
    expect(maxAbsDiff(vAllNull, vNull)).toBe(0);
    tf.dispose([v, vNull, vAllNull]);
    expect(tf.memory().numTensors).toBe(before); // apply keeps nothing but its output
    m.dispose();
  });

  it('rejects a wrong input shape and sizes not divisible by 4', () => {
    const m = new VelocityUnet(config());
    expect(() => m.apply(tf.zeros([2, 28, 28, 3]), tf.zeros([2]), null)).toThrow(
      /unet input x_t: expected shape \[B, 28, 28, 1\], got \[2, 28, 28, 3\]/,
    );
    expect(() => new VelocityUnet(config({ size: 30 }))).toThrow(/model.size.*divisible by 4, got 30/);
    m.dispose();
  });

  it('upsamples by nearest neighbour', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]);
    const up = upsampleNearest2x(x);
    expect(up.shape).toEqual([1, 4, 4, 2]);
    const rows = up.arraySync()[0].map((r) => r.map((p) => p[0]));
    expect(rows).toEqual([
      [1, 1, 3, 3],
      [1, 1, 3, 3],
      [10, 10, 30, 30],
      [10, 10, 30, 30],
    ]);
  });

  it('initialises from its seed: same seed same weights, another seed other weights', () => {
    const a = new VelocityUnet(config());
    const b = new VelocityUnet(config());
    const c = new VelocityUnet(config({ seed: 6 }));
    expect(a.params.names).toEqual(b.params.names);
    for (const name of a.params.names) expect(maxAbsDiff(a.params.get(name), b.params.get(name))).toBe(0);
    expect(maxAbsDiff(a.params.get('down0.conv1.W'), c.params.get('down0.conv1.W'))).toBeGreaterThan(0);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('clone equals the original and is independent; copyWeightsFrom copies every parameter', () => {
    const a = new VelocityUnet(config());
    const { x, t, labels } = inputs(2);
    tf.tidy(() => a.params.get('out.b').assign(tf.fill([1], 0.25))); // a non-initial value must be copied too
    const c = a.clone();
    expect(maxAbsDiff(a.apply(x, t, labels), c.apply(x, t, labels))).toBe(0);
    tf.tidy(() => a.params.get('in.W').assign(tf.mul(a.params.get('in.W'), 2)));
    expect(maxAbsDiff(a.apply(x, t, labels), c.apply(x, t, labels))).toBeGreaterThan(0);
    const other = new VelocityUnet(config({ seed: 9 }));
    other.copyWeightsFrom(a);
    for (const name of a.params.names) expect(maxAbsDiff(a.params.get(name), other.params.get(name))).toBe(0);
    expect(() => new VelocityUnet(config({ width: 8 })).copyWeightsFrom(a)).toThrow(/shape/);
    [a, c, other].forEach((m) => m.dispose());
  });

  it('gradients reach every parameter on wasm and match the cpu backend', async () => {
    const m = new VelocityUnet(config());
    const { x, t, labels } = inputs(2); // labels 0 and 1
    const target = tf.randomNormal([2, 28, 28, 1], 0, 1, 'float32', 4);
    const loss = () => tf.mean(tf.square(tf.sub(m.apply(x, t, labels), target))) as tf.Scalar;
    const read = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(loss, m.params.variables);
        return m.params.variables.map((v) => grads[v.name].dataSync() as Float32Array);
      });
    const onWasm = read();
    m.params.names.forEach((name, i) => {
      const g = onWasm[i];
      expect({ name, finite: g.every(Number.isFinite) }).toEqual({ name, finite: true });
      expect({ name, nonzero: g.some((v) => v !== 0) }).toEqual({ name, nonzero: true });
    });
    await useBackend('cpu');
    let onCpu: Float32Array[];
    try {
      onCpu = read();
    } finally {
      await useBackend('wasm');
    }
    m.params.names.forEach((name, i) => {
      const scale = Math.max(1e-3, ...onCpu[i].map(Math.abs));
      const err = Math.max(...onWasm[i].map((v, k) => Math.abs(v - onCpu[i][k])));
      expect({ name, relErr: err / scale < 1e-3 }).toEqual({ name, relErr: true });
    });
    m.dispose();
  });

  it('a few flow-matching steps on a fixed MNIST batch lower the loss', () => {
    const data = loadMnist('train');
    if (E.isLeft(data)) throw data.left;
    const m = new VelocityUnet(config());
    const batch = data.right.gather(Array.from({ length: 8 }, (_, i) => i));
    const eps = tf.randomNormal([8, 28, 28, 1], 0, 1, 'float32', 11);
    const t = tf.randomUniform([8], 0.05, 0.95, 'float32', 12);
    // rectified flow: x_t = (1 − t)·x0 + t·ε, target v = ε − x0
    const tb = tf.reshape(t, [8, 1, 1, 1]);
    const xt = tf.add(tf.mul(tf.sub(1, tb), batch.x0), tf.mul(tb, eps));
    const target = tf.sub(eps, batch.x0);
    const opt: tf.Optimizer = tf.train.adam(5e-3);
    const losses: number[] = [];
    const start = tf.memory().numTensors;
    let afterFirst = 0;
    for (let step = 0; step < 20; step++) {
      const value = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => tf.mean(tf.square(tf.sub(m.apply(xt, t, batch.labels), target))) as tf.Scalar,
          m.params.variables,
        );
        opt.applyGradients(grads);
        return value;
      });
      losses.push(value.dataSync()[0]);
      value.dispose();
      if (step === 0) afterFirst = tf.memory().numTensors;
    }
    expect(afterFirst - start).toBe(2 * m.params.variables.length); // Adam's two slots per variable, once
    expect(tf.memory().numTensors).toBe(afterFirst);
    const head = losses.slice(0, 3).reduce((a, b) => a + b) / 3;
    const tail = losses.slice(-3).reduce((a, b) => a + b) / 3;
    expect(tail).toBeLessThan(0.7 * head); // measured: 1.85 → 0.92
    opt.dispose();
    m.dispose();
  });
});
