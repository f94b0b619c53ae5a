/**
 * Phased DMD losses (docs/algorithm.md §5), each checked against host
 * arithmetic written from the equations:
 *  - generator gradient w.r.t. the phase end x_s: (1 − t)²/(t·(1 − s))·(v_T,cfg − v_F);
 *  - SGTS inside a multi-step phase: only the exit step j is differentiated;
 *  - fake score: subinterval target v* and clamp weight min(1, 10·σ²_{t|s});
 *  - v* is unbiased (the naive ε − x_s is not);
 *  - the re-noising t stays at least `margin` above s (nested and disjoint intervals).
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../../lib/backend';
import { generatorLossStep } from '../../../lib/operators/distill/generatorLoss';
import { fakeScoreLossStep } from '../../../lib/operators/distill/fakeScoreLoss';
import { drawRollout } from '../../../lib/rollout/generate';
import { drawRenoiseTimes, renoiseRange } from '../../../lib/rollout/renoise';
import { drawSeed, StepKey } from '../../../lib/stream/types';
import { normal } from '../../../lib/random/draws';
import { randomInt, splitSeed } from '../../../lib/random/seed';
import {
  alphaTS,
  sigmaTS,
  phasedWeight,
  subintervalLossWeight,
  subintervalTargetCoefficients,
  unshiftTime,
} from '../../../lib/schedule/time';
import { subintervalVelocityTarget } from '../../../lib/schedule/tensors';
import { resolveSchedule, ResolvedPhase } from '../../../lib/phases/resolve';
import { PhasedSchedule } from '../../../lib/phases/segment';
import { decodeOrThrow } from '../../../lib/config/report';
import { nullLabels } from '../../../lib/models/types';
import { ConstantVelocity, tinyMlp, phases4x2, phases4x4, contextOf } from '../../helpers/phased';
import { read } from '../../helpers/tensors';

beforeAll(async () => {
  await useBackend('wasm');
});

const key = (step: number, phase: number): StepKey => ({ seed: 7, phase, step });
const rows = (x: tf.Tensor): number[][] => (x.arraySync() as number[][]).map((r) => [...r]);

/** The first step whose SGTS exit (for a phase of `steps`) is j. */
const stepWithExit = (phase: number, steps: number, j: number): number => {
  for (let step = 0; step < 1000; step++)
    if (randomInt(splitSeed(drawSeed(key(step, phase), 'generator', 0), 'exit'), steps) === j) return step;
  throw new Error('no such step');
};

