/**
 * Teacher training: flow matching (docs/algorithm.md §2) with condition dropout for CFG,
 * and the multi-step Euler/Heun sampler with CFG that every student is compared to.
 *
 * Read top to bottom:
 *   1. the config (io-ts codec + defaults);
 *   2. the training stream: step keys → batch → drop condition → t → x_t → loss → Adam;
 *   3. the run: open data, build the model, subscribe, checkpoint;
 *   4. sampling.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as t from 'io-ts';
import * as path from 'path';
import { MonoTypeOperatorFunction, Observable, identity, lastValueFrom, tap, toArray } from 'rxjs';
import {
  PositiveInt,
  NonNegativeInt,
  Positive,
  Probability,
  UnitInterval,
  StepCount,
  BatchSize,
  SamplerSteps,
  Finite,
} from '../config/primitives';
import { DataConfig, loadDataset } from '../data/config';
import type { Dataset } from '../data/types';
import { dataMetaOf } from '../data/scaling';
import { ModelSpec, modelConfigFor } from '../models/spec';
import { ModelConfig } from '../models/config';
import { buildModel } from '../models/build';
import type { VelocityModel } from '../models/types';
import { makeTrainer, Trainer } from '../optim/trainer';
import { captureAdamState } from '../optim/adamState';
import { stepKeys } from '../operators/source/stepKeys';
import { sampleBatch } from '../operators/batch/sampleBatch';
import { dropCondition } from '../operators/batch/dropCondition';
import { sampleTimesteps } from '../operators/noise/sampleTimesteps';
import { forwardProcess } from '../operators/noise/forwardProcess';
import { flowMatchingLoss } from '../operators/loss/flowMatchingLoss';
import { optimise } from '../operators/optimise/optimise';
import { logMetrics } from '../operators/taps/logMetrics';
import type { StepMetrics } from '../stream/types';
import { timeRange } from '../schedule/sampling';
import type { SamplerMethod } from '../samplers/flow';
import { sampleGuided } from '../samplers/guided';
import { splitSeed } from '../random/seed';
import { saveCheckpoint, loadCheckpoint, tensorsUnder, CheckpointError, CheckpointData } from '../checkpoint/format';
import type { NamedTensorData } from '../models/params';
import { finiteWithPrefix as finite } from '../checkpoint/finite';
import { TEACHER_CHECKPOINT } from '../checkpoint/files';
import { configHash } from '../record/hash';
import * as E from 'fp-ts/Either';
import { decodeOrThrow } from '../config/report';

// ── 1. Config ────────────────────────────────────────────────────────────────

export const TimestepConfig = t.partial({
  shift: Positive,
  distribution: t.keyof({ uniform: null, logitNormal: null }),
});

export const SamplerConfig = t.partial({
  steps: SamplerSteps,
  method: t.keyof({ euler: null, heun: null }),
  /** CFG scale g; 1 = plain conditional. */
  guidance: Finite,
  shift: Positive,
});
export type SamplerConfig = t.TypeOf<typeof SamplerConfig>;

export const TeacherConfig = t.intersection([
  t.type({ method: t.literal('teacher'), data: DataConfig }),
  t.partial({
    model: ModelSpec,
    seed: NonNegativeInt,
    steps: StepCount,
    batchSize: BatchSize,
    lr: Positive,
    betas: t.tuple([UnitInterval, UnitInterval]),
    /** Probability p_drop of replacing the label by ∅ (CFG training). */
    conditionDropout: Probability,
    timesteps: TimestepConfig,
    sampler: SamplerConfig,
    logEvery: PositiveInt,
  }),
]);
export type TeacherConfig = t.TypeOf<typeof TeacherConfig>;

export const TEACHER_DEFAULTS = {
  model: { kind: 'mlp', hidden: [256, 256, 256], timeEmbedDim: 32 } as ModelSpec,
  seed: 0,
  steps: 3000,
  batchSize: 512,
  lr: 1e-3,
  betas: [0.9, 0.999] as [number, number],
  conditionDropout: 0.1,
  timesteps: { shift: 1, distribution: 'uniform' as 'uniform' | 'logitNormal' },
  sampler: { steps: 40, method: 'euler' as SamplerMethod, guidance: 1, shift: 1 },
  logEvery: 100,
};

export type ResolvedTeacherConfig = typeof TEACHER_DEFAULTS & { method: 'teacher'; data: DataConfig };

