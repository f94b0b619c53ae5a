/**
 * The DMD gradient against closed forms (docs/algorithm.md §3, §5), with Gaussian real and
 * fake distributions whose velocities are exact (see ./analytic.ts for the derivation).
 *
 * From §1, score = −(x_t + (1 − t)·v)/t, so v = −(t·score + x_t)/(1 − t) and
 *   v_T − v_F = (t/(1 − t))·(s_F − s_T).
 * With x_t = α_{t|s}·x_s + σ_{t|s}·ε, ∂x_t/∂x_s = α_{t|s} = (1 − t)/(1 − s), hence
 *   grad = (1 − t)²/(t·(1 − s))·(v_T − v_F) = ((1 − t)/(1 − s))·(s_F − s_T)(x_t)
 *        = ∇_{x_s} [log p_F,t(x_t) − log p_T,t(x_t)]        (ε held fixed),
 * the gradient of the KL integrand. Averaged over generator samples (the fake score
 * being the exact score of the generator's distribution) it is ∇_θ KL(p_θ,t ‖ p_T,t).
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { distributionMatchingGrad, generatorLoss } from '../../lib/losses/dmd';
import { forwardFromS } from '../../lib/schedule/tensors';
import { normal, uniform } from '../../lib/random/draws';
import { alphaTS, sigmaTS } from '../../lib/schedule/time';
import {
  Gaussian,
  GaussianVelocityModel,
  gaussianLogDensity,
  gaussianScore,
  gaussianVelocity,
} from '../helpers/analytic';

beforeAll(async () => {
  await useBackend('wasm');
});

const real: Gaussian = { mu: [1.5, -0.5], sigma: [0.4, 0.8] };
const fakeG: Gaussian = { mu: [0.3, 0.7], sigma: [1.1, 0.5] };

/** Relative closeness with an absolute floor, reporting the first offender. */
const expectNear = (got: ArrayLike<number>, want: ArrayLike<number>, rel: number, abs: number, what: string): void => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= abs + rel * Math.abs(want[i])))
      throw new Error(`${what}[${i}]: got ${got[i]}, expected ${want[i]} (|Δ| = ${d})`);
  }
};

describe('distributionMatchingGrad (paper weight) on Gaussians with exact scores', () => {
  const B = 64;
  const D = 2;
  for (const s of [0, 0.3]) {
    it(
      `equals (1 − t)²/(t(1 − s))·(v_T − v_F), ((1 − t)/(1 − s))·(s_F − s_T) and the finite-difference ` +
        `KL-integrand gradient (s = ${s})`,
      () => {
        const teacher = new GaussianVelocityModel(real);
        const fake = new GaussianVelocityModel(fakeG);
        const xs = normal([B, D], 11);
        const eps = normal([B, D], 12);
        const t = uniform([B], s + 0.1, 0.9, 13) as tf.Tensor1D;
        const xt = forwardFromS(xs, eps, t, s);
        const grad = distributionMatchingGrad({ vReal: teacher.apply(xt, t), vFake: fake.apply(xt, t), xt, xs, t, s });
        const [X, E, T, XT, G] = [xs, eps, t, xt, grad].map((a) => Float64Array.from(a.dataSync()));
        const viaVelocity: number[] = [];
        const viaScore: number[] = [];
        const viaFiniteDifference: number[] = [];
        for (let b = 0; b < B; b++) {
          const tb = T[b];
          const [al, sg] = [alphaTS(tb, s), sigmaTS(tb, s)];
          for (let d = 0; d < D; d++) {
            const x = XT[b * D + d];
            viaVelocity.push(
              ((1 - tb) ** 2 / (tb * (1 - s))) * (gaussianVelocity(real, x, tb, d) - gaussianVelocity(fakeG, x, tb, d)),
            );
            viaScore.push(((1 - tb) / (1 - s)) * (gaussianScore(fakeG, x, tb, d) - gaussianScore(real, x, tb, d)));
            // f(x_s) = log p_F,t(x_t(x_s)) − log p_T,t(x_t(x_s)), central difference in float64
            const f = (xsd: number) => {
              const xtd = al * xsd + sg * E[b * D + d];
              return gaussianLogDensity(fakeG, xtd, tb, d) - gaussianLogDensity(real, xtd, tb, d);
            };
            const h = 1e-5;
            viaFiniteDifference.push((f(X[b * D + d] + h) - f(X[b * D + d] - h)) / (2 * h));
          }
        }
        // the two closed forms agree in float64 (the identity above), and the float32 engine agrees with both
        expectNear(viaScore, viaVelocity, 1e-9, 1e-9, 'score form vs velocity form');
        expectNear(viaFiniteDifference, viaScore, 1e-6, 1e-7, 'finite difference vs score form');
        expectNear(G, viaVelocity, 1e-4, 1e-5, 'distributionMatchingGrad');
        // a non-trivial case: the gradient is far from zero
        expect(Math.max(...Array.from(G, Math.abs))).toBeGreaterThan(0.1);
        tf.dispose([xs, eps, t, xt, grad]);
      },
    );
  }

  it('dmd2 normaliser: same direction per sample, another positive scale (x0̂_F − x0̂_T)/mean|x_s − x0̂_T|', () => {
    const teacher = new GaussianVelocityModel(real);
    const fake = new GaussianVelocityModel(fakeG);
    const xs = normal([B, D], 21);
    const eps = normal([B, D], 22);
    const t = uniform([B], 0.1, 0.9, 23) as tf.Tensor1D;
    const xt = forwardFromS(xs, eps, t, 0);
    const args = { vReal: teacher.apply(xt, t), vFake: fake.apply(xt, t), xt, xs, t, s: 0 };
    const paper = Float64Array.from(distributionMatchingGrad(args, 'paper').dataSync());
    const dmd2 = Float64Array.from(distributionMatchingGrad(args, 'xs-normalised').dataSync());
    const [X, XT, T] = [xs, xt, t].map((a) => Float64Array.from(a.dataSync()));
    for (let b = 0; b < B; b++) {
      const tb = T[b];
      // x0̂ = x_t − t·v: x0̂_F − x0̂_T = t·(v_T − v_F) = (t²/(1 − t)²)·paper
      const meanAbs =
        [0, 1].reduce(
          (m, d) => m + Math.abs(X[b * D + d] - (XT[b * D + d] - tb * gaussianVelocity(real, XT[b * D + d], tb, d))),
          0,
        ) / D;
      const scale = tb ** 2 / (1 - tb) ** 2 / meanAbs;
      expectNear(
        [dmd2[b * D], dmd2[b * D + 1]],
        [scale * paper[b * D], scale * paper[b * D + 1]],
        1e-3,
        1e-6,
        `dmd2 sample ${b}`,
      );
    }
    tf.dispose([xs, eps, t, xt, args.vReal, args.vFake]);
  });
});

