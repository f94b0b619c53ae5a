/**
 * How the generator's output is differentiated (docs/algorithm.md §4):
 *   SGTS    draw j ∈ {1..N} uniformly, steps before j without gradient, jump from t_j to 0 with gradient;
 *   vanilla gradient through all N Euler steps.
 * The generator here has separate parameters per step (v = a_k·x + b_k at t = t_k), so a
 * gradient on (a_k, b_k) shows exactly which steps were on the tape.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { drawRollout } from '../../lib/rollout/generate';
import { generatorLossStep } from '../../lib/operators/distill/generatorLoss';
import { drawSeed } from '../../lib/stream/types';
import { key } from '../helpers/operators';
import { GaussianVelocityModel, PerStepLinearModel, contextOf, onePhase } from '../helpers/analytic';
import type { GeneratorBackprop } from '../../lib/rollout/context';

beforeAll(async () => {
  await useBackend('wasm');
});

const teacher = () => new GaussianVelocityModel({ mu: [1, -1], sigma: [0.5, 0.5] });
const fake = () => new GaussianVelocityModel({ mu: [0, 0], sigma: [1, 1] });

const setup = (backprop: GeneratorBackprop, steps: number) => {
  const phase = onePhase(steps, { batchSize: 8 });
  const generator = new PerStepLinearModel(phase.grid, 2, (k) => ({ a: -0.3 - 0.1 * k, b: 0.2 * (k + 1) }));
  return { phase, generator, ctx: contextOf({ teacher: teacher(), generator, fake: fake() }, phase, backprop) };
};

/** Gradients of one generator update w.r.t. every per-step parameter (absent = no gradient). */
const stepGrads = (s: ReturnType<typeof setup>, step: number) => {
  s.generator.log.length = 0;
  const ls = generatorLossStep(s.ctx)({ key: key(step), role: 'generator', sub: 0 });
  const prefixLog = s.generator.log.splice(0);
  const { value, grads } = tf.variableGrads(ls.loss, s.generator.params.variables);
  const byParam: Record<string, Float32Array> = {};
  s.generator.params.names.forEach((n) => {
    const g = grads[s.generator.params.get(n).name];
    if (g) byParam[n] = g.dataSync() as Float32Array;
  });
  const exit = ls.extras!.exitStep.dataSync()[0];
  tf.dispose([value, ...Object.values(grads), ...ls.owned, ...Object.values(ls.extras ?? {})]);
  return { byParam, exit, prefixLog, tapeLog: [...s.generator.log] };
};

describe('SGTS exit step', () => {
  for (const N of [3, 4]) {
    it(`is uniform over the ${N} steps (chi-square over 6000 draws at the training seeds)`, () => {
      const { ctx, generator } = setup('sgts', N);
      const counts = new Array<number>(N).fill(0);
      const draws = 6000;
      for (let i = 0; i < draws; i++) {
        const r = drawRollout(ctx, 1, drawSeed(key(i), 'generator', 0));
        counts[r.exit]++;
        tf.dispose([r.z, ...(r.labels ? [r.labels] : [])]);
      }
      const expected = draws / N;
      const chi2 = counts.reduce((c, o) => c + (o - expected) ** 2 / expected, 0);
      // 99.9 % quantiles of χ² with N − 1 degrees of freedom: 13.82 (2), 16.27 (3)
      expect(chi2).toBeLessThan(N === 3 ? 13.82 : 16.27);
      expect(Math.min(...counts)).toBeGreaterThan(0.9 * expected);
      generator.dispose();
    });
  }

  it('runs steps 1..j−1 off the tape and differentiates only step j (the jump to t = 0)', () => {
    const N = 4;
    const s = setup('sgts', N);
    const seen = new Set<number>();
    for (let step = 0; step < 24; step++) {
      // the prefix runs when the step is built, before variableGrads
      const { byParam, exit, prefixLog, tapeLog } = stepGrads(s, step);
      seen.add(exit);
      expect(prefixLog).toEqual(Array.from({ length: exit }, (_, k) => ({ step: k, tape: false })));
      expect(tapeLog).toEqual([{ step: exit, tape: true }]);
      expect(Object.keys(byParam).sort()).toEqual([`a${exit}`, `b${exit}`]);
      expect(Math.abs(byParam[`b${exit}`][0])).toBeGreaterThan(0);
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
    s.generator.dispose();
  });

  it('one step (j = 1 always): plain one-step DMD', () => {
    const s = setup('sgts', 1);
    const { byParam, exit } = stepGrads(s, 0);
    expect(exit).toBe(0);
    expect(Object.keys(byParam).sort()).toEqual(['a0', 'b0']);
    s.generator.dispose();
  });
});

describe('vanilla few-step DMD (backprop through all N steps)', () => {
  it('puts every step on the tape, with the chain rule of the Euler chain', () => {
    const N = 3;
    const s = setup('full', N);
    const { byParam, prefixLog, tapeLog } = stepGrads(s, 0);
    expect(prefixLog).toEqual([]);
    expect(tapeLog).toEqual([0, 1, 2].map((k) => ({ step: k, tape: true })));
    expect(Object.keys(byParam).sort()).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2']);
    // x_{k+1} = x_k + Δ_k·(a_k·x_k + b_k) ⇒ ∂x_N/∂b_k = Δ_k·Π_{j>k}(1 + Δ_j·a_j) per element, so
    // ∂L/∂b_k = (Δ_k/Δ_{N−1})·Π_{j>k}(1 + Δ_j·a_j) · ∂L/∂b_{N−1}, whatever the DMD gradient is
    const grid = s.phase.grid;
    const delta = (k: number) => grid[k + 1] - grid[k];
    const a = (k: number) => -0.3 - 0.1 * k;
    for (let k = 0; k < N - 1; k++) {
      let factor = delta(k) / delta(N - 1);
      for (let j = k + 1; j < N; j++) factor *= 1 + delta(j) * a(j);
      for (let d = 0; d < 2; d++) {
        const want = factor * byParam[`b${N - 1}`][d];
        expect(Math.abs(byParam[`b${k}`][d] - want)).toBeLessThanOrEqual(1e-5 * Math.abs(want) + 1e-7);
      }
      expect(Math.abs(byParam[`a${k}`][0])).toBeGreaterThan(0);
    }
    s.generator.dispose();
  });

  it(
    'differs from SGTS: at the same key with exit j = N, SGTS has the same last-step gradient and none for earlier ' +
      'steps',
    () => {
      const N = 3;
      const full = setup('full', N);
      const sgts = setup('sgts', N);
      // a training key whose SGTS draw is the last step: then both methods produce the same x_0
      let step = 0;
      for (; ; step++) {
        const r = drawRollout(sgts.ctx, 1, drawSeed(key(step), 'generator', 0));
        tf.dispose([r.z]);
        if (r.exit === N - 1) break;
      }
      const f = stepGrads(full, step);
      const g = stepGrads(sgts, step);
      expect(Object.keys(g.byParam).sort()).toEqual([`a${N - 1}`, `b${N - 1}`]);
      for (const name of [`a${N - 1}`, `b${N - 1}`]) {
        Array.from(f.byParam[name]).forEach((v, i) => expect(g.byParam[name][i]).toBeCloseTo(v, 5));
      }
      expect(Object.keys(f.byParam).length).toBe(2 * N);
      full.generator.dispose();
      sgts.generator.dispose();
    },
  );
});
