/**
 * Experts per phase: each phase's generator expert and fake score start
 * as the TEACHER (not carried over from the previous phase); finished experts are frozen
 * (not trainable, values unchanged by later phases, no gradient); the teacher never
 * changes; the result is one expert per phase on that phase's grid.
 */
import * as tf from '@tensorflow/tfjs-core';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { useBackend } from '../../lib/backend';
import type { DistillSettings, DistillState, PhaseRoles } from '../../lib/distill/segment';
import { isPhaseEnd, PhaseEnd } from '../../lib/phases/concat';
import { distillSteps } from '../../lib/distill/distill';
import { tinyMlp, phases4x2, weightsOf, sameBits } from '../helpers/phased';

beforeAll(async () => {
  await useBackend('wasm');
});

interface PhaseStart {
  readonly phase: number;
  readonly generator: Float32Array[];
  readonly fake: Float32Array[];
  readonly earlier: PhaseRoles['context']['earlier'];
  readonly trainerVariables: string[];
}

describe('Phased DMD experts (4 steps / 2 phases)', () => {
  it(
    'each phase starts its expert and fake score from the teacher; earlier experts are frozen and unchanged; the ' +
      'teacher never changes',
    async () => {
      const before = tf.memory().numTensors;
      const teacher = tinyMlp(3, 1);
      teacher.params.setTrainable(false);
      const teacherWeights = weightsOf(teacher);
      const phases = phases4x2({ batchSize: 8, updateRatio: 2, guidance: 2 });
      const starts: PhaseStart[] = [];
      let live: PhaseRoles | null = null;
      const atEnd: Array<{ expert: Float32Array[]; fake: Float32Array[] }> = [];
      const settings: DistillSettings = {
        teacher,
        seed: 3,
        shift: 5,
        backprop: 'sgts',
        gradient: 'paper',
        betas: [0, 0.999],
        onPhaseStart: (roles) => {
          live = roles;
          starts.push({
            phase: roles.context.phase.index,
            generator: weightsOf(roles.context.generator),
            fake: weightsOf(roles.context.fake),
            earlier: roles.context.earlier,
            trainerVariables: [...roles.trainers.generator.variables, ...roles.trainers.fake.variables].map(
              (v) => v.name,
            ),
          });
        },
      };
      const events = await lastValueFrom(
        distillSteps(settings, phases).pipe(
          tap((e) => {
            if (isPhaseEnd(e))
              atEnd.push({
                expert: weightsOf((e as PhaseEnd<DistillState>).state.experts.at(-1)!.expert),
                fake: weightsOf(live!.context.fake),
              });
          }),
          toArray(),
        ),
      );
      const final = (events.at(-1) as PhaseEnd<DistillState>).state;

      expect(starts.map((s) => s.phase)).toEqual([0, 1]);
      for (const s of starts) {
        expect(sameBits(s.generator, teacherWeights)).toBe(true);
        expect(sameBits(s.fake, teacherWeights)).toBe(true);
      }
      // training moved phase 1's fake score and expert away from the teacher …
      expect(sameBits(atEnd[0].fake, teacherWeights)).toBe(false);
      expect(sameBits(atEnd[0].expert, teacherWeights)).toBe(false);
      // … and phase 2 did not start from them (checked above: it started from the teacher)
      expect(sameBits(starts[1].fake, atEnd[0].fake)).toBe(false);

      // phase 2 runs phase 1's expert (the same object), frozen, and does not train it
      const [e1, e2] = final.experts;
      expect(starts[1].earlier).toHaveLength(1);
      expect(starts[1].earlier[0].expert).toBe(e1.expert);
      expect(e1.expert.params.variables.every((v) => !v.trainable)).toBe(true);
      expect(e2.expert.params.variables.every((v) => !v.trainable)).toBe(true);
      const e1Names = new Set(e1.expert.params.variables.map((v) => v.name));
      const teacherNames = new Set(teacher.params.variables.map((v) => v.name));
      expect(starts[1].trainerVariables.some((n) => e1Names.has(n) || teacherNames.has(n))).toBe(false);
      expect(sameBits(weightsOf(e1.expert), atEnd[0].expert)).toBe(true);
      expect(sameBits(weightsOf(teacher), teacherWeights)).toBe(true);

      // one expert per phase, on its own grid: 1 → .938 → .833, then .833 → .625 → 0
      expect(e1.expert).not.toBe(e2.expert);
      expect(e1.grid.map((x) => +x.toFixed(3))).toEqual([1, 0.938, 0.833]);
      expect(e2.grid.map((x) => +x.toFixed(3))).toEqual([0.833, 0.625, 0]);
      // both phases ran their iterations (2 each), fake updates first, 2 per generator update
      const metrics = events.filter((e) => !isPhaseEnd(e)) as Array<{
        key: { phase: number; step: number };
        role: string;
      }>;
      expect(metrics.map((m) => `${m.key.phase}${m.role[0]}`).join(' ')).toBe('0f 0f 0g 0f 0f 0g 1f 1f 1g 1f 1f 1g');

      final.experts.forEach((e) => e.expert.dispose());
      teacher.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});
