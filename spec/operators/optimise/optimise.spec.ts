/** optimise: LossStep → StepMetrics (variableGrads, clip, decoupled decay, Adam; disposal; NaN guard). */
import * as tf from '@tensorflow/tfjs-core';
import { Observable, firstValueFrom, lastValueFrom, map, of, toArray } from 'rxjs';
import { useBackend } from '../../../lib/backend';
import { optimise, NonFiniteLossError } from '../../../lib/operators/optimise/optimise';
import { makeTrainer, Trainer } from '../../../lib/optim/trainer';
import type { LossStep, StepMetrics } from '../../../lib/stream/types';
import { expectClose, values } from '../../helpers/tensors';
import { key, marbles } from '../../helpers/operators';

beforeAll(async () => {
  await useBackend('wasm');
});

const adam = (w: tf.Variable, lr = 0.1, extra: { weightDecay?: number; clipNorm?: number } = {}): Trainer =>
  makeTrainer([w], { lr, ...extra }, { lr, betas: [0.9, 0.999] });

/** A step with loss ½‖w‖² (gradient w) that owns one extra tensor. */
const halfSquare = (w: tf.Variable, step = 0, role = 'w'): LossStep & { owned: tf.Tensor[] } => ({
  key: key(step),
  role,
  loss: () => tf.mul(0.5, tf.sum(tf.square(w))) as tf.Scalar,
  owned: [tf.tensor1d([1, 2, 3])],
});

/**
 * Host Adam (β = (.9, .999), ε = 1e-8) on ½‖w‖², whose gradient is w:
 * m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², w ← w − lr·(m/(1 − β₁ᵏ)) / (√(v/(1 − β₂ᵏ)) + ε).
 * E.g. w0 = 1, lr = .1: step 1 → .9; step 2: m = .18, v = .001809, m̂ = .947368, √v̂ = .951290 → .800412.
 */
const adamOnHalfSquare = (w0: number[], steps: number, lr = 0.1): number[] =>
  w0.map((w) => {
    let [m, v] = [0, 0];
    for (let k = 1; k <= steps; k++) {
      const g = w;
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      w -= (lr * (m / (1 - 0.9 ** k))) / (Math.sqrt(v / (1 - 0.999 ** k)) + 1e-8);
    }
    return w;
  });

const run = (steps: LossStep[], trainers: Record<string, Trainer>, options = {}): Promise<StepMetrics[]> =>
  lastValueFrom(of(...steps).pipe(optimise(trainers, options), toArray()));

