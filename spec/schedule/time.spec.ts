/**
 * Rectified-flow schedule math (docs/algorithm.md §1, §5) against hand-computed values.
 * Every expected number is worked out in the comment next to it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import {
  alpha,
  sigma,
  shiftTime,
  unshiftTime,
  snrOfTime,
  timeOfSnr,
  logSnrOfTime,
  timeOfLogSnr,
  timeGrid,
  alphaTS,
  sigmaTS,
  dmdWeight,
  phasedWeight,
  subintervalLossWeight,
  subintervalTargetCoefficients,
} from '../../lib/schedule/time';
import {
  perSample,
  forwardSample,
  velocityTarget,
  x0FromVelocity,
  epsFromVelocity,
  scoreFromVelocity,
  velocityFromX0,
  velocityFromEps,
  velocityFromScore,
  guide,
  eulerStep,
  heunStep,
  alphaTSTensor,
  sigmaTSTensor,
  forwardFromS,
  subintervalVelocityTarget,
  subintervalX0Target,
  phasedWeightTensor,
  subintervalLossWeightTensor,
  shiftTimeTensor,
} from '../../lib/schedule/tensors';
import { timeRange, sampleTimes } from '../../lib/schedule/sampling';
import { expectClose, read, values } from '../helpers/tensors';

beforeAll(async () => {
  await useBackend('wasm');
});

// (t, s) pairs with 0 ≤ s < t ≤ 1 used by the identity checks.
const PAIRS: Array<[number, number]> = [
  [1, 0],
  [0.9, 0],
  [0.9, 0.5],
  [0.95, 0.8333333333],
  [0.6, 0.5],
  [0.3, 0.1],
  [1, 0.625],
];

describe('time.ts: α_t, σ_t, shift', () => {
  it('α_t = 1 − t and σ_t = t', () => {
    expect(alpha(0.3)).toBeCloseTo(0.7, 12);
    expect(sigma(0.3)).toBe(0.3);
  });

  it('shift(t, S) = S·t / (1 + (S − 1)·t)', () => {
    // S = 5: shift(.5) = 2.5 / 3 = .8333…, shift(.75) = 3.75 / 4 = .9375, shift(.25) = 1.25 / 2 = .625
    expect(shiftTime(0.5, 5)).toBeCloseTo(5 / 6, 12);
    expect(shiftTime(0.75, 5)).toBeCloseTo(0.9375, 12);
    expect(shiftTime(0.25, 5)).toBeCloseTo(0.625, 12);
    // S = 3: shift(.5) = 1.5 / 2 = .75
    expect(shiftTime(0.5, 3)).toBeCloseTo(0.75, 12);
    // fixed points 0 and 1; S = 1 is the identity
    expect(shiftTime(0, 5)).toBe(0);
    expect(shiftTime(1, 5)).toBe(1);
    expect(shiftTime(0.37, 1)).toBeCloseTo(0.37, 12);
  });

  it('unshift(t, S) = t / (S − (S − 1)·t) inverts shift', () => {
    // unshift(5/6, 5) = (5/6) / (5 − 4·5/6) = (5/6) / (5/3) = .5
    expect(unshiftTime(5 / 6, 5)).toBeCloseTo(0.5, 12);
    for (const S of [1, 3, 5, 0.5])
      for (const u of [0, 0.1, 0.25, 0.5, 0.9, 1]) {
        expect(unshiftTime(shiftTime(u, S), S)).toBeCloseTo(u, 12);
        expect(shiftTime(unshiftTime(u, S), S)).toBeCloseTo(u, 12);
      }
  });

  it('shiftTimeTensor equals shiftTime element-wise', () => {
    const u = [0, 0.25, 0.5, 0.75, 1];
    expectClose(
      read(() => shiftTimeTensor(tf.tensor1d(u), 5)),
      u.map((x) => shiftTime(x, 5)),
      1e-6,
    );
  });
});

describe('time.ts: SNR and log-SNR', () => {
  it('SNR(t) = ((1 − t)/t)² and t = 1/(1 + √SNR)', () => {
    // SNR(.2) = (.8/.2)² = 16; SNR(.5) = 1; SNR(.8) = (.2/.8)² = 1/16
    expect(snrOfTime(0.2)).toBeCloseTo(16, 12);
    expect(snrOfTime(0.5)).toBeCloseTo(1, 12);
    expect(snrOfTime(0.8)).toBeCloseTo(1 / 16, 12);
    expect(snrOfTime(0)).toBe(Infinity);
    expect(snrOfTime(1)).toBe(0);
    // t(16) = 1/(1 + 4) = .2; t(0) = 1
    expect(timeOfSnr(16)).toBeCloseTo(0.2, 12);
    expect(timeOfSnr(0)).toBe(1);
    for (const t of [0.01, 0.2, 0.5, 0.8333, 0.99]) expect(timeOfSnr(snrOfTime(t))).toBeCloseTo(t, 12);
  });

  it('λ = 2·log((1 − t)/t) and t = 1/(1 + e^{λ/2})', () => {
    // λ(.2) = 2·ln 4 = 2.772588722…; λ(.5) = 0; λ(.8) = −2·ln 4
    expect(logSnrOfTime(0.2)).toBeCloseTo(2.772588722239781, 12);
    expect(logSnrOfTime(0.5)).toBe(0);
    expect(logSnrOfTime(0.8)).toBeCloseTo(-2.772588722239781, 12);
    expect(timeOfLogSnr(0)).toBe(0.5);
    // t(λ = 2·ln 4) = 1/(1 + 4) = .2
    expect(timeOfLogSnr(2 * Math.log(4))).toBeCloseTo(0.2, 12);
    for (const t of [0.01, 0.2, 0.5, 0.8333, 0.99]) {
      expect(timeOfLogSnr(logSnrOfTime(t))).toBeCloseTo(t, 12);
      expect(logSnrOfTime(t)).toBeCloseTo(Math.log(snrOfTime(t)), 10);
    }
  });
});

describe('time.ts: step grids', () => {
  it('timeGrid(4, 5) = [1, .9375, .8333, .625, 0]', () => {
    // u = 1, .75, .5, .25, 0 shifted with S = 5 (see the shift test)
    expectClose(timeGrid(4, 5), [1, 0.9375, 5 / 6, 0.625, 0], 1e-12);
  });

  it('timeGrid(4, 1) is evenly spaced; the end points are exact', () => {
    expectClose(timeGrid(4, 1), [1, 0.75, 0.5, 0.25, 0], 1e-12);
    const g = timeGrid(7, 3);
    expect(g[0]).toBe(1);
    expect(g[7]).toBe(0);
    for (let i = 0; i < 7; i++) expect(g[i]).toBeGreaterThan(g[i + 1]);
  });

  it('a sub-grid over [s, 1] is the matching part of the full grid', () => {
    // timeGrid(2, 5, 1, 5/6): u0 = 1, u1 = unshift(5/6) = .5 → u = 1, .75, .5 → [1, .9375, .8333]
    expectClose(timeGrid(2, 5, 1, 5 / 6), [1, 0.9375, 5 / 6], 1e-12);
    // timeGrid(2, 5, 5/6, 0): u = .5, .25, 0 → [.8333, .625, 0]
    expectClose(timeGrid(2, 5, 5 / 6, 0), [5 / 6, 0.625, 0], 1e-12);
  });
});

describe('time.ts: sub-interval transition α_{t|s}, σ_{t|s}', () => {
  it('hand values at (t, s) = (.9, .5)', () => {
    // α = .1/.5 = .2;  σ² = .81 − (.1·.5/.5)² = .81 − .01 = .8 → σ = .894427191
    expect(alphaTS(0.9, 0.5)).toBeCloseTo(0.2, 12);
    expect(sigmaTS(0.9, 0.5)).toBeCloseTo(Math.sqrt(0.8), 12);
    // (t, s) = (.6, .5): α = .4/.5 = .8; σ² = .36 − (.4·.5/.5)² = .36 − .16 = .2
    expect(alphaTS(0.6, 0.5)).toBeCloseTo(0.8, 12);
    expect(sigmaTS(0.6, 0.5) ** 2).toBeCloseTo(0.2, 12);
  });

  it('s = 0 reduces to the ordinary forward process: α_{t|0} = 1 − t, σ_{t|0} = t', () => {
    for (const t of [0, 0.1, 0.5, 0.9, 1]) {
      expect(alphaTS(t, 0)).toBeCloseTo(1 - t, 12);
      expect(sigmaTS(t, 0)).toBeCloseTo(t, 12);
    }
  });

  it('t = s adds nothing: α_{s|s} = 1, σ_{s|s} = 0', () => {
    for (const s of [0, 0.3, 0.8333]) {
      expect(alphaTS(s, s)).toBeCloseTo(1, 12);
      expect(sigmaTS(s, s)).toBeCloseTo(0, 6);
    }
  });

  it('forward to s then s → t has the marginal of x_t: α_{t|s}(1 − s) = 1 − t, α_{t|s}²s² + σ_{t|s}² = t²', () => {
    // x_t = α_{t|s}((1 − s)x0 + s·ε₁) + σ_{t|s}ε₂: mean coefficient α_{t|s}(1 − s), noise variance α_{t|s}²s² +
    // σ_{t|s}².
    for (const [t, s] of PAIRS) {
      expect(alphaTS(t, s) * (1 - s)).toBeCloseTo(1 - t, 12);
      expect(alphaTS(t, s) ** 2 * s * s + sigmaTS(t, s) ** 2).toBeCloseTo(t * t, 10);
    }
  });

  it('tensor forms agree with the scalar forms', () => {
    const t = PAIRS.filter(([, s]) => s === 0.5).map(([tt]) => tt); // [.9, .6]
    expectClose(
      read(() => alphaTSTensor(tf.tensor1d(t), 0.5)),
      t.map((x) => alphaTS(x, 0.5)),
      1e-6,
    );
    expectClose(
      read(() => sigmaTSTensor(tf.tensor1d(t), 0.5)),
      t.map((x) => sigmaTS(x, 0.5)),
      1e-6,
    );
  });

  it('forwardFromS: x_t = α_{t|s}·x_s + σ_{t|s}·ε (per-sample t)', () => {
    // xs = [[1, −2], [0, 4]], ε = [[.5, 3], [−1, 2]], t = [.9, .6], s = .5
    // row 0: .2·[1, −2] + √.8·[.5, 3] = [.2 + .4472136, −.4 + 2.6832816] = [.6472136, 2.2832816]
    // row 1: .8·[0, 4] + √.2·[−1, 2] = [−.4472136, 3.2 + .8944272] = [−.4472136, 4.0944272]
    const xs = tf.tensor2d([
      [1, -2],
      [0, 4],
    ]);
    const eps = tf.tensor2d([
      [0.5, 3],
      [-1, 2],
    ]);
    const t = tf.tensor1d([0.9, 0.6]);
    expectClose(
      read(() => forwardFromS(xs, eps, t, 0.5)),
      [0.6472136, 2.2832816, -0.4472136, 4.0944272],
      1e-5,
    );
    // s = 0 is the ordinary forward process
    expectClose(
      read(() => forwardFromS(xs, eps, t, 0)),
      read(() => forwardSample(xs, eps, t)),
      1e-6,
    );
    tf.dispose([xs, eps, t]);
  });
});

describe('time.ts / tensors.ts: subinterval velocity target (§5)', () => {
  it('coefficients at (t, s) = (.9, .5): a = 1.1180340, b = 2', () => {
    // a = ((1 − s)²t + (1 − t)s²) / ((1 − s)²σ) = (.25·.9 + .1·.25) / (.25·√.8) = .25 / .2236068 = 1.1180340
    const { a, b } = subintervalTargetCoefficients(0.9, 0.5);
    expect(a).toBeCloseTo(1.118033988749895, 10);
    expect(b).toBeCloseTo(2, 12);
  });

  it('unbiasedness: E[v* | x_t] equals the true velocity E[ε − x0 | x_t]', () => {
    // For x_t = (1 − t)x0 + α s ε₁ + σ ε₂ with r = x_t − (1 − t)x0 (variance t²):
    //   E[ε₂ | x_t] = σ r / t², E[x_s | x_t] = (1 − s)x0 + s·α s r / t²,
    //   E[v* | x_t] = a σ r / t² − x0 − α s² r / ((1 − s) t²), and the true E[ε − x0 | x_t] = r/t − x0.
    // Equal iff a·σ_{t|s} − (1 − t)s²/(1 − s)² = t (true: a·σ = t + (1 − t)s²/(1 − s)²).
    for (const [t, s] of PAIRS) {
      const { a } = subintervalTargetCoefficients(t, s);
      expect(a * sigmaTS(t, s) - ((1 - t) * s * s) / (1 - s) ** 2).toBeCloseTo(t, 10);
    }
  });

  it('subintervalVelocityTarget = a·ε − x_s/(1 − s) (hand values)', () => {
    // xs = [1, −2], ε = [.5, 3], t = .9, s = .5: a = 1.1180340, b = 2
    // v* = [.5590170 − 2, 3.3541020 + 4] = [−1.4409830, 7.3541020]
    const xs = tf.tensor2d([[1, -2]]);
    const eps = tf.tensor2d([[0.5, 3]]);
    const t = tf.tensor1d([0.9]);
    expectClose(
      read(() => subintervalVelocityTarget(xs, eps, t, 0.5)),
      [-1.440983, 7.354102],
      1e-5,
    );
    tf.dispose([xs, eps, t]);
  });

  it('s = 0 gives the ordinary flow-matching target ε − x0', () => {
    const x0 = tf.tensor2d([
      [1, -2],
      [0, 4],
    ]);
    const eps = tf.tensor2d([
      [0.5, 3],
      [-1, 2],
    ]);
    const t = tf.tensor1d([0.9, 0.3]);
    // ε − x0 = [[−.5, 5], [−1, −2]]
    expectClose(
      read(() => subintervalVelocityTarget(x0, eps, t, 0)),
      [-0.5, 5, -1, -2],
      1e-6,
    );
    expectClose(
      read(() => subintervalX0Target(x0, eps, t, 0)),
      [1, -2, 0, 4],
      1e-6,
    );
    tf.dispose([x0, eps, t]);
  });

  it('x0 form: x0* = x_s/(1 − s) − c·ε (hand values) and x0* = x_t − t·v* (verified identity)', () => {
    // c = (1 − t)s² / ((1 − s)²σ) = .1·.25 / (.25·√.8) = .1118034
    // x0* = [1, −2]/.5 − .1118034·[.5, 3] = [2 − .0559017, −4 − .3354102] = [1.9440983, −4.3354102]
    const xs = tf.tensor2d([
      [1, -2],
      [0, 4],
    ]);
    const eps = tf.tensor2d([
      [0.5, 3],
      [-1, 2],
    ]);
    const t = tf.tensor1d([0.9, 0.6]);
    const x0star = read(() => subintervalX0Target(xs, eps, t, 0.5));
    expectClose(x0star.slice(0, 2), [1.9440983, -4.3354102], 1e-5);
    // Identity (algebra: x_t − t·v* = x_s/(1 − s) + (σ − t·a)ε and t·a − σ = (1 − t)s²/((1 − s)²σ) = c),
    // i.e. the x0 target is the velocity target read through x0̂ = x_t − t·v, equivalently v* = (x_t − x0*)/t.
    const viaVelocity = read(() =>
      tf.tidy(() => {
        const xt = forwardFromS(xs, eps, t, 0.5);
        return x0FromVelocity(xt, subintervalVelocityTarget(xs, eps, t, 0.5), t);
      }),
    );
    expectClose(viaVelocity, x0star, 1e-5);
    const vFromX0 = read(() =>
      tf.tidy(() => velocityFromX0(forwardFromS(xs, eps, t, 0.5), tf.tensor2d(x0star, [2, 2]), t)),
    );
    expectClose(
      vFromX0,
      read(() => subintervalVelocityTarget(xs, eps, t, 0.5)),
      1e-5,
    );
    tf.dispose([xs, eps, t]);
  });
});

describe('tensors.ts: forward process and prediction conversions', () => {
  // x0 = [[1, −2], [0, 4]], ε = [[.5, 3], [−1, 2]], t = [.25, .75]
  const make = () => ({
    x0: tf.tensor2d([
      [1, -2],
      [0, 4],
    ]),
    eps: tf.tensor2d([
      [0.5, 3],
      [-1, 2],
    ]),
    t: tf.tensor1d([0.25, 0.75]),
  });

  it('perSample reshapes [B] to [B, 1, …, 1]', () => {
    const t = tf.tensor1d([1, 2]);
    const r = perSample(t, 4);
    expect(r.shape).toEqual([2, 1, 1, 1]);
    expect(perSample(t, 1)).toBe(t);
    tf.dispose([t, r]);
  });

  it('forwardSample: x_t = (1 − t)x0 + tε', () => {
    const { x0, eps, t } = make();
    // row 0: .75·[1, −2] + .25·[.5, 3] = [.875, −.75]; row 1: .25·[0, 4] + .75·[−1, 2] = [−.75, 2.5]
    expectClose(
      read(() => forwardSample(x0, eps, t)),
      [0.875, -0.75, -0.75, 2.5],
      1e-6,
    );
    // scalar t = .5: [.75, .5, −.5, 3]
    expectClose(
      read(() => forwardSample(x0, eps, 0.5)),
      [0.75, 0.5, -0.5, 3],
      1e-6,
    );
    tf.dispose([x0, eps, t]);
  });

  it('velocityTarget = ε − x0; x0̂, ε̂, score recover x0, ε, −ε/t', () => {
    const { x0, eps, t } = make();
    const xt = forwardSample(x0, eps, t);
    const v = velocityTarget(x0, eps);
    expectClose(values(v), [-0.5, 5, -1, -2], 1e-6);
    expectClose(
      read(() => x0FromVelocity(xt, v, t)),
      [1, -2, 0, 4],
      1e-6,
    );
    expectClose(
      read(() => epsFromVelocity(xt, v, t)),
      [0.5, 3, -1, 2],
      1e-6,
    );
    // score = −ε/t: row 0 −[.5, 3]/.25 = [−2, −12]; row 1 −[−1, 2]/.75 = [1.3333333, −2.6666667]
    expectClose(
      read(() => scoreFromVelocity(xt, v, t)),
      [-2, -12, 4 / 3, -8 / 3],
      1e-5,
    );
    tf.dispose([x0, eps, t, xt, v]);
  });

  it('v ↔ x0 ↔ ε ↔ score round trips', () => {
    const { x0, eps, t } = make();
    const xt = forwardSample(x0, eps, t);
    const v = tf.tensor2d([
      [0.3, -1.7],
      [2.2, 0.1],
    ]); // an arbitrary prediction, not the true velocity
    expectClose(
      read(() => velocityFromX0(xt, x0FromVelocity(xt, v, t), t)),
      values(v),
      1e-5,
    );
    expectClose(
      read(() => velocityFromEps(xt, epsFromVelocity(xt, v, t), t)),
      values(v),
      1e-5,
    );
    expectClose(
      read(() => velocityFromScore(xt, scoreFromVelocity(xt, v, t), t)),
      values(v),
      1e-5,
    );
    // x0̂ and ε̂ are consistent with the forward process: x_t = (1 − t)x0̂ + tε̂
    expectClose(
      read(() => forwardSample(x0FromVelocity(xt, v, t), epsFromVelocity(xt, v, t), t)),
      values(xt),
      1e-5,
    );
    tf.dispose([x0, eps, t, xt, v]);
  });

  it('guide: v(∅) + g·(v(c) − v(∅))', () => {
    // v(∅) = [1, 2], v(c) = [3, −1], g = 2: [1 + 2·2, 2 + 2·(−3)] = [5, −4]; g = 1 → v(c); g = 0 → v(∅)
    const u = tf.tensor1d([1, 2]);
    const c = tf.tensor1d([3, -1]);
    expectClose(
      read(() => guide(u, c, 2)),
      [5, -4],
    );
    expectClose(
      read(() => guide(u, c, 1)),
      [3, -1],
    );
    expectClose(
      read(() => guide(u, c, 0)),
      [1, 2],
    );
    tf.dispose([u, c]);
  });
});

describe('tensors.ts: Euler and Heun', () => {
  it('eulerStep: x + (t′ − t)·v', () => {
    // [1, 2] + (.25 − .75)·[.5, −1] = [.75, 2.5]
    const x = tf.tensor1d([1, 2]);
    const v = tf.tensor1d([0.5, -1]);
    expectClose(
      read(() => eulerStep(x, v, 0.75, 0.25)),
      [0.75, 2.5],
    );
    tf.dispose([x, v]);
  });

  it('Euler is exact on a straight path (single data point): reaches x0 from t = 1 in one step', () => {
    // data = the point x0: the true velocity is (x_t − x0)/t, constant along the path, so one Euler step 1 → 0 lands on
    // x0.
    const x0 = tf.tensor2d([[1.5, -0.5]]);
    const z = tf.tensor2d([[0.2, 0.9]]);
    expectClose(
      read(() => tf.tidy(() => eulerStep(z, velocityFromX0(z, x0, 1), 1, 0))),
      [1.5, -0.5],
      1e-6,
    );
    tf.dispose([x0, z]);
  });

  it('Heun is exact for a velocity linear in t (trapezoidal rule); Euler is not', () => {
    // v(x, t) = t·k, k = [2, −1]: x(t′) = x(t) + k(t′² − t²)/2.
    // From x = [1, 1] at t = .9 to t′ = .4: k·(.16 − .81)/2 = −.325·k → [.35, 1.325]
    // Euler instead: x + (−.5)·(.9·k) = [.1, 1.45]
    const k = tf.tensor1d([2, -1]);
    const x = tf.tensor1d([1, 1]);
    const velocity = (_x: tf.Tensor, t: number) => tf.mul(t, k);
    expectClose(
      read(() => heunStep(velocity, x, 0.9, 0.4)),
      [0.35, 1.325],
      1e-6,
    );
    expectClose(
      read(() => tf.tidy(() => eulerStep(x, velocity(x, 0.9), 0.9, 0.4))),
      [0.1, 1.45],
      1e-6,
    );
    // at t′ = 0 Heun is an Euler step (k-diffusion convention): [1, 1] − .9·(.9·k) = [1 − 1.62, 1 + .81]
    expectClose(
      read(() => heunStep(velocity, x, 0.9, 0)),
      [-0.62, 1.81],
      1e-6,
    );
    tf.dispose([k, x]);
  });

  it('heunStep disposes its intermediates', () => {
    const x = tf.tensor1d([1, 1]);
    const before = tf.memory().numTensors;
    const y = heunStep((xx, t) => tf.mul(xx, t), x, 0.9, 0.4);
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([x, y]);
  });
});

describe('weights', () => {
  it('DMD weight (1 − t)²/t and its phased form (1 − t)²/(t(1 − s))', () => {
    // w(.5) = .25/.5 = .5; w(.9) = .01/.9 = .0111…
    expect(dmdWeight(0.5)).toBeCloseTo(0.5, 12);
    expect(dmdWeight(0.9)).toBeCloseTo(0.01 / 0.9, 12);
    // phased(.9, .5) = .01/(.9·.5) = .0222…; s = 0 equals the DMD weight
    expect(phasedWeight(0.9, 0.5)).toBeCloseTo(0.01 / 0.45, 12);
    for (const t of [0.1, 0.5, 0.9]) expect(phasedWeight(t, 0)).toBeCloseTo(dmdWeight(t), 12);
    const t = tf.tensor1d([0.5, 0.9]);
    expectClose(
      read(() => phasedWeightTensor(t, 0.5)),
      [phasedWeight(0.5, 0.5), phasedWeight(0.9, 0.5)],
      1e-6,
    );
    t.dispose();
  });

  it('fake-score weight min(1, 10·σ_{t|s}²)', () => {
    // (.52, .5): σ² = .2704 − (.48·.5/.5)² = .2704 − .2304 = .04 → .4
    expect(subintervalLossWeight(0.52, 0.5)).toBeCloseTo(0.4, 10);
    // (.9, .5): σ² = .8 → min(1, 8) = 1; (.5, .5): σ = 0 → 0
    expect(subintervalLossWeight(0.9, 0.5)).toBe(1);
    expect(subintervalLossWeight(0.5, 0.5)).toBeCloseTo(0, 10);
    const t = tf.tensor1d([0.52, 0.9, 0.5]);
    expectClose(
      read(() => subintervalLossWeightTensor(t, 0.5)),
      [0.4, 1, 0],
      1e-5,
    );
    t.dispose();
  });
});

describe('sampling.ts: timestep ranges', () => {
  it('timeRange maps a shifted interval to unshifted bounds', () => {
    // (5/6, 1] at S = 5 → u ∈ (.5, 1] (docs/algorithm.md §5 example)
    const r = timeRange(5 / 6, 1, 5);
    expect(r.lo).toBeCloseTo(0.5, 12);
    expect(r.hi).toBe(1);
    expect(r.distribution).toBe('uniform');
  });

  it('sampleTimes stays inside the shifted interval, is seeded and shifted', () => {
    for (const distribution of ['uniform', 'logitNormal'] as const) {
      const range = timeRange(5 / 6, 1, 5, distribution);
      const t = read(() => sampleTimes(range, 2000, 7));
      expect(Math.min(...t)).toBeGreaterThanOrEqual(5 / 6 - 1e-6);
      expect(Math.max(...t)).toBeLessThanOrEqual(1 + 1e-6);
      // the unshifted draws are symmetric around .75 for both distributions, so their mean is ≈ .75
      const u = t.map((x) => unshiftTime(x, 5));
      expect(u.reduce((a, b) => a + b, 0) / u.length).toBeCloseTo(0.75, 1);
      expect(read(() => sampleTimes(range, 2000, 7))).toEqual(t);
    }
  });
});
