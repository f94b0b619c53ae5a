/**
 * Tensor ownership over a long run: tf.memory().numTensors is flat over 200 teacher
 * training steps (after Adam has created its slots at the first step).
 */
import * as tf from '@tensorflow/tfjs-core';
import { lastValueFrom, map, tap, toArray } from 'rxjs';
import { useBackend } from '../../lib/backend';
import { decodeOrThrow } from '../../lib/config/report';
import {
  TeacherConfig,
  resolveTeacherConfig,
  openTeacherRun,
  teacherSteps,
  sampleTeacher,
} from '../../lib/teacher/teacher';
import { stepKeys } from '../../lib/operators/source/stepKeys';
import { sampleBatch } from '../../lib/operators/batch/sampleBatch';
import { dropCondition } from '../../lib/operators/batch/dropCondition';
import { sampleTimesteps } from '../../lib/operators/noise/sampleTimesteps';
import { forwardProcess } from '../../lib/operators/noise/forwardProcess';
import { predictVelocity } from '../../lib/operators/score/predictVelocity';
import { flowMatchingLoss } from '../../lib/operators/loss/flowMatchingLoss';
import { optimise } from '../../lib/operators/optimise/optimise';
import { countTensors } from '../../lib/operators/taps/countTensors';
import { timeRange } from '../../lib/schedule/sampling';

beforeAll(async () => {
  await useBackend('wasm');
});

const smallConfig = (steps: number) =>
  resolveTeacherConfig(
    decodeOrThrow(
      TeacherConfig,
      {
        method: 'teacher',
        data: { kind: 'mixture', name: 'ring8' },
        model: { kind: 'mlp', hidden: [32, 32], timeEmbedDim: 8 },
        steps,
        batchSize: 32,
        seed: 3,
      },
      'teacher config',
    ),
  );

describe('tensor leaks', () => {
  it('numTensors is flat over 200 teacher training steps', async () => {
    const config = smallConfig(200);
    const run = openTeacherRun(config);
    const atStep = new Map<number, number>();
    const before = tf.memory().numTensors;
    await lastValueFrom(
      teacherSteps(run, config).pipe(
        tap((m) => atStep.set(m.key.step, tf.memory().numTensors)),
        toArray(),
      ),
    );
    expect(atStep.size).toBe(200);
    // after the first step the count never moves: Adam's slots are created once
    const reference = atStep.get(10)!;
    expect(atStep.get(199)).toBe(reference);
    const moved = [...atStep].filter(([step, n]) => step >= 1 && n !== reference);
    expect(moved).toEqual([]);
    // the first step added exactly Adam's two moment slots per variable
    expect(atStep.get(0)).toBe(before + 2 * run.model.params.variables.length);
    expect(reference).toBe(atStep.get(0));
    run.trainer.optimizer.dispose();
    run.model.dispose();
  });

  it('every operator of the stream (with CFG prediction) keeps the count flat per step', async () => {
    const config = smallConfig(60);
    const run = openTeacherRun(config);
    const counts = new Map<string, number[]>();
    const sink = (label: string, n: number) => counts.set(label, [...(counts.get(label) ?? []), n]);
    await lastValueFrom(
      stepKeys(config.seed, 0, 0, 60).pipe(
        sampleBatch(run.dataset, 32),
        countTensors('batch', sink),
        dropCondition(0.2, run.dataset.numClasses),
        countTensors('drop', sink),
        sampleTimesteps(timeRange(0, 1, 3)),
        countTensors('t', sink),
        forwardProcess(),
        countTensors('x_t', sink),
        predictVelocity(run.model, 3),
        countTensors('v', sink),
        map(({ v, ...rest }) => {
          v.dispose(); // the prediction is not used by the loss below: drop it (ownership rule)
          return rest;
        }),
        flowMatchingLoss(run.model),
        optimise({ teacher: run.trainer }, { metricsDue: (k) => k.step % 10 === 0 }),
        countTensors('metrics', sink),
        toArray(),
      ),
    );
    for (const [label, ns] of counts) {
      expect(ns.length).toBe(60);
      expect({ label, distinct: [...new Set(ns.slice(1))] }).toEqual({ label, distinct: [ns[1]] });
    }
    run.trainer.optimizer.dispose();
    run.model.dispose();
  });

  it('sampling leaves only its outputs behind', () => {
    const config = smallConfig(1);
    const run = openTeacherRun(config);
    const n0 = tf.memory().numTensors;
    for (const method of ['euler', 'heun'] as const) {
      const { x, labels } = sampleTeacher(run.model, { n: 16, seed: 1, sampler: { steps: 5, method, guidance: 2 } });
      expect(tf.memory().numTensors).toBe(n0 + 2);
      tf.dispose([x, labels!]);
    }
    expect(tf.memory().numTensors).toBe(n0);
    run.trainer.optimizer.dispose();
    run.model.dispose();
  });
});
