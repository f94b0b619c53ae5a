/**
 * The generator loss L_G = ½‖x − sg(x − grad)‖² (docs/algorithm.md §3): its gradient is
 * exactly `grad`, nothing is back-propagated through the real or fake score, and no
 * gradient reaches their variables.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { distributionMatchingGrad, generatorLoss } from '../../lib/losses/dmd';
import { stopGradient } from '../../lib/losses/stopGradient';
import { forwardSample } from '../../lib/schedule/tensors';
import { normal, uniform } from '../../lib/random/draws';
import { VelocityMlp } from '../../lib/models/mlp';
import { generatorLossStep } from '../../lib/operators/distill/generatorLoss';
import { fakeScoreLossStep } from '../../lib/operators/distill/fakeScoreLoss';
import { key } from '../helpers/operators';
import { TapeProbe, contextOf, onePhase } from '../helpers/analytic';

beforeAll(async () => {
  await useBackend('wasm');
});

const mlp = (seed: number, numClasses = 0) =>
  new VelocityMlp({ kind: 'mlp', dim: 2, hidden: [16, 16], numClasses, seed } as VelocityMlp['config']);

/** |a − b| within a float32 rounding of the operands x − (x − g): 2⁻²² · (|x| + |g|). */
const expectBitClose = (got: Float32Array, want: Float32Array, x: Float32Array): void => {
  for (let i = 0; i < want.length; i++) {
    const bound = 2 ** -22 * (Math.abs(x[i]) + Math.abs(want[i]));
    if (!(Math.abs(got[i] - want[i]) <= bound))
      throw new Error(`[${i}]: got ${got[i]}, expected ${want[i]} (bound ${bound})`);
  }
};