export const resolveTeacherConfig = (c: TeacherConfig): ResolvedTeacherConfig => ({
  ...TEACHER_DEFAULTS,
  ...c,
  timesteps: { ...TEACHER_DEFAULTS.timesteps, ...c.timesteps },
  sampler: { ...TEACHER_DEFAULTS.sampler, ...c.sampler },
});

// ── 2. The training stream ───────────────────────────────────────────────────

export interface TeacherRoles {
  readonly dataset: Dataset;
  readonly model: VelocityModel;
  readonly trainer: Trainer;
}

/** Steps [from, config.steps) of flow-matching training, one StepMetrics per step. */
export const teacherSteps = (roles: TeacherRoles, config: ResolvedTeacherConfig, from = 0): Observable<StepMetrics> =>
  stepKeys(config.seed, 0, from, config.steps - from).pipe(
    sampleBatch(roles.dataset, config.batchSize),
    dropCondition(config.conditionDropout, roles.dataset.numClasses),
    sampleTimesteps(timeRange(0, 1, config.timesteps.shift, config.timesteps.distribution)),
    forwardProcess(),
    flowMatchingLoss(roles.model),
    optimise({ teacher: roles.trainer }),
  );

/**
 * The teacher's one training loop: steps [from, config.steps) of `teacherSteps`, tapped
 * (`through`: a recording), logged every `logEvery` steps, each step's metrics handed to
 * `onStep` (checkpoints and snapshots hang there). Every way of training a teacher runs it.
 */
export const teacherLoop = (
  roles: TeacherRoles,
  config: ResolvedTeacherConfig,
  o: {
    readonly from?: number;
    readonly through?: MonoTypeOperatorFunction<StepMetrics>;
    readonly log?: (line: string) => void;
    readonly onStep?: (m: StepMetrics) => void;
  } = {},
): Promise<StepMetrics[]> =>
  lastValueFrom(
    teacherSteps(roles, config, o.from ?? 0).pipe(
      o.through ?? identity,
      logMetrics(config.logEvery, o.log),
      tap((m) => o.onStep?.(m)),
      toArray(),
    ),
    { defaultValue: [] as StepMetrics[] },
  );

// ── 3. The run ───────────────────────────────────────────────────────────────

export const openTeacherRun = (config: ResolvedTeacherConfig): TeacherRoles & { modelConfig: ModelConfig } => {
  const dataset = E.getOrElseW((e: Error) => {
    throw e;
  })(loadDataset(config.data));
  const modelConfig = modelConfigFor(config.model, dataset, splitSeed(config.seed, 'init'));
  const model = buildModel(modelConfig);
  const trainer = makeTrainer(
    model.params.variables,
    { lr: config.lr, betas: config.betas },
    { lr: config.lr, betas: config.betas },
  );
  return { dataset, model, trainer, modelConfig };
};

export interface TeacherResult {
  readonly model: VelocityModel;
  readonly modelConfig: ModelConfig;
  readonly dataset: Dataset;
  readonly config: ResolvedTeacherConfig;
  readonly metrics: StepMetrics[];
}

/**
 * Trains a teacher in memory; writes `<outDir>/teacher.ckpt` at the end when outDir is
 * given. For checkpoints along the way, a recording and exact resume, see
 * lib/train/teacher.ts `runTeacher` (same checkpoint format).
 */
export const trainTeacher = async (
  input: unknown,
  options: { outDir?: string; log?: (line: string) => void; onStep?: (m: StepMetrics) => void } = {},
): Promise<TeacherResult> => {
  const config = resolveTeacherConfig(decodeOrThrow(TeacherConfig, input, 'teacher config'));
  const { dataset, model, trainer, modelConfig } = openTeacherRun(config);
  const metrics = await teacherLoop({ dataset, model, trainer }, config, options);
  if (options.outDir !== undefined)
    saveTeacher(path.join(options.outDir, TEACHER_CHECKPOINT), {
      model,
      modelConfig,
      config,
      input,
      trainer,
      step: config.steps,
      dataset,
    });
  trainer.optimizer.dispose();
  return { model, modelConfig, dataset, config, metrics };
};

// ── Checkpoint ───────────────────────────────────────────────────────────────

export const RNG_NOTE =
  'stateless: every draw is a pure function of (seed, phase, step, role); the step is the RNG position';

/**
 * A teacher checkpoint: `teacher/…` weights, `opt/teacher/…` Adam's exact state
 * (lib/optim/adamState: moments and the running β powers), and in meta the step, the
 * config as given (`input`) and its hash, so `runTeacher` can resume it bit for bit.
 * Non-finite weights are never written (NonFiniteWeightsError).
 */
