/**
 * The compute structure the benchmark's cost model rests on (docs/performance.md): how
 * many forward passes each network runs per distillation iteration. Counted with the
 * bench's own counter, in batches (the teacher's CFG pass over 2B counts 2).
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { buildTeacher, countForwardPasses, distillWorkload, MODEL_SETUPS, Workload } from '../../bench/workloads';
import type { VelocityModel } from '../../lib/models/types';

beforeAll(async () => {
  await useBackend('wasm');
});

const B = MODEL_SETUPS.mlp.batch;

/** Forward passes of each listed network over `n` iterations of `w`. */
const passesPerNetwork = (w: Workload, networks: readonly VelocityModel[], n: number): number[] => {
  const counts = networks.map(() => 0);
  // one counter per network: nest them, innermost first
  const run = networks.reduceRight<() => void>(
    (inner, m, i) => () => {
      counts[i] = countForwardPasses([m], B, inner);
    },
    () => w.run(n, () => undefined),
  );
  run();
  return counts;
};

describe('forward passes per distillation iteration (MLP, batch 1024)', () => {
  let teacher: VelocityModel;
  beforeAll(() => {
    teacher = buildTeacher('mlp');
  });
  afterAll(() => teacher.dispose());

  it('one-step DMD: generator 6 (one rollout per update), teacher 2 (CFG over 2B), fake score 5 + 1', () => {
    const w = distillWorkload('mlp', 'dmd', 0, { metricsEvery: 1 }, teacher);
    const [t, generator, fake] = w.models!;
    expect(passesPerNetwork(w, [t, generator, fake], 2)).toEqual([2 * 2, 6 * 2, 6 * 2]);
    expect(countForwardPasses(w.models!, B, () => w.run(1, () => undefined))).toBe(14);
    w.dispose();
  });

  it(
    'Phased DMD, phase 2 of 4 steps / 2 phases: the frozen phase-1 expert runs its 2 steps in each of the 6 ' +
      'rollouts',
    () => {
      const before = tf.memory().numTensors;
      const w = distillWorkload('mlp', 'phased', 1, { metricsEvery: 1 }, teacher);
      const [t, generator, fake, expert] = w.models!;
      const [teacherPasses, generatorPasses, fakePasses, expertPasses] = passesPerNetwork(
        w,
        [t, generator, fake, expert],
        3,
      );
      expect(expertPasses).toBe(3 * 6 * 2);
      expect(teacherPasses).toBe(3 * 2);
      expect(fakePasses).toBe(3 * 6);
      // SGTS within the phase: each rollout exits at step 1 (one pass) or step 2 (two passes)
      expect(generatorPasses).toBeGreaterThanOrEqual(3 * 6);
      expect(generatorPasses).toBeLessThanOrEqual(3 * 6 * 2);
      w.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});