describe('generator gradient w.r.t. x_s (phase end s > 0 and s = 0), SGTS within the phase', () => {
  const D = 2;
  const B = 8;
  const guidance = 2;

  /**
   * Host expectation: with v_G = b constant, x_s = x_start + (s − t_start)·b in value,
   * and the SGTS jump x_s = x_{t_j} + (s − t_j)·b carries the only gradient, so
   *   ∂L/∂b = (s − t_j)·Σ_i grad_i,  grad_i = (1 − t_i)²/(t_i(1 − s))·(v_T,cfg − v_F)(x_t,i, t_i),
   *   x_t = α_{t|s}·x_s + σ_{t|s}·ε,  v_T,cfg = v_T(∅) + g·(v_T(c) − v_T(∅)).
   */
  const expectedGrad = (a: {
    phase: ResolvedPhase;
    b: number[];
    xStart: number[][];
    t: number[];
    eps: number[][];
    labels: tf.Tensor1D;
    tj: number;
    teacher: ReturnType<typeof tinyMlp>;
    fake: ReturnType<typeof tinyMlp>;
  }): number[] => {
    const s = a.phase.end;
    const xs = a.xStart.map((r) => r.map((v, d) => v + (s - a.phase.start) * a.b[d]));
    const xt = xs.map((r, i) => r.map((v, d) => alphaTS(a.t[i], s) * v + sigmaTS(a.t[i], s) * a.eps[i][d]));
    const [vc, vu, vf] = tf.tidy(() => {
      const X = tf.tensor2d(xt);
      const T = tf.tensor1d(a.t);
      return [
        a.teacher.apply(X, T, a.labels),
        a.teacher.apply(X, T, nullLabels(a.teacher, B)),
        a.fake.apply(X, T, a.labels),
      ].map(rows);
    });
    const total = [0, 0];
    for (let i = 0; i < B; i++)
      for (let d = 0; d < D; d++) {
        const vReal = vu[i][d] + guidance * (vc[i][d] - vu[i][d]);
        total[d] += phasedWeight(a.t[i], s) * (vReal - vf[i][d]);
      }
    return total.map((g) => (s - a.tj) * g);
  };

  const run = (phaseIndex: number, j: number, backprop: 'sgts' | 'full' = 'sgts') => {
    const phases = phases4x2({ batchSize: B, guidance });
    const phase = phases[phaseIndex];
    const teacher = tinyMlp(3, 1);
    const fake = tinyMlp(3, 2);
    const b = [0.3, -0.2];
    const generator = new ConstantVelocity(b, 3);
    const b0 = [-0.5, 0.4];
    const earlierExpert = new ConstantVelocity(b0, 3);
    earlierExpert.params.setTrainable(false);
    const earlier = phaseIndex === 0 ? [] : [{ grid: phases[0].grid, expert: earlierExpert }];
    const ctx = contextOf({ teacher, generator, fake, phase, earlier, backprop });
    const k = key(stepWithExit(phaseIndex, phase.steps, j), phaseIndex);
    // the same draws the step makes, from the same seeds
    const r = drawRollout(ctx, B, drawSeed(k, 'generator', 0));
    const t = read(() => drawRenoiseTimes(ctx, B, drawSeed(k, 'generator', 0, 't')));
    const epsT = normal([B, D], drawSeed(k, 'generator', 0, 'eps'));
    const z = rows(r.z);
    const xStart =
      phaseIndex === 0 ? z : z.map((row) => row.map((v, d) => v + (phases[0].end - phases[0].start) * b0[d]));
    const tj = backprop === 'full' ? phase.start : phase.grid[j];
    const expected = expectedGrad({ phase, b, xStart, t, eps: rows(epsT), labels: r.labels!, tj, teacher, fake });
    const step = generatorLossStep(ctx)({ key: k, role: 'generator', sub: 0 });
    // earlier expert made trainable for this check only: it must still get no gradient
    earlierExpert.params.setTrainable(true);
    const { value, grads } = tf.variableGrads(step.loss, [
      ...generator.params.variables,
      ...(phaseIndex === 0 ? [] : earlierExpert.params.variables),
    ]);
    const got = Array.from(grads[generator.params.get('b').name].dataSync());
    const earlierGrad = phaseIndex === 0 ? null : grads[earlierExpert.params.get('b').name];
    const earlierGradValues = earlierGrad ? Array.from(earlierGrad.dataSync()) : null;
    tf.dispose([
      value,
      ...Object.values(grads),
      ...step.owned,
      ...Object.values(step.extras ?? {}),
      r.z,
      r.labels!,
      epsT,
    ]);
    [teacher, fake, generator, earlierExpert].forEach((m) => m.dispose());
    return { got, expected, earlierGradValues, exit: r.exit, tj };
  };

  it.each([
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ])('phase %i, SGTS exit step %i: ∂L/∂b = (s − t_j)·Σ (1 − t)²/(t(1 − s))·(v_T,cfg − v_F)', (phaseIndex, j) => {
    const before = tf.memory().numTensors;
    const { got, expected, earlierGradValues, exit } = run(phaseIndex, j);
    expect(exit).toBe(j);
    got.forEach((g, d) => expect(Math.abs(g - expected[d])).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[d]))));
    expect(Math.abs(expected[0]) + Math.abs(expected[1])).toBeGreaterThan(1e-3); // a real signal, not 0 = 0
    // the frozen earlier expert produces the input without gradient
    if (earlierGradValues !== null) earlierGradValues.forEach((g) => expect(g).toBe(0));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the SGTS gradient differs from full back-propagation through the phase (which scales by s − t_start)', () => {
    const sg = run(1, 1);
    const full = run(1, 0, 'full');
    full.got.forEach((g, d) =>
      expect(Math.abs(g - full.expected[d])).toBeLessThan(1e-4 * Math.max(1, Math.abs(full.expected[d]))),
    );
    // same draws for step keys aside, the scale factors differ: (0 − .625) vs (0 − .833)
    expect(sg.tj).toBeCloseTo(0.625, 3);
    expect(full.tj).toBeCloseTo(5 / 6, 6);
  });
});

