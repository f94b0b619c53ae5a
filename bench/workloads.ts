/**
 * The benchmarked workloads, built from the framework's own streams and samplers (what
 * a user runs), for one model kind:
 *
 *   teacher   one flow-matching step (batch → drop condition → t → x_t → loss → Adam)
 *   dmd       one one-step DMD iteration: 5 fake-score updates + 1 generator update
 *   sgts      one 4-step DMD+SGTS iteration (same update structure)
 *   phased    one Phased DMD iteration (4 steps / 2 phases), phase 1 and phase 2
 *   sample    the teacher's 40-step Euler sampler with CFG (batched 2B forward) and the
 *             distilled 4-NFE student
 *
 * bench/torch_reference.py builds the same models and steps in PyTorch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Observable, Subscription, filter, take } from 'rxjs';
import type { Dataset } from '../lib/data/types';
import { mixtureDataset } from '../lib/data/mixtures';
import type { ModelConfig } from '../lib/models/config';
import { buildModel } from '../lib/models/build';
import type { VelocityModel } from '../lib/models/types';
import { makeTrainer } from '../lib/optim/trainer';
import { resolveSchedule, ResolvedPhase } from '../lib/phases/resolve';
import { openPhase, phaseSteps, DistillSettings, DistillState } from '../lib/distill/segment';
import { sampleStudent } from '../lib/distill/student';
import type { GeneratorGradient } from '../lib/losses/dmd';
import type { ExpertPhase } from '../lib/rollout/context';
import type { StepMetrics } from '../lib/stream/types';
import { randomInts, splitSeed } from '../lib/random/seed';
import { teacherSteps, resolveTeacherConfig, sampleTeacher } from '../lib/teacher/teacher';
import { scheduleFor, DistillMethod, DistillConfig } from '../lib/distill/distill';
import { decodeOrThrow } from '../lib/config/report';

export type ModelKind = 'mlp' | 'unet';

/** The benchmark's model and batch per kind (mirrored in torch_reference.py). */
export const MODEL_SETUPS: Record<
  ModelKind,
  { config: ModelConfig; batch: number; sampleBatch: number; guidance: number; describe: string }
> = {
  mlp: {
    config: { kind: 'mlp', dim: 2, numClasses: 8, hidden: [256, 256, 256], timeEmbedDim: 32, seed: 1 } as ModelConfig,
    batch: 1024,
    sampleBatch: 1024,
    guidance: 3,
    describe: 'MLP 2+32→256→256→256→2, 8 classes (ring8)',
  },
  unet: {
    config: {
      kind: 'unet',
      size: 28,
      channels: 1,
      numClasses: 10,
      width: 32,
      timeEmbedDim: 64,
      seed: 1,
    } as ModelConfig,
    batch: 64,
    sampleBatch: 64,
    guidance: 3,
    describe: 'U-Net 28×28×1, width 32, 10 classes (MNIST-shaped)',
  },
};

/**
 * Synthetic MNIST-shaped data: same shapes and label draws as the real set, no file
 * reading, so a step costs what training costs (the data stage is a gather either way).
 */
export const syntheticImages = (size: number, channels: number, numClasses: number): Dataset => ({
  name: 'synthetic-images',
  sampleShape: [size, size, channels],
  numClasses,
  size: Infinity,
  sample: (batchSize, seed) => ({
    x0: tf.tidy(() =>
      tf.clipByValue(tf.randomNormal([batchSize, size, size, channels], 0, 1, 'float32', splitSeed(seed, 'x')), -1, 1),
    ),
    labels: tf.tensor1d(randomInts(splitSeed(seed, 'labels'), batchSize, numClasses), 'int32') as tf.Tensor1D,
  }),
});

export const datasetFor = (kind: ModelKind): Dataset =>
  kind === 'mlp' ? mixtureDataset('ring8') : syntheticImages(28, 1, 10);

/**
 * A workload runs `n` iterations through `onIteration`, which is called at the end of
 * each iteration (synchronously: tfjs backends here execute eagerly). The caller times
 * iterations and may switch kernels between them.
 */
