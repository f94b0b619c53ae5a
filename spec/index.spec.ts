/**
 * The "compose custom pipelines" case: a user builds teacher training with a loss
 * operator of their own, from the public entry point only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { OperatorFunction, lastValueFrom, map, toArray } from 'rxjs';
import * as pd from '..';

beforeAll(async () => {
  await pd.useBackend('wasm');
});

/**
 * The user's own loss operator: flow matching weighted towards noisy times,
 * L = mean_b w(t_b)·mean_d (v_θ − (ε − x0))², w(t) = 0.5 + t.
 */
const weightedFlowMatching =
  (model: pd.VelocityModel): OperatorFunction<pd.NoisedBatch, pd.LossStep> =>
  (source) =>
    source.pipe(
      map((batch) => {
        const w = tf.tidy(() => tf.add(0.5, batch.t));
        const target = pd.velocityTarget(batch.x0, batch.eps);
        return {
          key: batch.key,
          role: 'teacher',
          loss: () => pd.weightedMeanSquaredError(model.apply(batch.xt, batch.t, batch.labels), target, w),
          owned: [...pd.tensorsOf(batch), w, target],
        };
      }),
    );

describe('public API', () => {
  it('exports operators, codecs, schedule math, models and pipelines from one entry point', () => {
    const names = [
      'stepKeys',
      'sampleBatch',
      'dropCondition',
      'sampleTimesteps',
      'forwardProcess',
      'predictVelocity',
      'flowMatchingLoss',
      'optimise',
      'logMetrics',
      'countTensors',
      'PhasedSchedule',
      'PhaseSegment',
      'resolveSchedule',
      'concatSegments',
      'decodeOrThrow',
      'shiftTime',
      'timeGrid',
      'subintervalVelocityTarget',
      'eulerStep',
      'heunStep',
      'VelocityMlp',
      'buildModel',
      'mixtureDataset',
      'saveCheckpoint',
      'loadCheckpoint',
      'splitSeed',
      'drawSeed',
      // the distillation engine: operators, losses, phases, the student, progress checkpoints
      'interleaveUpdates',
      'distillationLoss',
      'fakeScoreLoss',
      'generatorLoss',
      'emaUpdate',
      'iterationTime',
      'stopGradient',
      'offTape',
      'dmdLoss',
      'compilePhase',
      'openPhase',
      'drawRenoiseTimes',
      'runExperts',
      'sampleStudent',
      'studentNfe',
      'saveDistillState',
      'loadDistillState',
      'restoreRoles',
      'NonFiniteWeightsError',
      'captureAdamState',
      'restoreAdamState',
      'runConfig',
      'disposeRun',
      'RUN_METHODS',
    ] as const;
    for (const n of names)
      expect({ n, type: typeof (pd as Record<string, unknown>)[n] }).toEqual({
        n,
        type: expect.stringMatching(/function|object/),
      });
    expect(typeof pd.pipelines.teacher.trainTeacher).toBe('function');
    expect(typeof pd.pipelines.teacher.sampleTeacher).toBe('function');
    expect(typeof pd.pipelines.distill.trainDistill).toBe('function');
    // the DMD losses on tensors are namespaced (the top-level generatorLoss / fakeScoreLoss are the stream operators)
    for (const n of ['distributionMatchingGrad', 'generatorLoss', 'fakeScoreLoss'] as const)
      expect(typeof pd.dmdLoss[n]).toBe('function');
    expect(pd.generatorLoss).not.toBe(pd.dmdLoss.generatorLoss);
    expect(typeof pd.train.runDistill).toBe('function');
  });

  it('a custom teacher pipeline with a user-written loss operator trains: the loss decreases', async () => {
    const dataset = pd.mixtureDataset('ring8');
    const model = pd.buildModel(
      pd.modelConfigFor(
        pd.decodeOrThrow(pd.ModelSpec, { kind: 'mlp', hidden: [32, 32], timeEmbedDim: 8 }),
        dataset,
        11,
      ),
    );
    const trainer = pd.makeTrainer(model.params.variables, { lr: 3e-3 }, { lr: 3e-3, betas: [0.9, 0.999] });
    const seen: number[] = [];
    const n0 = tf.memory().numTensors;
    const metrics = await lastValueFrom(
      pd.stepKeys(11, 0, 0, 250).pipe(
        pd.sampleBatch(dataset, 128),
        pd.dropCondition(0.1, dataset.numClasses),
        pd.sampleTimesteps(pd.timeRange(0, 1, 3)),
        pd.forwardProcess(),
        weightedFlowMatching(model),
        pd.optimise({ teacher: trainer }),
        pd.countTensors('after optimise', (_, n) => seen.push(n)),
        toArray(),
      ),
    );
    const losses = metrics.map((m) => m.loss!);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(losses.length).toBe(250);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(mean(losses.slice(-50))).toBeLessThan(0.7 * mean(losses.slice(0, 50)));
    // the user's operator followed the ownership rule: the tensor count is flat after Adam's first step
    expect(new Set(seen.slice(1)).size).toBe(1);
    expect(seen[0] - n0).toBe(2 * model.params.variables.length);

    // the trained model samples through the public sampler
    const z = pd.normal([256, 2], pd.splitSeed(11, 'z'));
    const labels = tf.tensor1d(pd.randomInts(3, 256, 8), 'int32');
    const x = pd.sampleFlow(pd.guidedVelocity(model, 1), z, labels, pd.timeGrid(20, 1), 'euler');
    expect(pd.modeReport(x.dataSync() as Float32Array, 2, pd.ring8).modesCovered).toBeGreaterThanOrEqual(6);
    tf.dispose([z, labels, x]);
    trainer.optimizer.dispose();
    model.dispose();
  });
});