describe('stopGradient', () => {
  it('passes the value and stops the gradient', () => {
    const x = tf.tensor1d([1, -2, 3]);
    // d/dx Σ x·sg(x) = sg(x) (the second factor contributes nothing)
    const g = tf.grad((y: tf.Tensor) => tf.sum(tf.mul(y, stopGradient(y))))(x);
    expect(Array.from(g.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([x, g]);
  });
});

describe('generatorLoss: ∂L_G/∂x = grad', () => {
  it('equals grad to the last bit of float32 rounding, even when grad depends on x', () => {
    // grad(x) = 3·sin(x): without the stop-gradient, ∂/∂x ½‖grad(x)‖² = 9·sin(x)·cos(x) ≠ grad
    const x = tf.mul(normal([64, 2], 1), 5);
    const gradOf = (xd: tf.Tensor) => tf.mul(3, tf.sin(xd));
    const dx = tf.grad((y: tf.Tensor) => generatorLoss(y, gradOf))(x);
    const want = gradOf(x);
    expectBitClose(dx.dataSync() as Float32Array, want.dataSync() as Float32Array, x.dataSync() as Float32Array);
    // the loss value is ½‖grad‖²
    const L = generatorLoss(x, gradOf);
    expect(L.dataSync()[0]).toBeCloseTo(0.5 * (tf.sum(tf.square(want)).dataSync()[0] as number), 2);
    tf.dispose([x, dx, want, L]);
  });

  it('gives the generator the vector-Jacobian product Jᵀ·grad (DMD with MLP teacher and fake)', () => {
    const [generator, teacher, fake] = [mlp(1), mlp(2), mlp(3)];
    const B = 32;
    const z = normal([B, 2], 5);
    const eps = normal([B, 2], 6);
    const t = uniform([B], 0.1, 0.9, 7) as tf.Tensor1D;
    const ones = tf.fill([B], 1);
    const sample = () => tf.sub(z, generator.apply(z, ones, null)); // one-step student x0 = z − G(z, 1)
    const gradOf = (x: tf.Tensor) => {
      const xt = forwardSample(x, eps, t);
      return distributionMatchingGrad({
        vReal: teacher.apply(xt, t, null),
        vFake: fake.apply(xt, t, null),
        xt,
        xs: x,
        t,
        s: 0,
      });
    };
    const viaLoss = tf.variableGrads(() => generatorLoss(sample(), gradOf), generator.params.variables);
    const x = sample();
    const g = gradOf(x);
    const viaVjp = tf.variableGrads(() => tf.sum(tf.mul(sample(), g)) as tf.Scalar, generator.params.variables);
    for (const v of generator.params.variables) {
      const [a, b] = [viaLoss.grads[v.name].dataSync(), viaVjp.grads[v.name].dataSync()];
      const scale = Math.max(...Array.from(b, Math.abs));
      expect(scale).toBeGreaterThan(0);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-5 * scale);
    }
    tf.dispose([
      z,
      eps,
      t,
      ones,
      x,
      g,
      viaLoss.value,
      viaVjp.value,
      ...Object.values(viaLoss.grads),
      ...Object.values(viaVjp.grads),
    ]);
    [generator, teacher, fake].forEach((m) => m.dispose());
  });
});

describe('the real and fake scores are off the tape', () => {
  const setup = (backprop: 'sgts' | 'full', steps: number) => {
    const teacher = new TapeProbe(mlp(2, 3));
    const generator = new TapeProbe(mlp(1, 3));
    const fake = new TapeProbe(mlp(3, 3));
    const ctx = contextOf({ teacher, generator, fake }, onePhase(steps, { guidance: 2 }), backprop);
    const all = [...teacher.params.variables, ...generator.params.variables, ...fake.params.variables];
    const names = (m: TapeProbe) => new Set(m.params.variables.map((v) => v.name));
    return {
      teacher,
      generator,
      fake,
      ctx,
      all,
      names,
      dispose: () => [teacher, generator, fake].forEach((m) => m.dispose()),
    };
  };

  for (const [backprop, steps] of [
    ['sgts', 1],
    ['sgts', 4],
    ['full', 3],
  ] as const) {
    it(
      `generator step (${backprop}, ${steps} steps): gradients only for the generator; teacher (with CFG) and fake ` +
        `run with the tape off`,
      () => {
        const r = setup(backprop, steps);
        // every variable trainable, so variableGrads would report any gradient that reached them
        const step = generatorLossStep(r.ctx)({ key: key(3), role: 'generator', sub: 0 });
        const { value, grads } = tf.variableGrads(step.loss, r.all);
        const got = Object.keys(grads);
        expect(got.length).toBe(r.generator.params.variables.length);
        expect(got.every((n) => r.names(r.generator).has(n))).toBe(true);
        expect(Object.values(grads).some((g) => Math.max(...Array.from(g.dataSync(), Math.abs)) > 0)).toBe(true);
        // the scores were evaluated, always with the tape off; CFG doubles the teacher's batch
        expect(r.teacher.log.length).toBe(1);
        expect(r.teacher.log[0]).toMatchObject({ tape: false, batch: 32 });
        expect(r.fake.log).toEqual([expect.objectContaining({ tape: false, batch: 16 })]);
        // the generator: on the tape exactly for the differentiated steps
        const onTape = r.generator.log.filter((l) => l.tape).length;
        expect(onTape).toBe(backprop === 'full' ? steps : 1);
        tf.dispose([value, ...Object.values(grads), ...step.owned, ...Object.values(step.extras ?? {})]);
        r.dispose();
      },
    );
  }

  it('fake-score step: gradients only for the fake score; the generator rollout runs with the tape off', () => {
    const r = setup('sgts', 4);
    const step = fakeScoreLossStep(r.ctx)({ key: key(3), role: 'fake', sub: 2 });
    const { value, grads } = tf.variableGrads(step.loss, r.all);
    expect(Object.keys(grads).sort()).toEqual(r.fake.params.variables.map((v) => v.name).sort());
    expect(r.generator.log.length).toBeGreaterThan(0);
    expect(r.generator.log.every((l) => !l.tape)).toBe(true);
    expect(r.teacher.log).toEqual([]);
    expect(r.fake.log).toEqual([expect.objectContaining({ tape: true })]);
    tf.dispose([value, ...Object.values(grads), ...step.owned]);
    r.dispose();
  });
});