export interface Workload {
  readonly name: string;
  run(n: number, onIteration: (i: number) => void): void;
  dispose(): void;
  /** The networks an iteration runs (for counting forward passes). */
  readonly models?: readonly VelocityModel[];
}

/**
 * Samples pushed through the networks' forward passes while `f` runs, in units of `batch`
 * (a CFG pass over 2B counts 2). Counts calls of `apply` on the given models only.
 */
export const countForwardPasses = (models: readonly VelocityModel[], batch: number, f: () => void): number => {
  let rows = 0;
  const unique = [...new Set(models)];
  for (const m of unique) {
    const apply = m.apply;
    (m as { apply: VelocityModel['apply'] }).apply = (xt, t, labels) => {
      rows += xt.shape[0];
      return apply.call(m, xt, t, labels);
    };
  }
  try {
    f();
  } finally {
    for (const m of unique) delete (m as { apply?: unknown }).apply;
  }
  return rows / batch;
};

/** Runs a metrics stream and reports each iteration's end (a generator update ends a distillation iteration). */
const drive = (
  stream: Observable<StepMetrics>,
  endsIteration: (m: StepMetrics) => boolean,
  n: number,
  onIteration: (i: number) => void,
): void => {
  let i = 0;
  let error: unknown;
  const sub: Subscription = stream
    .pipe(filter(endsIteration), take(n))
    .subscribe({ next: () => onIteration(i++), error: (e) => (error = e) });
  sub.unsubscribe();
  if (error !== undefined) throw error;
  if (i !== n) throw new Error(`workload ended after ${i} of ${n} iterations`);
};

export interface BenchOptions {
  /** Read loss/grad norm every `metricsEvery` updates (1 = every update, the pipelines' default). */
  readonly metricsEvery: number;
}

/** Teacher training as the pipeline runs it (its optimise step reads the loss every step). */
export const teacherWorkload = (kind: ModelKind): Workload => {
  const setup = MODEL_SETUPS[kind];
  const dataset = datasetFor(kind);
  const model = buildModel(setup.config);
  // the data entry only names the set; the stream below gets `dataset` directly
  const config = {
    ...resolveTeacherConfig({ method: 'teacher', data: { kind: 'mixture', name: 'ring8' } }),
    batchSize: setup.batch,
  };
  const trainer = makeTrainer(model.params.variables, { lr: config.lr, betas: config.betas }, config);
  let from = 0;
  return {
    name: 'teacher step',
    run: (n, on) => {
      const stream = teacherSteps({ dataset, model, trainer }, { ...config, steps: from + n }, from);
      drive(stream, () => true, n, on);
      from += n;
    },
    models: [model],
    dispose: () => {
      trainer.optimizer.dispose();
      model.dispose();
    },
  };
};

/** The phases of a distillation method at the benchmark's batch size. */
export const phasesFor = (method: DistillMethod, batch: number, guidance: number): ResolvedPhase[] =>
  resolveSchedule(
    scheduleFor(
      decodeOrThrow(
        DistillConfig,
        { method, teacher: 'unused.ckpt', batchSize: batch, iterations: 1e7, guidance },
        'bench distill config',
      ),
    ),
  );

/**
 * One distillation iteration of `method`, phase `phaseIndex`: earlier phases' experts are
 * teacher copies (their weights do not change the cost).
 */