describe('the generator loss descends KL(p_θ,t ‖ p_T,t) (Monte Carlo over generator samples)', () => {
  /**
   * Generator x = m + c⊙z, z ~ N(0, I): p_θ = N(m, diag(c²)), so the fake score is exact
   * with (μ, σ) = (m, c). Per dimension, with a = 1 − t, V_T = a²σ² + t², V_F = a²c² + t²:
   *   KL_t = log √(V_T/V_F) + (V_F + a²(m − μ)²)/(2V_T) − ½
   *   ∂KL_t/∂m = a²(m − μ)/V_T,     ∂KL_t/∂c = a²c·(1/V_T − 1/V_F).
   * ∂L_G/∂θ (L_G summed over the batch, divided by B) must match the mean of these over
   * the drawn t, up to Monte-Carlo error (B = 40 000 samples).
   */
  it('∂L_G/∂(m, c) / B equals E_t[∇_(m,c) KL_t] within Monte-Carlo error', () => {
    const B = 40000;
    const D = 2;
    const m0 = [0.4, -1.0];
    const c0 = [0.6, 1.3];
    const m = tf.variable(tf.tensor1d(m0));
    const c = tf.variable(tf.tensor1d(c0));
    const teacher = new GaussianVelocityModel(real);
    const fake = new GaussianVelocityModel({ mu: m0, sigma: c0 });
    const z = normal([B, D], 31);
    const eps = normal([B, D], 32);
    const t = uniform([B], 0.05, 0.95, 33) as tf.Tensor1D;
    const { value, grads } = tf.variableGrads(() => {
      const x = tf.add(m, tf.mul(c, z));
      const loss = generatorLoss(x, (xd) => {
        const xt = forwardFromS(xd, eps, t, 0);
        return distributionMatchingGrad({ vReal: teacher.apply(xt, t), vFake: fake.apply(xt, t), xt, xs: xd, t, s: 0 });
      });
      return tf.div(loss, B) as tf.Scalar;
    }, [m, c]);
    const gm = Array.from(grads[m.name].dataSync());
    const gc = Array.from(grads[c.name].dataSync());
    const T = Float64Array.from(t.dataSync());
    const want = { m: [0, 0], c: [0, 0] };
    for (const tb of T) {
      const a = 1 - tb;
      for (let d = 0; d < D; d++) {
        const VT = a * a * real.sigma[d] ** 2 + tb * tb;
        const VF = a * a * c0[d] ** 2 + tb * tb;
        want.m[d] += (a * a * (m0[d] - real.mu[d])) / VT / B;
        want.c[d] += (a * a * c0[d] * (1 / VT - 1 / VF)) / B;
      }
    }
    // Monte-Carlo error of a mean of 40 000 terms of O(1) spread: a few 1e-3
    expectNear(gm, want.m, 0.03, 5e-3, '∂/∂m');
    expectNear(gc, want.c, 0.03, 5e-3, '∂/∂c');
    // and it is not a trivially small gradient
    expect(Math.abs(want.m[1])).toBeGreaterThan(0.1);
    expect(Math.abs(want.c[0])).toBeGreaterThan(0.05);
    tf.dispose([m, c, z, eps, t, value, ...Object.values(grads)]);
  });
});
