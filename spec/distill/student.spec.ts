/**
 * The few-step student sampler (docs/algorithm.md §5): from z at t = 1, each
 * expert runs Euler over its own grid, x_{t'} = x_t + (t' − t)·G(x_t, t), conditional
 * and without CFG, so NFE = N.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { sampleStudent, studentNfe } from '../../lib/distill/student';
import type { ExpertPhase } from '../../lib/rollout/context';
import { normal } from '../../lib/random/draws';
import { splitSeed } from '../../lib/random/seed';
import { smallMlp } from '../helpers/operators';
import { Gaussian, GaussianVelocityModel, TapeProbe, gaussianVelocity } from '../helpers/analytic';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('sampleStudent', () => {
  it('is Euler over each expert grid in turn (host float64 reference), NFE = N', () => {
    const g1: Gaussian = { mu: [2, 0], sigma: [0.3, 0.3] };
    const g2: Gaussian = { mu: [0, -2], sigma: [0.5, 0.2] };
    const experts: ExpertPhase[] = [
      { grid: [1, 0.9, 0.75], expert: new TapeProbe(new GaussianVelocityModel(g1)) },
      { grid: [0.75, 0.4, 0], expert: new TapeProbe(new GaussianVelocityModel(g2)) },
    ];
    const n = 16;
    const { x, labels } = sampleStudent(experts, { n, seed: 5 });
    expect(labels).toBeNull();
    expect(studentNfe(experts)).toBe(4);
    expect(experts.map((e) => (e.expert as TapeProbe).log.length)).toEqual([2, 2]);
    // the reference: the same z, Euler on the host
    const z = normal([n, 2], splitSeed(5, 'z'));
    const want = Float64Array.from(z.dataSync());
    for (const [k, e] of experts.entries()) {
      const g = k === 0 ? g1 : g2;
      for (let i = 0; i + 1 < e.grid.length; i++) {
        const [t, tn] = [e.grid[i], e.grid[i + 1]];
        for (let j = 0; j < want.length; j++) want[j] += (tn - t) * gaussianVelocity(g, want[j], t, j % 2);
      }
    }
    Array.from(x.dataSync()).forEach((v, j) => expect(Math.abs(v - want[j])).toBeLessThan(1e-5));
    tf.dispose([x, z]);
  });

  it('class-conditional experts get the drawn class ids, never ∅, in one pass of batch n (no CFG)', () => {
    const probe = new TapeProbe(smallMlp(3, 4));
    const experts: ExpertPhase[] = [{ grid: [1, 0.9, 0.6, 0.3, 0], expert: probe }];
    const n = 12;
    const a = sampleStudent(experts, { n, seed: 9 });
    expect(probe.log.length).toBe(4);
    const ids = Array.from(a.labels!.dataSync());
    expect(ids.every((c) => c >= 0 && c < 3)).toBe(true);
    expect(new Set(ids).size).toBeGreaterThan(1);
    for (const call of probe.log) {
      expect(call.batch).toBe(n);
      expect(call.labels).toEqual(ids);
      expect(call.tape).toBe(false);
    }
    // explicit labels are used as given; the same seed gives the same samples
    const b = sampleStudent(experts, { n, seed: 9 });
    expect(Array.from(b.x.dataSync())).toEqual(Array.from(a.x.dataSync()));
    const fixed = sampleStudent(experts, { n: 3, seed: 9, labels: Int32Array.from([2, 2, 1]) });
    expect(Array.from(fixed.labels!.dataSync())).toEqual([2, 2, 1]);
    tf.dispose([a.x, a.labels!, b.x, b.labels!, fixed.x, fixed.labels!]);
    probe.dispose();
  });

  it('refuses a student without experts', () => {
    expect(() => sampleStudent([], { n: 1, seed: 0 })).toThrow(/no experts/);
  });
});