describe('optimise', () => {
  it('applies one Adam step and reports loss and gradient norm', async () => {
    // w0 = [1, −2, .5]: loss = ½(1 + 4 + .25) = 2.625, g = w0, ‖g‖ = √5.25 = 2.2912878.
    // Adam's first step is lr·m̂/(√v̂ + ε) = lr·g/|g| = .1·sign(g) → w1 = [.9, −1.9, .4]
    const w = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const trainer = adam(w);
    const [m] = await run([halfSquare(w, 3)], { w: trainer });
    expect(m.key).toEqual(key(3));
    expect(m.role).toBe('w');
    expect(m.loss).toBeCloseTo(2.625, 5);
    expect(m.gradNorm).toBeCloseTo(Math.sqrt(5.25), 5);
    expect(m.ms).toBeGreaterThanOrEqual(0);
    expect(m.extras).toEqual({});
    expectClose(values(w), [0.9, -1.9, 0.4], 1e-5);
    trainer.optimizer.dispose();
    w.dispose();
  });

  it('disposes the tensors the step owned, and leaks nothing over steps', async () => {
    const w = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const trainer = adam(w);
    const first = halfSquare(w, 0);
    await run([first], { w: trainer });
    expect(first.owned[0].isDisposed).toBe(true);
    const n1 = tf.memory().numTensors; // Adam's slots exist from the first step on
    await run(
      Array.from({ length: 20 }, (_, i) => halfSquare(w, i + 1)),
      { w: trainer },
    );
    expect(tf.memory().numTensors).toBe(n1);
    trainer.optimizer.dispose();
    w.dispose();
  });

  it('clips the global gradient norm (reporting the unclipped norm)', async () => {
    // SGD with lr 1: w1 = w0 − g·min(1, c/‖g‖). w0 = g = [3, 4], ‖g‖ = 5, c = .5 → w1 = [3, 4] − [.3, .4] = [2.7, 3.6]
    const w = tf.variable(tf.tensor1d([3, 4]));
    const trainer: Trainer = { optimizer: tf.train.sgd(1), variables: [w], clipNorm: 0.5, weightDecay: 0, lr: 1 };
    const [m] = await run([halfSquare(w)], { w: trainer });
    expect(m.gradNorm).toBeCloseTo(5, 5);
    expectClose(values(w), [2.7, 3.6], 1e-5);
    // below the threshold nothing changes: ‖g‖ = 5 < 10 → w1 = w0 − g = 0
    const v = tf.variable(tf.tensor1d([3, 4]));
    await run([halfSquare(v)], { w: { ...trainer, variables: [v], clipNorm: 10 } });
    expectClose(values(v), [0, 0], 1e-6);
    tf.dispose([w, v]);
  });

  it('applies decoupled weight decay before the Adam update (AdamW)', async () => {
    // w0 = [1, −2], lr = .1, λ = .5: w·(1 − .1·.5) = [.95, −1.9]; then −.1·sign(g), g = w0 → [.85, −1.8]
    const w = tf.variable(tf.tensor1d([1, -2]));
    const trainer = adam(w, 0.1, { weightDecay: 0.5 });
    await run([halfSquare(w)], { w: trainer });
    expectClose(values(w), [0.85, -1.8], 1e-5);
    trainer.optimizer.dispose();
    w.dispose();
  });

  it('reports extras the loss closure fills in, and disposes them', async () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const trainer = adam(w);
    const extras: Record<string, tf.Scalar> = {};
    const step: LossStep = {
      key: key(0),
      role: 'w',
      loss: () => {
        const l = tf.mul(0.5, tf.sum(tf.square(w))) as tf.Scalar;
        extras.twice = tf.keep(tf.mul(2, l) as tf.Scalar);
        return l;
      },
      owned: [],
      extras,
    };
    const [m] = await run([step], { w: trainer });
    // loss = ½(1 + 4) = 2.5 → twice = 5
    expect(m.extras.twice).toBeCloseTo(5, 5);
    expect(extras.twice.isDisposed).toBe(true);
    trainer.optimizer.dispose();
    w.dispose();
  });

  it('honours metricsDue: no numbers and no host read when not due, the update still applied', async () => {
    const w = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const trainer = adam(w);
    const proto = tf.Tensor.prototype;
    const spies = [
      jest.spyOn(proto, 'dataSync'),
      jest.spyOn(proto, 'data'),
      jest.spyOn(proto, 'arraySync'),
      jest.spyOn(proto, 'array'),
    ];
    let metrics: StepMetrics[];
    try {
      metrics = await run(
        [halfSquare(w, 0), halfSquare(w, 1)],
        { w: trainer },
        { metricsDue: (k: { step: number }) => k.step % 2 === 1 },
      );
      // step 0 was not due: nothing read; step 1 was due: one packed read
      expect(spies.reduce((n, s) => n + s.mock.calls.length, 0)).toBe(1);
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    expect(metrics[0].loss).toBeNull();
    expect(metrics[0].gradNorm).toBeNull();
    expect(metrics[0].extras).toEqual({});
    expect(metrics[1].loss).not.toBeNull();
    // both steps were applied
    expectClose(values(w), adamOnHalfSquare([1, -2, 0.5], 2), 1e-5);
    trainer.optimizer.dispose();
    w.dispose();
  });

  it('throws NonFiniteLossError on a NaN loss without changing the variables or the optimiser', async () => {
    const w = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const trainer = adam(w);
    const nan: LossStep & { owned: tf.Tensor[] } = {
      ...halfSquare(w, 7, 'w'),
      loss: () => tf.mul(NaN, tf.sum(w)) as tf.Scalar,
    };
    const n0 = tf.memory().numTensors;
    const err = await run([nan], { w: trainer }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toBe('non-finite loss (NaN) for role "w" at phase 1, step 7: training stopped');
    expect(values(w)).toEqual([1, -2, 0.5]);
    expect(nan.owned[0].isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(n0 - 1); // only the owned tensor went; no Adam slots were created
    // the optimiser did not advance: the next step equals a fresh optimiser's first step, bit for bit
    await run([halfSquare(w, 8)], { w: trainer });
    const fresh = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const freshTrainer = adam(fresh);
    await run([halfSquare(fresh, 8)], { w: freshTrainer });
    expect(values(w)).toEqual(values(fresh));
    [trainer, freshTrainer].forEach((t) => t.optimizer.dispose());
    tf.dispose([w, fresh]);
  });

  it('throws NonFiniteLossError on an infinite gradient norm with a finite loss', async () => {
    // loss = Σ√z at z = 0 is 0, its gradient 1/(2√z) is +∞
    const z = tf.variable(tf.tensor1d([0, 1]));
    const trainer = adam(z);
    const step: LossStep = { key: key(2), role: 'w', loss: () => tf.sum(tf.sqrt(z)) as tf.Scalar, owned: [] };
    await expect(run([step], { w: trainer })).rejects.toThrow(
      'non-finite gradient norm (Infinity) for role "w" at phase 1, step 2',
    );
    expect(values(z)).toEqual([0, 1]);
    trainer.optimizer.dispose();
    z.dispose();
  });

  it('disposes the owned tensors when the loss closure throws or the role has no trainer', async () => {
    const w = tf.variable(tf.tensor1d([1]));
    const trainer = adam(w);
    const throwing = {
      ...halfSquare(w),
      loss: (): tf.Scalar => {
        throw new Error('bad closure');
      },
    };
    await expect(run([throwing], { w: trainer })).rejects.toThrow('bad closure');
    expect(throwing.owned[0].isDisposed).toBe(true);
    const orphan = halfSquare(w, 0, 'critic');
    await expect(run([orphan], { w: trainer })).rejects.toThrow('optimise: no trainer for role "critic" (have w)');
    expect(orphan.owned[0].isDisposed).toBe(true);
    trainer.optimizer.dispose();
    w.dispose();
  });

  it("routes each step to its role's trainer", async () => {
    const a = tf.variable(tf.tensor1d([1]));
    const b = tf.variable(tf.tensor1d([-1]));
    const trainers = { a: adam(a), b: adam(b) };
    await run([halfSquare(a, 0, 'a'), halfSquare(b, 0, 'b'), halfSquare(b, 1, 'b')], trainers);
    // a: one step; b: two steps
    expectClose(values(a), adamOnHalfSquare([1], 1), 1e-5);
    expectClose(values(b), adamOnHalfSquare([-1], 2), 1e-5);
    expect(adamOnHalfSquare([1], 2)[0]).toBeCloseTo(0.800412, 6);
    Object.values(trainers).forEach((t) => t.optimizer.dispose());
    tf.dispose([a, b]);
  });

  it('skips frozen (non-trainable) variables of a role instead of failing', async () => {
    const a = tf.variable(tf.tensor1d([1]));
    const frozen = tf.variable(tf.tensor1d([3]), false);
    const trainer = makeTrainer([a, frozen], { lr: 0.1 }, { lr: 0.1, betas: [0.9, 0.999] });
    const step: LossStep = { key: key(0), role: 'w', loss: () => tf.sum(tf.mul(a, frozen)) as tf.Scalar, owned: [] };
    const [m] = await run([step], { w: trainer });
    // L = a·f, ∂L/∂a = f = 3: ‖g‖ = 3 over the trainable variable only
    expect(m.gradNorm).toBeCloseTo(3, 5);
    expectClose(values(a), adamOnHalfSquare([1], 1), 1e-5);
    expect(values(frozen)).toEqual([3]);
    trainer.optimizer.dispose();
    tf.dispose([a, frozen]);
  });

  it('preserves order; a NaN step errors the stream at that step (marble)', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const trainer = adam(w);
    marbles().run(({ cold, expectObservable }) => {
      const steps = (src: Observable<number>) =>
        src.pipe(
          map((s) =>
            s < 0 ? { ...halfSquare(w, -s), loss: () => tf.mul(NaN, tf.sum(w)) as tf.Scalar } : halfSquare(w, s),
          ),
        );
      const stepOf = map((m: StepMetrics) => m.key.step);
      expectObservable(steps(cold('a-b-c|', { a: 2, b: 0, c: 1 })).pipe(optimise({ w: trainer }), stepOf)).toBe(
        'x-y-z|',
        { x: 2, y: 0, z: 1 },
      );
      expectObservable(steps(cold('a-b-c|', { a: 4, b: -5, c: 6 })).pipe(optimise({ w: trainer }), stepOf)).toBe(
        'x-#',
        { x: 4 },
        expect.any(NonFiniteLossError),
      );
    });
    trainer.optimizer.dispose();
    w.dispose();
  });

  it('works on a single element source', async () => {
    const w = tf.variable(tf.tensor1d([2]));
    const trainer = adam(w);
    const m = await firstValueFrom(of(halfSquare(w)).pipe(optimise({ w: trainer })));
    expect(m.loss).toBeCloseTo(2, 6);
    trainer.optimizer.dispose();
    w.dispose();
  });
});
