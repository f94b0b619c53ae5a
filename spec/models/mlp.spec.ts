/** The velocity MLP and its parameters (lib/models/mlp.ts, params.ts, timeEmbedding.ts). */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { VelocityMlp } from '../../lib/models/mlp';
import { MlpConfig } from '../../lib/models/config';
import { buildModel } from '../../lib/models/build';
import { sinusoidalEmbedding, labelOneHot } from '../../lib/models/timeEmbedding';
import { decodeOrThrow } from '../../lib/config/report';
import { read } from '../helpers/tensors';

beforeAll(async () => {
  await useBackend('wasm');
});

const config = (extra: Record<string, unknown> = {}) =>
  decodeOrThrow(
    MlpConfig,
    { kind: 'mlp', dim: 2, hidden: [16, 16], timeEmbedDim: 8, numClasses: 3, seed: 4, ...extra },
    'mlp',
  );
const inputs = () => ({
  x: tf.tensor2d([
    [0.1, -0.3],
    [1, 2],
    [-1, 0.5],
  ]),
  t: tf.tensor1d([0.9, 0.5, 0.1]),
  c: tf.tensor1d([0, 2, 3], 'int32'),
});

describe('VelocityMlp', () => {
  it('maps [B, D] to [B, D], deterministic per seed, different across seeds', () => {
    const [a, b, other] = [new VelocityMlp(config()), new VelocityMlp(config()), new VelocityMlp(config({ seed: 5 }))];
    const { x, t, c } = inputs();
    const v = read(() => a.apply(x, t, c));
    expect(v.length).toBe(6);
    expect(read(() => b.apply(x, t, c))).toEqual(v);
    expect(read(() => other.apply(x, t, c))).not.toEqual(v);
    // the built model of the same config is the same network
    const built = buildModel(config());
    expect(read(() => built.apply(x, t, c))).toEqual(v);
    [a, b, other, built].forEach((m) => m.dispose());
    tf.dispose([x, t, c]);
  });

  it('uses the class: ∅ (id = numClasses) and null labels agree, other classes differ', () => {
    const m = new VelocityMlp(config());
    const { x, t } = inputs();
    const nul = tf.tensor1d([3, 3, 3], 'int32');
    const zero = tf.tensor1d([0, 0, 0], 'int32');
    expect(read(() => m.apply(x, t, null))).toEqual(read(() => m.apply(x, t, nul)));
    expect(read(() => m.apply(x, t, zero))).not.toEqual(read(() => m.apply(x, t, nul)));
    m.dispose();
    tf.dispose([x, t, nul, zero]);
  });

  it('clone copies the weights into independent variables; copyWeightsFrom syncs them again', () => {
    const m = new VelocityMlp(config());
    const copy = m.clone();
    const { x, t, c } = inputs();
    const v = read(() => m.apply(x, t, c));
    expect(read(() => copy.apply(x, t, c))).toEqual(v);
    expect(copy.params.variables.every((cv, i) => cv !== m.params.variables[i])).toBe(true);
    // training the copy leaves the original alone
    tf.tidy(() => copy.params.get('out.b').assign(tf.ones([2])));
    expect(read(() => m.apply(x, t, c))).toEqual(v);
    expect(read(() => copy.apply(x, t, c))).not.toEqual(v);
    copy.copyWeightsFrom(m);
    expect(read(() => copy.apply(x, t, c))).toEqual(v);
    [m, copy].forEach((k) => k.dispose());
    tf.dispose([x, t, c]);
  });

  it('every parameter receives a gradient (class embedding through one-hot × matrix)', () => {
    const m = new VelocityMlp(config());
    const { x, t, c } = inputs();
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.square(m.apply(x, t, c))) as tf.Scalar,
      m.params.variables,
    );
    expect(Object.keys(grads).length).toBe(m.params.variables.length);
    // rows of the class embedding used by the batch (0, 2, ∅ = 3) get gradient, row 1 none
    const rows = read(() => tf.sum(tf.abs(grads[m.params.get('classEmbedding').name]), 1));
    expect(rows.map((r) => r > 0)).toEqual([true, false, true, true]);
    tf.dispose([value, ...Object.values(grads), x, t, c]);
    m.dispose();
  });

  it('refuses a wrongly shaped input and an odd time-embedding width, naming them', () => {
    const m = new VelocityMlp(config());
    const bad = tf.zeros([3, 5]);
    const t = tf.fill([3], 0.5);
    expect(() => m.apply(bad, t, null)).toThrow('mlp input x_t: expected shape [B, 2], got [3, 5]');
    expect(() => new VelocityMlp(config({ timeEmbedDim: 15 }))).toThrow(
      'model.timeEmbedDim: expected an even number (sin/cos pairs), got 15',
    );
    m.dispose();
    tf.dispose([bad, t]);
  });

  it('params: read/write round trip, with errors naming the parameter', () => {
    const m = new VelocityMlp(config());
    const other = new VelocityMlp(config({ seed: 9 }));
    other.params.write(m.params.read());
    const { x, t, c } = inputs();
    expect(read(() => other.apply(x, t, c))).toEqual(read(() => m.apply(x, t, c)));
    const data = m.params.read();
    expect(() => other.params.write(data.slice(1), 'ckpt')).toThrow('ckpt: missing parameter dense0.W');
    expect(() => other.params.write([{ ...data[0], shape: [1, 1] }, ...data.slice(1)], 'ckpt')).toThrow(
      'ckpt.dense0.W: expected shape [10,16], got [1,1]',
    );
    expect(m.params.size).toBe(m.params.variables.reduce((n, v) => n + v.size, 0));
    [m, other].forEach((k) => k.dispose());
    tf.dispose([x, t, c]);
  });
});

describe('time and class embeddings', () => {
  it('sinusoidal: [sin(1000·t·ω_i), cos(1000·t·ω_i)], ω_i = 10000^(−i/(d/2))', () => {
    // d = 4: ω = [1, 10000^(−1/2) = .01]; t = .001 → args [1, .01]
    const e = read(() => sinusoidalEmbedding(tf.tensor1d([0, 0.001]), 4));
    expect(e.slice(0, 4)).toEqual([0, 0, 1, 1]);
    [Math.sin(1), Math.sin(0.01), Math.cos(1), Math.cos(0.01)].forEach((v, i) => expect(e[4 + i]).toBeCloseTo(v, 5));
  });

  it('labelOneHot has numClasses + 1 columns, the last one for ∅', () => {
    expect(read(() => labelOneHot(tf.tensor1d([0, 2], 'int32'), 2))).toEqual([1, 0, 0, 0, 0, 1]);
  });
});