export const distillWorkload = (
  kind: ModelKind,
  method: DistillMethod,
  phaseIndex: number,
  opts: BenchOptions,
  teacher: VelocityModel,
  gradient: GeneratorGradient = 'reference',
): Workload => {
  const setup = MODEL_SETUPS[kind];
  const phases = phasesFor(method, setup.batch, setup.guidance);
  const phase = phases[phaseIndex];
  const experts: ExpertPhase[] = phases.slice(0, phaseIndex).map((p) => ({ grid: p.grid, expert: teacher.clone() }));
  const state: DistillState = { experts };
  const settings: DistillSettings = {
    teacher,
    seed: 7,
    shift: 5,
    backprop: method === 'vanilla' ? 'full' : 'sgts',
    gradient,
    betas: [0, 0.999],
    optimise: { metricsDue: (key) => key.step % opts.metricsEvery === 0 },
  };
  const roles = openPhase(settings, phase, state);
  let from = 0;
  return {
    name: method === 'phased' ? `phased DMD iteration, phase ${phaseIndex + 1}` : `${method} iteration`,
    run: (n, on) => {
      drive(phaseSteps(settings, roles, from), (m) => m.role === 'generator', n, on);
      from += n;
    },
    models: [teacher, roles.context.generator, roles.context.fake, ...experts.map((e) => e.expert)],
    dispose: () => {
      roles.context.generator.dispose();
      roles.context.fake.dispose();
      roles.trainers.generator.optimizer.dispose();
      roles.trainers.fake.optimizer.dispose();
      experts.forEach((e) => e.expert.dispose());
    },
  };
};

/** 40-step Euler with CFG (the teacher) vs the 4-NFE Phased DMD student (4 steps / 2 phases). */
export const samplingWorkloads = (kind: ModelKind, teacher: VelocityModel): Workload[] => {
  const setup = MODEL_SETUPS[kind];
  const experts: ExpertPhase[] = phasesFor('phased', setup.batch, setup.guidance).map((p) => ({
    grid: p.grid,
    expert: teacher.clone(),
  }));
  const once = (f: (seed: number) => tf.Tensor[]) => (n: number, on: (i: number) => void) => {
    for (let i = 0; i < n; i++) {
      tf.dispose(f(i + 1));
      on(i);
    }
  };
  return [
    {
      name: 'sample: teacher 40 steps, CFG',
      run: once((seed) => {
        const { x, labels } = sampleTeacher(teacher, {
          n: setup.sampleBatch,
          seed,
          sampler: { steps: 40, method: 'euler', guidance: setup.guidance, shift: 1 },
        });
        x.dataSync(); // the sample is read back: part of sampling
        return labels === null ? [x] : [x, labels];
      }),
      dispose: () => undefined,
      models: [teacher],
    },
    {
      name: 'sample: student 4 NFE',
      models: experts.map((e) => e.expert),
      run: once((seed) => {
        const { x, labels } = sampleStudent(experts, { n: setup.sampleBatch, seed });
        x.dataSync();
        return labels === null ? [x] : [x, labels];
      }),
      dispose: () => experts.forEach((e) => e.expert.dispose()),
    },
  ];
};

/**
 * Every benchmarked workload of a model kind, by name, built on demand (the names are
 * the table's rows and bench/torch_reference.py's workloads). The sampling workloads share
 * their experts: the caller disposes them through the returned `dispose`.
 */
export const workloadMakers = (
  kind: ModelKind,
  opts: BenchOptions,
  teacher: VelocityModel,
): { makers: Array<[string, () => Workload]>; sampling: Workload[] } => {
  const sampling = samplingWorkloads(kind, teacher);
  const makers: Array<[string, () => Workload]> = [
    ['teacher step', () => teacherWorkload(kind)],
    ['dmd iteration', () => distillWorkload(kind, 'dmd', 0, opts, teacher)],
    ['sgts iteration', () => distillWorkload(kind, 'sgts', 0, opts, teacher)],
    ['phased DMD iteration, phase 1', () => distillWorkload(kind, 'phased', 0, opts, teacher)],
    ['phased DMD iteration, phase 2', () => distillWorkload(kind, 'phased', 1, opts, teacher)],
    ...sampling.map((w): [string, () => Workload] => [w.name, () => w]),
  ];
  return { makers, sampling };
};

export const buildTeacher = (kind: ModelKind): VelocityModel => {
  const teacher = buildModel(MODEL_SETUPS[kind].config);
  teacher.params.setTrainable(false);
  return teacher;
};
