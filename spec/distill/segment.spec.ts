/**
 * Tensor ownership in distillation: tf.memory().numTensors is flat across iterations, and a finished run frees all but
 * its experts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { filter, lastValueFrom, tap, toArray } from 'rxjs';
import { useBackend } from '../../lib/backend';
import { compilePhase, disposeState, DistillSettings, DistillState } from '../../lib/distill/segment';
import { isPhaseEnd, PhaseEnd } from '../../lib/phases/concat';
import type { GeneratorBackprop } from '../../lib/rollout/context';
import { smallMlp } from '../helpers/operators';
import { onePhase } from '../helpers/analytic';

beforeAll(async () => {
  await useBackend('wasm');
});

const cases: ReadonlyArray<[string, GeneratorBackprop, number, number]> = [
  ['dmd (1 step)', 'sgts', 1, 0],
  ['sgts (4 steps)', 'sgts', 4, 0],
  ['vanilla (3 steps)', 'full', 3, 0],
  ['sgts with generator EMA', 'sgts', 2, 0.9],
];

describe('no tensor leaks across distillation iterations', () => {
  for (const [name, backprop, steps, ema] of cases) {
    it(name, async () => {
      const teacher = smallMlp(3, 9);
      const before = tf.memory().numTensors;
      const settings: DistillSettings = {
        teacher,
        seed: 3,
        shift: 5,
        backprop,
        gradient: 'paper',
        betas: [0, 0.999],
        ...(ema ? { ema } : {}),
      };
      const counts: number[] = [];
      let state: DistillState | null = null;
      await lastValueFrom(
        compilePhase(
          settings,
          onePhase(steps, { iterations: 8, updateRatio: 2, batchSize: 32, guidance: 2 }),
        )({ experts: [] }).pipe(
          tap((e) => isPhaseEnd<DistillState>(e) && (state = (e as PhaseEnd<DistillState>).state)),
          filter((e) => !isPhaseEnd(e)),
          tap((m) => 'role' in m && m.role === 'generator' && counts.push(tf.memory().numTensors)),
          toArray(),
        ),
      );
      expect(counts.length).toBe(8);
      // from the first iteration on (Adam's slots exist), the count never moves
      expect(new Set(counts).size).toBe(1);
      // after the phase: only the handed-on expert remains (one model's variables)
      expect(state).not.toBeNull();
      expect(tf.memory().numTensors).toBe(before + teacher.params.variables.length);
      disposeState(state!);
      expect(tf.memory().numTensors).toBe(before);
      teacher.dispose();
    });
  }
});