describe('fake score: subinterval target v* and clamp weight min(1, 10·σ²_{t|s})', () => {
  // shift 1, phase 1 = 1 → .5 (2 steps): σ²_{t|s} ≈ 2(t − s) near s, so the clamp is active for t < .55
  const schedule = resolveSchedule(
    decodeOrThrow(PhasedSchedule, {
      shift: 1,
      defaults: { batchSize: 64, margin: 0 },
      phases: [
        { interval: { start: 1, end: 0.5 }, steps: 2, iterations: 1 },
        { interval: { start: 0.5, end: 0 }, steps: 2, iterations: 1 },
      ],
    }),
  );

  it('the loss equals mean_i w_i·mean_d (v_F(x_t) − v*)², v* = a·ε − x_s/(1 − s), from the equations', () => {
    const before = tf.memory().numTensors;
    const phase = schedule[0];
    const s = phase.end;
    const B = phase.batchSize;
    const teacher = tinyMlp(0, 1);
    const fake = tinyMlp(0, 3);
    const b = [0.2, 0.1];
    const generator = new ConstantVelocity(b);
    const ctx = { ...contextOf({ teacher, generator, fake, phase }), shift: 1 };
    const k = key(3, 0);
    const r = drawRollout(ctx, B, drawSeed(k, 'fake', 2));
    const t = read(() => drawRenoiseTimes(ctx, B, drawSeed(k, 'fake', 2, 't')));
    const epsT = normal([B, 2], drawSeed(k, 'fake', 2, 'eps'));
    const eps = rows(epsT);
    const xs = rows(r.z).map((row) => row.map((v, d) => v + (s - 1) * b[d]));
    const xt = xs.map((row, i) => row.map((v, d) => alphaTS(t[i], s) * v + sigmaTS(t[i], s) * eps[i][d]));
    const target = xs.map((row, i) => {
      const c = subintervalTargetCoefficients(t[i], s);
      return row.map((v, d) => c.a * eps[i][d] - c.b * v);
    });
    const w = t.map((ti) => subintervalLossWeight(ti, s));
    const vf = tf.tidy(() => rows(fake.apply(tf.tensor2d(xt), tf.tensor1d(t), null)));
    const expected =
      w.reduce((acc, wi, i) => acc + (wi * ((vf[i][0] - target[i][0]) ** 2 + (vf[i][1] - target[i][1]) ** 2)) / 2, 0) /
      B;

    const step = fakeScoreLossStep(ctx)({ key: k, role: 'fake', sub: 2 });
    const loss = tf.tidy(() => step.loss()); // as inside variableGrads
    expect(Math.abs(loss.dataSync()[0] - expected)).toBeLessThan(1e-4 * expected);
    expect(w.some((wi) => wi < 1)).toBe(true); // the clamp was exercised
    expect(w.every((wi) => wi > 0 && wi <= 1)).toBe(true);
    tf.dispose([loss, ...step.owned, r.z, epsT]);
    [teacher, fake, generator].forEach((m) => m.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });

  /**
   * With x_s = (1 − s)·x0 + s·ε₁ and x_t = α_{t|s}·x_s + σ_{t|s}·ε₂ (so x_t = (1 − t)·x0 + n,
   * n = α_{t|s}·s·ε₁ + σ_{t|s}·ε₂ ~ N(0, t²)), a target c₀·x0 + c₁·ε₁ + c₂·ε₂ regresses
   * to E[ε − x0 | x_t] for every data distribution iff c₀ = −1 and its noise part minus
   * n/t is uncorrelated with n (then it is independent of (x0, n), so of x_t):
   *   (c₂ − σ/t)·σ + (c₁ − α·s/t)·α·s = 0.
   */
  const bias = (
    target: (xs: tf.Tensor, eps: tf.Tensor, t: tf.Tensor, s: number) => tf.Tensor,
    t: number,
    s: number,
  ) => {
    const at = (xs: number, eps: number) =>
      tf.tidy(() => target(tf.tensor2d([[xs]]), tf.tensor2d([[eps]]), tf.tensor1d([t]), s).dataSync()[0]);
    const [kx, ke] = [at(1, 0), at(0, 1)]; // target = kx·x_s + ke·ε₂
    const [c0, c1, c2] = [kx * (1 - s), kx * s, ke];
    const [al, sg] = [alphaTS(t, s), sigmaTS(t, s)];
    return { x0: c0 + 1, noise: (c2 - sg / t) * sg + (c1 - (al * s) / t) * al * s };
  };

  it.each([
    [0.6, 0.5],
    [0.9, 0.5],
    [0.95, 5 / 6],
    [0.9, 0.625],
    [0.3, 0],
  ])('v* is unbiased at t = %f, s = %f (the marginal of x_t is the forward process at t)', (t, s) => {
    const b = bias(subintervalVelocityTarget, t, s);
    expect(Math.abs(b.x0)).toBeLessThan(1e-5);
    expect(Math.abs(b.noise)).toBeLessThan(1e-4);
    // x_t's marginal: α_{t|s}(1 − s) = 1 − t and (α_{t|s}·s)² + σ²_{t|s} = t²
    expect(alphaTS(t, s) * (1 - s)).toBeCloseTo(1 - t, 10);
    expect((alphaTS(t, s) * s) ** 2 + sigmaTS(t, s) ** 2).toBeCloseTo(t * t, 10);
  });

  it.each([
    [0.6, 0.5],
    [0.95, 5 / 6],
  ])('the naive target ε − x_s is biased at t = %f, s = %f', (t, s) => {
    const b = bias((xs, eps) => tf.sub(eps, xs), t, s);
    expect(Math.abs(b.x0) + Math.abs(b.noise)).toBeGreaterThan(0.1);
  });
});

describe('re-noising interval and margin (unshifted [u_s + margin, 0.98], then shifted)', () => {
  const teacher = () => tinyMlp(0, 1);
  const shift5 = (u: number) => (5 * u) / (1 + 4 * u);

  it('nested, 4x2 phase 1 at S = 5: u_s = .5, so u ∈ [.52, .98] and t ∈ [.844156, .995935]', () => {
    const phase = phases4x2({ margin: 0.02 })[0];
    const m = teacher();
    const ctx = contextOf({ teacher: m, generator: m, fake: m, phase });
    const t = read(() => drawRenoiseTimes(ctx, 4000, 11));
    m.dispose();
    // hand-computed: shift(.52) = 2.6 / 3.08, shift(.98) = 4.9 / 4.92
    expect(shift5(0.52)).toBeCloseTo(0.844156, 6);
    expect(shift5(0.98)).toBeCloseTo(0.995935, 6);
    const r = renoiseRange(ctx);
    expect(r.lo).toBeCloseTo(0.52, 9);
    expect(r.hi).toBe(0.98);
    expect(r.shift).toBe(5);
    expect(Math.min(...t)).toBeGreaterThanOrEqual(0.844156 - 1e-5);
    expect(Math.max(...t)).toBeLessThanOrEqual(0.995935 + 1e-5);
    // uniform in unshifted time: mean u ≈ (.52 + .98) / 2 = .75, and both ends are reached
    const u = t.map((x) => unshiftTime(x, 5));
    expect(u.reduce((a, b) => a + b, 0) / u.length).toBeCloseTo(0.75, 2);
    expect(Math.min(...u)).toBeLessThan(0.53);
    expect(Math.max(...u)).toBeGreaterThan(0.97);
  });

  it('disjoint, 4x4 phase 2 at S = 5: u ∈ [.5 + .05, .75], inside the phase', () => {
    const phase = phases4x4({ margin: 0.05, renoise: 'disjoint' })[1];
    const m = teacher();
    const ctx = contextOf({ teacher: m, generator: m, fake: m, phase });
    const t = read(() => drawRenoiseTimes(ctx, 4000, 12));
    m.dispose();
    const r = renoiseRange(ctx);
    expect(r.lo).toBeCloseTo(0.55, 9);
    expect(r.hi).toBeCloseTo(0.75, 9);
    expect(Math.min(...t)).toBeGreaterThanOrEqual(shift5(0.55) - 1e-5);
    expect(Math.max(...t)).toBeLessThanOrEqual(phase.start + 1e-6);
    expect(Math.max(...t)).toBeGreaterThan(shift5(0.74));
  });

  it('the last phase (s = 0) draws u ∈ [.02, .98]: t ∈ [shift(.02), shift(.98)] = [.092593, .995935]', () => {
    const phase = phases4x2({ margin: 0.02 })[1];
    const m = teacher();
    const ctx = contextOf({ teacher: m, generator: m, fake: m, phase });
    const t = read(() => drawRenoiseTimes(ctx, 2000, 13));
    m.dispose();
    expect(shift5(0.02)).toBeCloseTo(0.1 / 1.08, 9);
    expect(Math.min(...t)).toBeGreaterThanOrEqual(0.092593 - 1e-5);
    expect(Math.max(...t)).toBeLessThanOrEqual(0.995935 + 1e-5);
  });
});