export const teacherCheckpointData = (s: {
  weights: readonly NamedTensorData[];
  adam: readonly NamedTensorData[];
  modelConfig: unknown;
  config: ResolvedTeacherConfig;
  input: unknown;
  step: number;
  dataset?: Dataset;
}): CheckpointData => ({
  meta: {
    kind: 'teacher',
    ...(s.dataset !== undefined ? dataMetaOf(s.dataset) : {}),
    modelConfig: s.modelConfig,
    config: s.config,
    input: s.input,
    configHash: configHash(s.input),
    phase: 0,
    step: s.step,
    complete: s.step >= s.config.steps,
    rng: RNG_NOTE,
  },
  tensors: [...finite('teacher/', s.weights), ...finite('opt/teacher/', s.adam)],
});

/**
 * Writes a teacher checkpoint (atomic); with its trainer, a resumable one. `input` is the config as given;
 * `dataset` adds how its values were scaled (meta.dataScaling) and its class names, so samples can be mapped back.
 */
export const saveTeacher = (
  file: string,
  s: {
    model: VelocityModel;
    modelConfig: ModelConfig;
    config: ResolvedTeacherConfig;
    input: unknown;
    trainer?: Trainer;
    step: number;
    dataset?: Dataset;
  },
): void =>
  saveCheckpoint(
    file,
    teacherCheckpointData({
      weights: s.model.params.read(),
      adam: s.trainer ? captureAdamState(s.trainer.optimizer) : [],
      modelConfig: s.modelConfig,
      config: s.config,
      input: s.input,
      step: s.step,
      ...(s.dataset !== undefined ? { dataset: s.dataset } : {}),
    }),
  );

/** Loads a teacher checkpoint: its model (frozen: not trainable) and the config it was trained with. */
export const loadTeacher = (
  file: string,
): E.Either<CheckpointError, { model: VelocityModel; modelConfig: ModelConfig; config: ResolvedTeacherConfig }> =>
  E.chain(
    (data: {
      meta: Readonly<Record<string, unknown>>;
      tensors: readonly import('../models/params').NamedTensorData[];
    }) => {
      if (data.meta.kind !== 'teacher')
        return E.left(
          new CheckpointError(file, `meta.kind: expected "teacher", got ${JSON.stringify(data.meta.kind)}`),
        );
      const modelConfig = ModelConfig.decode(data.meta.modelConfig);
      if (E.isLeft(modelConfig)) return E.left(new CheckpointError(file, 'meta.modelConfig: not a valid model config'));
      const model = buildModel(modelConfig.right);
      try {
        model.params.write(tensorsUnder(data, 'teacher/'), `${file}: teacher`);
      } catch (err) {
        model.dispose();
        return E.left(new CheckpointError(file, (err as Error).message));
      }
      model.params.setTrainable(false);
      return E.right({ model, modelConfig: modelConfig.right, config: data.meta.config as ResolvedTeacherConfig });
    },
  )(loadCheckpoint(file));

// ── 4. Sampling ──────────────────────────────────────────────────────────────

export interface SampleOptions {
  readonly n: number;
  readonly seed: number;
  /** Class ids per sample; default: uniform over classes (or null when unconditional). */
  readonly labels?: Int32Array | null;
  /** Plain numbers (a decoded SamplerConfig fits), so callers need no branded types. */
  readonly sampler?: SamplerSettings;
}

export interface SamplerSettings {
  readonly steps?: number;
  readonly method?: SamplerMethod;
  readonly guidance?: number;
  readonly shift?: number;
}

/**
 * Network evaluations per teacher sample: one per Euler step, two per Heun step, and
 * twice that under CFG (g ≠ 1 on a conditional model evaluates the model with and
 * without the label).
 */
export const teacherNfe = (sampler: SamplerSettings, numClasses: number): number => {
  const s = { ...TEACHER_DEFAULTS.sampler, ...sampler };
  return s.steps * (s.method === 'heun' ? 2 : 1) * (s.guidance !== 1 && numClasses > 0 ? 2 : 1);
};

/** Multi-step sampling with CFG: z ~ N(0, I) at t = 1, Euler/Heun over the shifted grid to t = 0 (lib/samplers). */
export const sampleTeacher = (
  model: VelocityModel,
  options: SampleOptions,
): { x: tf.Tensor; labels: tf.Tensor1D | null } =>
  sampleGuided(model, {
    n: options.n,
    seed: options.seed,
    ...(options.labels !== undefined ? { labels: options.labels } : {}),
    sampler: { ...TEACHER_DEFAULTS.sampler, ...options.sampler },
  });
