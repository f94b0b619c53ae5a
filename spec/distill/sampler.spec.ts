/**
 * The distilled student: a mixture of experts that routes each step to
 * its phase's expert; 4 NFE for a 4-step schedule, counted as apply() calls; no CFG (one
 * batch of n per call, class labels only, never the null class ∅).
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { sampleStudent, studentNfe } from '../../lib/distill/student';
import { normal } from '../../lib/random/draws';
import { splitSeed } from '../../lib/random/seed';
import { ConstantVelocity, phases4x2 } from '../helpers/phased';
import { resolveSchedule } from '../../lib/phases/resolve';
import { scheduleFor } from '../../lib/distill/distill';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('sampleStudent: mixture of experts', () => {
  it(
    '4 steps / 2 phases: 4 apply() calls, each step on its phase expert at its grid time, batch n, class labels, ' +
      'Euler',
    () => {
      const before = tf.memory().numTensors;
      const phases = phases4x2();
      const b = [
        [0.5, -1],
        [2, 0.25],
      ];
      const experts = phases.map((p, k) => ({ grid: p.grid, expert: new ConstantVelocity(b[k], 5) }));
      const n = 16;
      const { x, labels } = sampleStudent(experts, { n, seed: 9 });
      const calls = experts.map((e) => e.expert.calls);
      expect(calls.flat()).toHaveLength(4);
      expect(studentNfe(experts)).toBe(4);
      expect(calls.map((c) => c.map((k) => +k.t[0].toFixed(3)))).toEqual([
        [1, 0.938],
        [0.833, 0.625],
      ]);
      for (const c of calls.flat()) {
        expect(c.batch).toBe(n); // no doubled CFG batch
        expect(new Set(c.t).size).toBe(1);
        expect(c.labels).not.toBeNull();
        expect(c.labels!.every((l) => l >= 0 && l < 5)).toBe(true); // never ∅ (= 5)
      }
      // Euler with constant velocities: x = z + (.833 − 1)·b₁ + (0 − .833)·b₂
      const z = normal([n, 2], splitSeed(9, 'z'));
      const s = phases[0].end;
      const expected = Array.from(z.dataSync()).map((v, i) => v + (s - 1) * b[0][i % 2] + (0 - s) * b[1][i % 2]);
      const got = Array.from(x.dataSync());
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
      tf.dispose([x, labels!, z]);
      experts.forEach((e) => e.expert.dispose());
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('4 steps / 4 phases: one apply() per expert, at 1, .938, .833, .625', () => {
    const phases = resolveSchedule(scheduleFor({ method: 'phased', teacher: 'x', preset: '4x4' }));
    const experts = phases.map((p, k) => ({ grid: p.grid, expert: new ConstantVelocity([k, -k]) }));
    const { x } = sampleStudent(experts, { n: 4, seed: 1 });
    x.dispose();
    expect(experts.map((e) => e.expert.calls.length)).toEqual([1, 1, 1, 1]);
    expect(experts.map((e) => +e.expert.calls[0].t[0].toFixed(3))).toEqual([1, 0.938, 0.833, 0.625]);
    expect(experts.every((e) => e.expert.calls[0].labels === null)).toBe(true); // unconditional
    experts.forEach((e) => e.expert.dispose());
  });
});
