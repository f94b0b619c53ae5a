/**
 * The reference generator gradient (x0 space, normalised per sample, applied to the
 * student's own x0 prediction, mean loss) against hand-computed values, its agreement in
 * sign with the paper's x_s-space weight, and the config defaults that select it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import {
  dmdDirection,
  dmdNormaliser,
  referenceGrad,
  generatorLossMean,
  generatorLoss,
  paperGrad,
  NORMALISER_FLOOR,
} from '../../lib/losses/dmd';
import { generatorLossStep } from '../../lib/operators/distill/generatorLoss';
import { drawRollout } from '../../lib/rollout/generate';
import { drawRenoiseTimes } from '../../lib/rollout/renoise';
import { drawSeed, StepKey } from '../../lib/stream/types';
import { normal } from '../../lib/random/draws';
import { randomInt, splitSeed } from '../../lib/random/seed';
import { alphaTS, sigmaTS } from '../../lib/schedule/time';
import { forwardFromS, x0FromVelocity } from '../../lib/schedule/tensors';
import { nullLabels } from '../../lib/models/types';
import { withDefaults, DistillConfig, gradientOf } from '../../lib/distill/distill';
import { decodeOrThrow } from '../../lib/config/report';
import { ConstantVelocity, tinyMlp, phases4x2, contextOf } from '../helpers/phased';
import { read } from '../helpers/tensors';

beforeAll(async () => {
  await useBackend('wasm');
});

const rows = (x: tf.Tensor): number[][] => (x.arraySync() as number[][]).map((r) => [...r]);

describe('reference form, by hand', () => {
  // B = 2 samples, D = 2 dims
  const x0Fake = [
    [1, 2],
    [0, 0],
  ];
  const x0Real = [
    [0, 0],
    [0, 0.5],
  ];
  const x0G = [
    [0.5, -0.5],
    [0, 0.5],
  ]; // sample 1 sits exactly on the teacher's prediction

  it('direction x0̂_F − x0̂_T', () => {
    const d = tf.tidy(() => rows(dmdDirection(tf.tensor2d(x0Fake), tf.tensor2d(x0Real))));
    expect(d).toEqual([
      [1, 2],
      [0, -0.5],
    ]);
  });

  it('normaliser max(mean_d |x0_G − x0̂_T|, 1e-4): .5 for sample 0, the floor for sample 1', () => {
    const n = tf.tidy(() => rows(dmdNormaliser(tf.tensor2d(x0G), tf.tensor2d(x0Real))));
    expect(n[0][0]).toBeCloseTo(0.5, 7);
    expect(n[1][0]).toBeCloseTo(NORMALISER_FLOOR, 9);
    expect(NORMALISER_FLOOR).toBe(1e-4);
  });

  it('grad = direction / normaliser = [[2, 4], [0, −5000]]', () => {
    const g = tf.tidy(() =>
      rows(referenceGrad({ x0Fake: tf.tensor2d(x0Fake), x0Real: tf.tensor2d(x0Real), x0G: tf.tensor2d(x0G) })),
    );
    expect(g[0][0]).toBeCloseTo(2, 5);
    expect(g[0][1]).toBeCloseTo(4, 5);
    expect(g[1][0]).toBeCloseTo(0, 5);
    expect(g[1][1]).toBeCloseTo(-5000, 1);
  });

  it('loss ½·mean‖x0_G − sg(x0_G − grad)‖² has value ½·mean(grad²) and gradient grad / (B·D)', () => {
    const grad = [
      [2, 4],
      [0, -5000],
    ];
    const x = tf.tensor2d(x0G);
    const f = (y: tf.Tensor) => generatorLossMean(y, () => tf.tensor2d(grad));
    const value = read(() => f(x));
    const g = tf.tidy(() => rows(tf.grad(f)(x)));
    expect(value[0]).toBeCloseTo((0.5 * (4 + 16 + 0 + 25e6)) / 4, -1);
    grad.forEach((r, i) => r.forEach((v, d) => expect(g[i][d]).toBeCloseTo(v / 4, 3)));
    x.dispose();
  });
});

describe('reference and paper forms move each sample the same way', () => {
  /**
   * One SGTS step from x_{t_j} with velocity v (per sample): x_s = x_{t_j} + (s − t_j)·v,
   * x0_G = x_{t_j} − t_j·v. ∂L/∂v under either form must be a positive multiple of the
   * other, sample by sample: paper ∝ (t_j − s)·w·(v_T − v_F), reference ∝ t_j·t·(v_T − v_F)/n.
   */
  it.each([
    [0.9375, 5 / 6],
    [0.625, 0],
    [1, 0],
  ])('t_j = %f, s = %f: per-sample ∂L/∂v are positive multiples', (tj, s) => {
    const before = tf.memory().numTensors;
    const B = 16;
    const teacher = tinyMlp(0, 1);
    const fake = tinyMlp(0, 2);
    const out = tf.tidy(() => {
      const xj = normal([B, 2], 3);
      const v = tf.mul(0.7, normal([B, 2], 4));
      const eps = normal([B, 2], 5);
      const t = tf.add(s + 0.01, tf.mul(0.98 - s, tf.randomUniform([B], 0, 1, 'float32', 6)));
      const scores = (xs: tf.Tensor) => {
        const xt = forwardFromS(xs, eps, t, s);
        return { xt, vReal: teacher.apply(xt, t, null), vFake: fake.apply(xt, t, null) };
      };
      const xsOf = (vv: tf.Tensor) => tf.add(xj, tf.mul(s - tj, vv));
      const x0Of = (vv: tf.Tensor) => tf.sub(xj, tf.mul(tj, vv));
      const gPaper = tf.grad((vv: tf.Tensor) =>
        generatorLoss(xsOf(vv), (xd) => paperGrad({ ...scores(xd), xs: xd, t, s })),
      )(v);
      const gRef = tf.grad((vv: tf.Tensor) =>
        generatorLossMean(x0Of(vv), (x0d) => {
          const { xt, vReal, vFake } = scores(xsOf(vv));
          return referenceGrad({
            x0Fake: x0FromVelocity(xt, vFake, t),
            x0Real: x0FromVelocity(xt, vReal, t),
            x0G: x0d,
          });
        }),
      )(v);
      return [rows(gPaper), rows(gRef)];
    });
    const [paper, ref] = out;
    for (let i = 0; i < B; i++) {
      const dot = paper[i][0] * ref[i][0] + paper[i][1] * ref[i][1];
      const np = Math.hypot(...paper[i]);
      const nr = Math.hypot(...ref[i]);
      expect(np).toBeGreaterThan(0);
      expect(dot / (np * nr)).toBeGreaterThan(1 - 1e-4); // cosine 1: same direction, positive scale
    }
    teacher.dispose();
    fake.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('generatorLossStep, reference form: ∂L/∂b from the equations (v_G = b constant)', () => {
  const B = 8;
  const guidance = 2;
  const key = (step: number, phase: number): StepKey => ({ seed: 11, phase, step });
  const stepWithExit = (phase: number, steps: number, j: number): number => {
    for (let step = 0; step < 1000; step++)
      if (randomInt(splitSeed(drawSeed(key(step, phase), 'generator', 0), 'exit'), steps) === j) return step;
    throw new Error('no such step');
  };

  it.each([
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ])(
    'phase %i, exit %i: ∂L/∂b = Σ_i (−t_j)·grad_i / (B·D), grad = (x0̂_F − x0̂_T)/max(mean|x0_G − x0̂_T|, 1e-4)',
    (phaseIndex, j) => {
      const before = tf.memory().numTensors;
      const phases = phases4x2({ batchSize: B, guidance });
      const phase = phases[phaseIndex];
      const teacher = tinyMlp(3, 1);
      const fake = tinyMlp(3, 2);
      const b = [0.3, -0.2];
      const b0 = [-0.5, 0.4];
      const generator = new ConstantVelocity(b, 3);
      const earlierExpert = new ConstantVelocity(b0, 3);
      earlierExpert.params.setTrainable(false);
      const earlier = phaseIndex === 0 ? [] : [{ grid: phases[0].grid, expert: earlierExpert }];
      const ctx = { ...contextOf({ teacher, generator, fake, phase, earlier }), gradient: 'reference' as const };
      const k = key(stepWithExit(phaseIndex, phase.steps, j), phaseIndex);
      const r = drawRollout(ctx, B, drawSeed(k, 'generator', 0));
      const t = read(() => drawRenoiseTimes(ctx, B, drawSeed(k, 'generator', 0, 't')));
      const eps = normal([B, 2], drawSeed(k, 'generator', 0, 'eps'));
      const E = rows(eps);
      const s = phase.end;
      const tj = phase.grid[j];
      // host rollout: earlier expert (Euler over phase 1), then j Euler steps, then the jump
      const z = rows(r.z);
      const xStart =
        phaseIndex === 0 ? z : z.map((row) => row.map((v, d) => v + (phases[0].end - phases[0].start) * b0[d]));
      const xj = xStart.map((row) => row.map((v, d) => v + (tj - phase.start) * b[d]));
      const xs = xj.map((row) => row.map((v, d) => v + (s - tj) * b[d]));
      const x0G = xj.map((row) => row.map((v, d) => v - tj * b[d]));
      const xt = xs.map((row, i) => row.map((v, d) => alphaTS(t[i], s) * v + sigmaTS(t[i], s) * E[i][d]));
      const [vc, vu, vf] = tf.tidy(() => {
        const X = tf.tensor2d(xt);
        const T = tf.tensor1d(t);
        return [
          teacher.apply(X, T, r.labels),
          teacher.apply(X, T, nullLabels(teacher, B)),
          fake.apply(X, T, r.labels),
        ].map(rows);
      });
      const expected = [0, 0];
      for (let i = 0; i < B; i++) {
        const x0T = [0, 1].map((d) => xt[i][d] - t[i] * (vu[i][d] + guidance * (vc[i][d] - vu[i][d])));
        const x0F = [0, 1].map((d) => xt[i][d] - t[i] * vf[i][d]);
        const n = Math.max((Math.abs(x0G[i][0] - x0T[0]) + Math.abs(x0G[i][1] - x0T[1])) / 2, 1e-4);
        for (let d = 0; d < 2; d++) expected[d] += (-tj * (x0F[d] - x0T[d])) / n / (B * 2);
      }
      const step = generatorLossStep(ctx)({ key: k, role: 'generator', sub: 0 });
      const { value, grads } = tf.variableGrads(step.loss, generator.params.variables);
      const got = Array.from(grads[generator.params.get('b').name].dataSync());
      tf.dispose([
        value,
        ...Object.values(grads),
        ...step.owned,
        ...Object.values(step.extras ?? {}),
        r.z,
        r.labels!,
        eps,
      ]);
      [teacher, fake, generator, earlierExpert].forEach((m) => m.dispose());
      got.forEach((g, d) =>
        expect(Math.abs(g - expected[d])).toBeLessThan(1e-4 * Math.max(1e-2, Math.abs(expected[d]))),
      );
      expect(Math.abs(expected[0]) + Math.abs(expected[1])).toBeGreaterThan(1e-4);
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});

describe('config: the reference form is the default for every method', () => {
  const base = { teacher: 't.ckpt' };
  it.each(['dmd', 'vanilla', 'sgts', 'phased'])(
    '%s: gradient reference, generator clip norm 1, fake unclipped',
    (method) => {
      const d = withDefaults(decodeOrThrow(DistillConfig, { ...base, method }));
      expect(d.gradient).toBe('reference');
      expect(d.optimizer.generator.clipNorm).toBe(1);
      expect(d.optimizer.fake.clipNorm ?? 0).toBe(0);
      expect(d.stepper).toBe('euler');
      expect(d.fakeTracks).toBe('exit');
    },
  );

  it('the ablations are named; the older normaliser field maps onto them; a clash is refused', () => {
    const dec = (o: object) => decodeOrThrow(DistillConfig, { ...base, method: 'sgts', ...o });
    expect(gradientOf(dec({ gradient: 'paper' }))).toBe('paper');
    expect(gradientOf(dec({ normaliser: 'paper' }))).toBe('paper');
    expect(gradientOf(dec({ normaliser: 'dmd2' }))).toBe('xs-normalised');
    expect(() => gradientOf(dec({ normaliser: 'dmd2', gradient: 'reference' }))).toThrow(
      /normaliser "dmd2" means gradient "xs-normalised"/,
    );
    expect(withDefaults(dec({ optimizer: { generator: { clipNorm: 0 } } })).optimizer.generator.clipNorm).toBe(0);
    expect(() => dec({ gradient: 'dmd3' })).toThrow(/gradient/);
  });
});
