/**
 * The paper's comparison at small scale (docs/algorithm.md §6): a flow-matching
 * teacher (40 Euler steps with CFG) against one-step DMD, DMD with SGTS (4 steps) and
 * Phased DMD (4 steps in 2 or 4 phases), every student with the same number of generator
 * updates, over several seeds.
 *
 * Read top to bottom:
 *   1. the config (io-ts codec, per-task defaults, the checks between fields);
 *   2. what each seed trains: the teacher config, each method's distillation config;
 *   3. the data a task trains on (2-D mixtures: which labels condition the model);
 *   4. the run: per seed, a teacher (cached in the run directory by config hash), its
 *      reference and evaluation samples, each student trained and sampled — every step
 *      recorded (lib/record), so the report is rebuilt from the recordings alone
 *      (pipelines/experimentReport.ts).
 *
 * Run directory:
 *   experiment.json                       the config as given (what `report` rebuilds from)
 *   teachers/<key>/teacher.ckpt           a teacher, keyed by its config hash; reused (while it trains: its progress)
 *   teachers/<key>/recording.ndjson       its training losses
 *   seed-<s>/teacher/recording.ndjson     the teacher's reference and evaluation samples
 *   seed-<s>/<method>/recording.ndjson    a student's losses and evaluation samples
 *   seed-<s>/<method>/student.ckpt        the student
 *   classifier/[<key>/]classifier.ckpt    image tasks: the feature classifier (trained once; keyed by dataset and size)
 *   report.md, results.json, figures/, samples/seed-<s>/<name>.npy   (the report)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { keepAside, writeFileAtomic } from '../lib/util/atomicWrite';
import {
  BatchSize,
  NonNegativeInt,
  PositiveInt,
  Positive,
  NonNegative,
  StepCount,
  UnitInterval,
  Probability,
  atMost,
} from '../lib/config/primitives';
import { ConfigError, ConfigIssue, decodeWith } from '../lib/config/report';
import { unknownFields } from '../lib/config/codecWalk';
import { DataConfig, imageSideOf, loadDataset } from '../lib/data/config';
import { ImageShrink, shrinkIssues } from '../lib/data/shrink';
import type { Dataset } from '../lib/data/types';
import { VideoOptions, VIDEO_DEFAULTS } from '../lib/data/video';
import type { MixtureName } from '../lib/data/mixtures';
import { ModelSpec, modelConfigFor } from '../lib/models/spec';
import { PhaseSettings } from '../lib/phases/segment';
import {
  DistillMemoryEstimate,
  NetworkSize,
  distillMemory,
  formatCount,
  memoryBudget,
  mlpSize,
  pairwiseMemory,
  tooMuchMemory,
  trainingMemory,
  unetSize,
} from '../lib/models/memory';
import { MLP_DEFAULTS } from '../lib/models/mlp';
import { UNET_DEFAULTS } from '../lib/models/unet';
import { buildModel } from '../lib/models/build';
import type { VelocityModel } from '../lib/models/types';
import type { ModelConfig } from '../lib/models/config';
import { makeTrainer } from '../lib/optim/trainer';
import type { StepMetrics } from '../lib/stream/types';
import type { PlannedRun, RunStart } from '../lib/stream/runs';
import { splitSeed } from '../lib/random/seed';
import { saveCheckpoint } from '../lib/checkpoint/format';
import { captureAdamState, restoreAdamState } from '../lib/optim/adamState';
import { readTeacherProgress, TeacherProgress } from '../lib/train/teacher';
import { PROGRESS_CHECKPOINT, RECORDING_FILE, STUDENT_CHECKPOINT, TEACHER_CHECKPOINT } from '../lib/checkpoint/files';
import { RecordingWriter, makeHeader } from '../lib/record/writer';
import { record, eventOf } from '../lib/record/record';
import { summariseRecording, RecordingSummary } from '../lib/record/summary';
import { configHash, sameRunConfig } from '../lib/record/hash';
import { sampleStudent, studentNfe } from '../lib/distill/student';
import { loadDistillState } from '../lib/distill/checkpoint';
import type { ExpertPhase } from '../lib/rollout/context';
import { trainFeatureClassifier, saveClassifier, loadClassifier, FeatureClassifier } from '../lib/metrics/classifier';
import { loadMnist, loadFashionMnist, fashionMnistDirs } from '../lib/data/mnist';
import type { IndexedDataset } from '../lib/data/indexed';
import {
  TeacherConfig,
  TimestepConfig,
  resolveTeacherConfig,
  teacherLoop,
  sampleTeacher,
  loadTeacher,
  teacherNfe,
  teacherCheckpointData,
} from '../lib/teacher/teacher';
import {
  trainDistill,
  saveStudent,
  DistillMethod,
  DistillConfig,
  RoleOptimizer,
  withDefaults,
  describeRegression,
  describeVariant,
} from '../lib/distill/distill';
import { RegressionConfig } from '../lib/distill/regression';

// ── 1. Config ────────────────────────────────────────────────────────────────

export const EXPERIMENT_METHODS = ['teacher', 'dmd', 'vanilla', 'sgts', 'phased-4x2', 'phased-4x4'] as const;
export const ExperimentMethod = t.keyof({
  teacher: null,
  dmd: null,
  vanilla: null,
  sgts: null,
  'phased-4x2': null,
  'phased-4x4': null,
});
export type ExperimentMethod = t.TypeOf<typeof ExperimentMethod>;
export type StudentMethod = Exclude<ExperimentMethod, 'teacher'>;

export const ExperimentTask = t.keyof({
  grid25: null,
  ring8: null,
  uneven7: null,
  rings2: null,
  skew3: null,
  mnist: null,
  'fashion-mnist': null,
  video: null,
});
export type ExperimentTask = t.TypeOf<typeof ExperimentTask>;

/**
 * What labels condition a 2-D mixture model: `mode` (each Gaussian its own class),
 * `group` (a few classes of several modes each: grid25 rows, ring8 alternate modes — the
 * analogue of a prompt with many valid images), `none` (unconditional, no CFG).
 */
export const Condition = t.keyof({ mode: null, group: null, none: null });
export type Condition = t.TypeOf<typeof Condition>;

/**
 * A non-empty list without repeats (error paths point into the list); with `max`, of at most
 * that many items (`why` says what each costs).
 */
export const distinctList = <A>(
  item: t.Type<A, unknown, unknown>,
  name: string,
  max?: { readonly items: number; readonly why: string },
): t.Type<A[], unknown, unknown> => {
  const list = t.array(item);
  return new t.Type<A[], unknown, unknown>(
    name,
    (u): u is A[] =>
      list.is(u) && u.length > 0 && new Set(u).size === u.length && (max === undefined || u.length <= max.items),
    (u, c) => {
      if (max !== undefined && Array.isArray(u) && u.length > max.items)
        return t.failure(
          u,
          c,
          `expected ${name}, at most ${max.items.toLocaleString('en-US')} (${max.why}), got ` +
            `${u.length.toLocaleString('en-US')}`,
        );
      return E.chain((xs: A[]): t.Validation<A[]> => {
        if (xs.length === 0) return t.failure(u, c, `expected ${name}, got an empty list`);
        const dup = xs.find((x, i) => xs.indexOf(x) !== i);
        return dup === undefined
          ? t.success(xs)
          : t.failure(u, c, `expected ${name}, got ${JSON.stringify(dup)} twice`);
      })(list.validate(u, c));
    },
    t.identity,
  );
};

/** At most 1 000: each seed trains a teacher and every student. */
export const Seeds = distinctList(NonNegativeInt, 'distinct non-negative integer seeds (at least one)', {
  items: 1000,
  why: 'each seed trains a teacher and every student',
});
/** Samples per evaluation set. */
export const SampleCount = atMost(
  PositiveInt,
  1_000_000,
  'every set of a seed is drawn, held in memory and written as .npy',
);
/** Rows per set of the O(N²) metrics. */
export const EvalPoints = atMost(
  PositiveInt,
  1_000_000,
  'the energy, MMD, k-NN and Vendi metrics compare every pair of points: N² of them',
);

export const ExperimentBudget = t.partial({
  /** Teacher optimiser steps. */
  teacherSteps: StepCount,
  teacherBatchSize: BatchSize,
  /** Generator updates per student, the same for every method (phased: split evenly over its phases). */
  iterations: StepCount,
  /** Distillation batch size. */
  batchSize: BatchSize,
});

/** Teacher training knobs beyond the budget. */
export const ExperimentTeacher = t.partial({
  lr: Positive,
  conditionDropout: Probability,
  betas: t.tuple([UnitInterval, UnitInterval]),
  timesteps: TimestepConfig,
  /**
   * One teacher for every seed, trained once from this seed (the paper distils every
   * student from one base model; saves the teacher's time on costly tasks). Unset: each
   * seed trains its own teacher, so the spread also covers teacher-to-teacher variation.
   */
  seed: NonNegativeInt,
});

/** Distillation knobs shared by every student (lib/distill/distill.ts DistillConfig fields). */
export const ExperimentDistill = t.partial({
  shift: Positive,
  lr: t.partial({ generator: Positive, fake: Positive }),
  updateRatio: PhaseSettings.props.updateRatio,
  margin: UnitInterval,
  renoise: t.keyof({ nested: null, disjoint: null }),
  gradient: t.keyof({ reference: null, paper: null, 'xs-normalised': null }),
  normaliser: t.keyof({ paper: null, dmd2: null }),
  stepper: t.keyof({ euler: null, 'x0-noise': null }),
  fakeTracks: t.keyof({ exit: null, rollout: null }),
  phasing: t.keyof({ sequential: null, concurrent: null }),
  betas: t.tuple([UnitInterval, UnitInterval]),
  weightDecay: NonNegative,
  ema: Probability,
  optimizer: t.partial({ generator: RoleOptimizer, fake: RoleOptimizer }),
  /** One-step DMD's regression term; the dmd student only. */
  regression: RegressionConfig,
  /**
   * The regression term of the few-step students (sgts, vanilla, phased): each step pulled towards the teacher's
   * path, with teacher forcing (docs/algorithm.md §3). Absent: they train without it.
   */
  fewStepRegression: RegressionConfig,
});

export const ExperimentClassifier = t.partial({
  /** A saved classifier (lib/metrics/classifier saveClassifier) instead of training one. */
  path: t.string,
  steps: StepCount,
  batchSize: BatchSize,
});

export const ExperimentConfig = t.intersection([
  t.type({ method: t.literal('experiment'), task: ExperimentTask }),
  t.partial({
    seeds: Seeds,
    methods: distinctList(
      ExperimentMethod,
      'distinct methods (at least one) of "teacher" | "dmd" | "vanilla" | "sgts" | "phased-4x2" | "phased-4x4"',
    ),
    budget: ExperimentBudget,
    /** CFG scale g: the teacher's sampler and the real score of every student's DMD loss. */
    guidance: NonNegative,
    /** Samples per evaluation (per method and seed). */
    samples: SampleCount,
    model: ModelSpec,
    condition: Condition,
    teacher: ExperimentTeacher,
    distill: ExperimentDistill,
    classifier: ExperimentClassifier,
    /**
     * Smaller images (tasks mnist and fashion-mnist): pooled, then cropped or padded to a side the U-Net and the
     * feature classifier take (a multiple of 4); the teacher, the students and the classifier all see them.
     */
    images: ImageShrink,
    /** Video toy options (task video). */
    video: VideoOptions,
    /** Dynamic-degree threshold, px/frame (task video). */
    motionThreshold: Positive,
    /** Rows per set used by the O(N²) metrics (energy, MMD, k-NN, Vendi). */
    evalPoints: EvalPoints,
    logEvery: PositiveInt,
  }),
]);
export type ExperimentConfig = t.TypeOf<typeof ExperimentConfig>;

export interface TaskDefaults {
  readonly data: DataConfig;
  readonly model: ModelSpec;
  readonly budget: { teacherSteps: number; teacherBatchSize: number; iterations: number; batchSize: number };
  readonly guidance: number;
  readonly samples: number;
  readonly condition: Condition;
  readonly teacher: t.TypeOf<typeof ExperimentTeacher>;
  /** Distillation settings of the task, under the config's `distill`. */
  readonly distill?: t.TypeOf<typeof ExperimentDistill>;
}

/**
 * 2-D tasks distil on the timestep distribution the teacher was trained on: unless the
 * config's `distill.shift` says otherwise, the students' shift is the teacher's
 * `timesteps.shift` (1 when unset; grid25's teacher trains with 0.3). The paper's shift 5
 * suits Wan-sized video latents; on 2-D points it puts 94 % of the re-noising draws above
 * t = .3, where every mode looks alike, and students lose modes. On grid25 (σ = .05 modes)
 * shift 1 left too few draws at the small t that separate its modes: Phased students came
 * out blurry (docs/results.md measures each).
 */
export const pointsShift = (teacher: t.TypeOf<typeof ExperimentTeacher>): t.TypeOf<typeof Positive> =>
  teacher.timesteps?.shift ?? (1 as t.TypeOf<typeof Positive>);

/**
 * One-step DMD's regression term on 2-D points (docs/algorithm.md §3): 8 000 regression-only
 * warm-up updates at lr 10⁻³ on 4 096 teacher pairs, then the DMD updates with λ_reg = 4.
 * Without it the one-step student kept 24–52 % of its samples within 3σ of a mode against
 * the teacher's 57–93 %, at every budget and setting tried; the warm-up costs about a
 * minute on 2 CPU cores (docs/results.md §2d). Only the dmd student takes it.
 */
export const POINTS_DMD_REGRESSION: t.TypeOf<typeof ExperimentDistill>['regression'] = {
  weight: 4,
  warmup: 8000,
  warmupLr: 1e-3,
} as t.TypeOf<typeof ExperimentDistill>['regression'];

/** An unconditional 2-D task with the model and budgets `phased-dmd train` picks for 2-D points. */
const unconditionalMixture = (name: MixtureName): TaskDefaults => ({
  data: { kind: 'mixture', name },
  model: { kind: 'mlp', hidden: [256, 256, 256], timeEmbedDim: 32 } as ModelSpec,
  // 512 updates: at 400 Phased 4×2 ended 12 points below the teacher within 3σ on one seed of uneven7
  budget: { teacherSteps: 3000, teacherBatchSize: 512, iterations: 512, batchSize: 256 },
  guidance: 1,
  samples: 2000,
  condition: 'none',
  teacher: {},
  distill: { regression: POINTS_DMD_REGRESSION },
});

/** A class-conditional image task (MNIST's layout) with the U-Net and budgets sized for 28×28 on 2 cores. */
const imageTask = (data: DataConfig): TaskDefaults => ({
  data,
  model: { kind: 'unet', width: 16, timeEmbedDim: 32 } as ModelSpec,
  budget: { teacherSteps: 4000, teacherBatchSize: 64, iterations: 200, batchSize: 32 },
  guidance: 2,
  samples: 500,
  condition: 'mode',
  teacher: {},
});

/** Defaults per task: sized for 2 CPU cores (measured figures in docs/results.md). */
export const TASK_DEFAULTS: Readonly<Record<ExperimentTask, TaskDefaults>> = {
  grid25: {
    data: { kind: 'mixture', name: 'grid25' },
    model: { kind: 'mlp', hidden: [128, 128, 128], timeEmbedDim: 16 } as ModelSpec,
    budget: { teacherSteps: 3000, teacherBatchSize: 256, iterations: 200, batchSize: 256 },
    guidance: 2,
    samples: 2000,
    condition: 'group',
    // σ = 0.05 modes: training weighted towards low noise resolves them sooner
    teacher: { lr: 0.002, timesteps: { shift: 0.3 } } as t.TypeOf<typeof ExperimentTeacher>,
    distill: { regression: POINTS_DMD_REGRESSION },
  },
  ring8: {
    data: { kind: 'mixture', name: 'ring8' },
    model: { kind: 'mlp', hidden: [128, 128, 128], timeEmbedDim: 16 } as ModelSpec,
    // 400 updates: at 200 no 4-step student came within 10 points of the teacher's share within 3σ
    budget: { teacherSteps: 1500, teacherBatchSize: 256, iterations: 400, batchSize: 256 },
    guidance: 2,
    samples: 2000,
    condition: 'group',
    teacher: {},
    distill: { regression: POINTS_DMD_REGRESSION },
  },
  // unconditional mixtures with unequal weights and spreads, at the `train` command's 2-D defaults
  uneven7: unconditionalMixture('uneven7'),
  rings2: {
    ...unconditionalMixture('rings2'),
    // 3 000 steps leave the teacher a diffuse disc (8 of 12 modes, 12 % within 3σ); its loss plateaus for thousands
    // of steps before the heavy, narrow inner modes form: 6 000 steps gave 12/12 and 84 %, 12 000 gave 91 %
    budget: { teacherSteps: 12000, teacherBatchSize: 512, iterations: 512, batchSize: 256 },
  },
  skew3: unconditionalMixture('skew3'),
  mnist: imageTask({ kind: 'mnist', split: 'train' }),
  'fashion-mnist': imageTask({ kind: 'fashion-mnist', split: 'train' }),
  video: {
    data: { kind: 'video' },
    // a U-Net over the frames stacked as channels (an MLP on the flat clips does not learn
    // them: loss plateau, noise samples); 10 000 steps ≈ 10 min on one core
    model: { kind: 'unet', width: 16, timeEmbedDim: 32 } as ModelSpec,
    budget: { teacherSteps: 10000, teacherBatchSize: 64, iterations: 200, batchSize: 64 },
    guidance: 2,
    samples: 256,
    condition: 'mode',
    // lr 2e-3 (β₂ = 0.999) diverged after ~4 500 steps; β₂ = 0.99 adapts to gradient spikes sooner
    teacher: { lr: 0.0015, betas: [0.9, 0.99] } as t.TypeOf<typeof ExperimentTeacher>,
  },
};

export const EXPERIMENT_DEFAULTS = {
  seeds: [0, 1, 2],
  methods: ['teacher', 'dmd', 'sgts', 'phased-4x2', 'phased-4x4'] as ExperimentMethod[],
  classifier: { steps: 1500, batchSize: 128 },
  motionThreshold: 0.5,
  evalPoints: 1000,
  logEvery: 100,
  /** Teacher sampler: 40 Euler steps (with CFG g = guidance). */
  teacherSampler: { steps: 40, method: 'euler' as const },
};

export interface ResolvedExperiment {
  readonly task: ExperimentTask;
  readonly data: DataConfig;
  readonly seeds: readonly number[];
  readonly methods: readonly ExperimentMethod[];
  readonly students: readonly StudentMethod[];
  readonly budget: TaskDefaults['budget'];
  readonly guidance: number;
  readonly samples: number;
  readonly model: ModelSpec;
  readonly condition: Condition;
  readonly teacher: t.TypeOf<typeof ExperimentTeacher>;
  readonly distill: t.TypeOf<typeof ExperimentDistill>;
  readonly classifier: { readonly path?: string; readonly steps: number; readonly batchSize: number };
  readonly motionThreshold: number;
  readonly evalPoints: number;
  readonly logEvery: number;
}

/** The tasks on MNIST-layout images: class-conditional, measured in a feature classifier's space. */
export type ImageTask = 'mnist' | 'fashion-mnist';
export const isImageTask = (task: ExperimentTask): task is ImageTask => task === 'mnist' || task === 'fashion-mnist';
const isMixture = (task: ExperimentTask): task is MixtureName => !isImageTask(task) && task !== 'video';

/** The side of an image task's samples (28, or what `images` makes of it); null for the other tasks. */
export const imageSide = (r: Pick<ResolvedExperiment, 'data'>): number | null =>
  r.data.kind === 'mnist' || r.data.kind === 'fashion-mnist' ? imageSideOf(r.data) : null;

/** Phases of a method's schedule (its generator-update budget is split evenly over them). */
export const phasesOf = (m: StudentMethod): number => (m === 'phased-4x2' ? 2 : m === 'phased-4x4' ? 4 : 1);

/** The (seed, method) runs in the order `runExperiment` runs them: each seed's teacher, then its students. */
export const experimentPlan = (r: ResolvedExperiment): PlannedRun[] =>
  r.seeds.flatMap((seed) => [
    ...(trainsTeacher(r, seed) ? [{ seed, method: 'teacher', totals: [r.budget.teacherSteps] }] : []),
    ...r.students.map((method) => ({
      seed,
      method,
      totals: Array<number>(phasesOf(method)).fill(r.budget.iterations / phasesOf(method)),
    })),
  ]);

/** A teacher shared by every seed (`teacher.seed`) trains once, at the first seed; the others reuse it. */
export const trainsTeacher = (r: ResolvedExperiment, seed: number): boolean =>
  r.teacher.seed === undefined || seed === r.seeds[0];

/** Checks between fields that the codec cannot express; each issue names its path. */
export const relationIssues = (c: ExperimentConfig, r: ResolvedExperiment): ConfigIssue[] => {
  const issues: ConfigIssue[] = [];
  if (r.samples < 2)
    issues.push({ path: 'samples', message: `expected at least 2 samples per evaluation, got ${r.samples}` });
  for (const m of r.students)
    if (r.budget.iterations % phasesOf(m) !== 0)
      issues.push({
        path: 'budget.iterations',
        message:
          `expected a multiple of ${phasesOf(m)} (method "${m}" splits it evenly over its phases, for an ` +
          `equal budget), got ${r.budget.iterations}`,
      });
  if (c.condition !== undefined && !isMixture(c.task))
    issues.push({
      path: 'condition',
      message: `only applies to the 2-D tasks; task "${c.task}" is conditioned on its classes`,
    });
  if (r.condition === 'group' && isMixture(r.task) && MODE_GROUPS[r.task] === undefined)
    issues.push({
      path: 'condition',
      message: `"group" is defined for grid25 and ring8; task "${r.task}" takes "none" or "mode"`,
    });
  if (r.condition === 'none' && r.guidance !== 1)
    issues.push({
      path: 'guidance',
      message: `expected 1 with condition "none" (CFG needs a condition), got ${r.guidance}`,
    });
  if (c.video !== undefined && c.task !== 'video')
    issues.push({ path: 'video', message: `only applies to task "video", not "${c.task}"` });
  if (c.classifier !== undefined && !isImageTask(c.task))
    issues.push({ path: 'classifier', message: `only applies to tasks "mnist" and "fashion-mnist", not "${c.task}"` });
  issues.push(...imageIssues(c));
  if (c.motionThreshold !== undefined && c.task !== 'video')
    issues.push({ path: 'motionThreshold', message: `only applies to task "video", not "${c.task}"` });
  if (r.model.kind === 'unet' && isMixture(r.task))
    issues.push({
      path: 'model.kind',
      message: `expected "mlp" for the 2-D task "${r.task}" (a U-Net needs images or clips), got "unet"`,
    });
  if (r.model.kind === 'unet' && r.task === 'video') {
    const size = c.video?.size ?? VIDEO_DEFAULTS.size;
    if (size % 4 !== 0)
      issues.push({
        path: 'video.size',
        message: `expected a multiple of 4 with model.kind "unet" (it halves each frame twice), got ${size}`,
      });
  }
  return issues;
};

/**
 * What `images` asks of an image task: a pool that divides 28, a centred crop or pad, and a side
 * of a multiple of 4 (the U-Net and the feature classifier both halve it twice).
 */
const imageIssues = (c: ExperimentConfig): ConfigIssue[] => {
  if (c.images === undefined) return [];
  if (!isImageTask(c.task))
    return [{ path: 'images', message: `only applies to tasks "mnist" and "fashion-mnist", not "${c.task}"` }];
  const shape = shrinkIssues(28, c.images, 'images');
  if (shape.length > 0) return shape;
  const side = imageSideOf({ kind: c.task, ...c.images });
  if (side % 4 === 0) return [];
  const pooled = 28 / (c.images.pool ?? 1);
  return [
    {
      path: c.images.size === undefined ? 'images.pool' : 'images.size',
      message:
        `expected a side that is a multiple of 4 (the U-Net and the feature classifier halve the image twice), ` +
        `got ${side}` +
        (c.images.size === undefined ? `; set images.size to ${pooled - 2} (crop) or ${pooled + 2} (pad)` : ''),
    },
  ];
};

/** An image task's images in words (the reports' setup line); null for the other tasks. */
export const describeImages = (r: Pick<ResolvedExperiment, 'data'>): string | null => {
  if (r.data.kind !== 'mnist' && r.data.kind !== 'fashion-mnist') return null;
  const side = imageSideOf(r.data);
  const pool = r.data.pool ?? 1;
  const pooled = 28 / pool;
  const edge = Math.abs(side - pooled) / 2;
  const px = (n: number) => `${n} pixel${n === 1 ? '' : 's'}`;
  const steps = [
    ...(pool > 1 ? [`averaged over ${pool}×${pool} blocks`] : []),
    ...(side < pooled ? [`cropped by ${px(edge)} each side`] : []),
    ...(side > pooled ? [`padded with ${px(edge)} of background each side`] : []),
  ];
  return (
    `${r.data.kind} images ${side}×${side}` + (steps.length > 0 ? ` (28×28 ${steps.join(', then ')})` : ' (as stored)')
  );
};

/** A lower bound of one sample's size (floats) and the network a model spec builds on a task's data. */
const taskNetwork = (r: Pick<ResolvedExperiment, 'task' | 'data' | 'model'>): { dim: number; net: NetworkSize } => {
  const video = r.data.kind === 'video' ? { ...VIDEO_DEFAULTS, ...r.data } : null;
  const side = imageSide(r);
  const size = side ?? (video !== null ? video.size : 1);
  const dim = side !== null ? side * side : video !== null ? video.frames * video.size * video.size : 2;
  const net =
    r.model.kind === 'mlp'
      ? mlpSize(r.model.hidden ?? MLP_DEFAULTS.hidden, r.model.timeEmbedDim ?? MLP_DEFAULTS.timeEmbedDim, dim)
      : unetSize(r.model.width ?? UNET_DEFAULTS.width, size);
  return { dim, net };
};

/**
 * What an experiment needs in memory, each stage a lower bound against this machine's memory:
 * training its teacher (weights kept 4 times, a batch's activations), distilling its largest
 * student (the frozen teacher, the generator and fake score of a phase with their Adam state,
 * earlier experts, a batch's activations), and evaluating (a seed's sample sets, the N²
 * pairwise distances of the metrics). Each refusal names the estimate and the field to change.
 */
export const experimentMemoryIssues = (r: ResolvedExperiment, budget = memoryBudget()): ConfigIssue[] => {
  const issues: ConfigIssue[] = [];
  const { dim, net } = taskNetwork(r);
  const model = r.model.kind === 'mlp' ? 'model.hidden' : 'model.width';
  const tooMuch = (bytes: number, what: string): string => tooMuchMemory(bytes, budget, what);
  const count = (n: number): string => n.toLocaleString('en-US');
  if (r.methods.includes('teacher') || r.students.length > 0) {
    const m = trainingMemory(net, r.budget.teacherBatchSize);
    if (m.bytes > budget)
      issues.push({
        path: m.path === 'batchSize' ? 'budget.teacherBatchSize' : model,
        message: tooMuch(
          m.bytes,
          `training the teacher: ${formatCount(m.weights)} weights, each kept 4 times for gradients and Adam, ` +
            `plus the activations of a batch of ${count(r.budget.teacherBatchSize)}`,
        ),
      });
  }
  const concurrent = r.distill.phasing === 'concurrent';
  const students = r.students.map((s) =>
    distillMemory(net, { phases: phasesOf(s), batch: r.budget.batchSize, concurrent }),
  );
  const worst = students.reduce<DistillMemoryEstimate | null>(
    (a, m) => (a === null || m.bytes > a.bytes ? m : a),
    null,
  );
  if (worst !== null && worst.bytes > budget)
    issues.push({
      path: worst.path === 'batchSize' ? 'budget.batchSize' : model,
      message: tooMuch(
        worst.bytes,
        `distilling a student: the frozen teacher and ${worst.trainedRoles} trained copies of its ` +
          `${formatCount(worst.weights)} weights (generator and fake score, each kept 4 times for gradients and ` +
          `Adam)` +
          (worst.frozenExperts > 0
            ? `, ${worst.frozenExperts} frozen expert${worst.frozenExperts === 1 ? '' : 's'} of finished phases`
            : '') +
          `, plus the activations of a batch of ${count(r.budget.batchSize)}`,
      ),
    });
  // a seed's sets side by side (reference, teacher, each student) and the metrics' pairwise distances
  const sets = 2 + r.students.length;
  const setBytes = 4 * sets * r.samples * dim;
  const points = Math.min(r.samples, r.evalPoints);
  const pairs = pairwiseMemory(points);
  if (setBytes + pairs > budget)
    issues.push({
      path: pairs > setBytes ? 'evalPoints' : 'samples',
      message: tooMuch(
        setBytes + pairs,
        `evaluating: ${sets} sets of ${count(r.samples)} samples of ${count(dim)} values, and the pairwise ` +
          `distances of ${count(points)} points per set for the O(N²) metrics`,
      ),
    });
  return issues;
};

export const resolveExperiment = (
  c: ExperimentConfig,
  what = 'experiment config',
  budget = memoryBudget(),
): ResolvedExperiment => {
  const d = TASK_DEFAULTS[c.task];
  const methods = c.methods ?? EXPERIMENT_DEFAULTS.methods;
  const r: ResolvedExperiment = {
    task: c.task,
    data:
      c.task === 'video'
        ? ({ kind: 'video', ...c.video } as DataConfig)
        : c.images !== undefined && isImageTask(c.task)
          ? ({ ...d.data, ...c.images } as DataConfig)
          : d.data,
    seeds: c.seeds ?? EXPERIMENT_DEFAULTS.seeds,
    methods,
    students: methods.filter((m): m is StudentMethod => m !== 'teacher'),
    budget: { ...d.budget, ...c.budget },
    guidance: c.guidance ?? (c.condition === 'none' ? 1 : d.guidance),
    samples: c.samples ?? d.samples,
    model: c.model ?? d.model,
    condition: c.condition ?? d.condition,
    teacher: { ...d.teacher, ...c.teacher },
    distill: {
      ...(isMixture(c.task) ? { shift: pointsShift({ ...d.teacher, ...c.teacher }) } : {}),
      ...d.distill,
      ...c.distill,
    },
    classifier: { ...EXPERIMENT_DEFAULTS.classifier, ...c.classifier },
    motionThreshold: c.motionThreshold ?? EXPERIMENT_DEFAULTS.motionThreshold,
    evalPoints: c.evalPoints ?? EXPERIMENT_DEFAULTS.evalPoints,
    logEvery: c.logEvery ?? EXPERIMENT_DEFAULTS.logEvery,
  };
  const relations = relationIssues(c, r);
  // the estimate assumes fields that agree with each other
  const issues = relations.length > 0 ? relations : experimentMemoryIssues(r, budget);
  if (issues.length > 0) throw new ConfigError(what, issues);
  return r;
};

/** Decodes and resolves an experiment config: every problem at once, each with its path (unknown fields refused). */
export const decodeExperiment = (input: unknown, what = 'experiment config'): ResolvedExperiment => {
  const decoded = decodeWith(ExperimentConfig)(input);
  const unknown = unknownFields(ExperimentConfig, input);
  if (E.isLeft(decoded) || unknown.length > 0)
    throw new ConfigError(what, [...(E.isLeft(decoded) ? decoded.left : []), ...unknown]);
  return resolveExperiment(decoded.right, what);
};

// ── 2. What each seed trains ─────────────────────────────────────────────────

/** The teacher of one seed, as a lib/teacher/teacher.ts config. */
export const teacherConfigFor = (r: ResolvedExperiment, seed: number): TeacherConfig =>
  ({
    method: 'teacher',
    data: r.data,
    model: r.model,
    seed,
    steps: r.budget.teacherSteps,
    batchSize: r.budget.teacherBatchSize,
    sampler: { ...EXPERIMENT_DEFAULTS.teacherSampler, guidance: r.guidance },
    logEvery: r.logEvery,
    ...r.teacher,
  }) as TeacherConfig;

/** Where a teacher lives: keyed by its config and the labels it was trained on. */
export const teacherKey = (r: ResolvedExperiment, seed: number): string =>
  configHash({ teacher: teacherConfigFor(r, seed), condition: r.condition }).slice(0, 16);

/** One student's distillation config (lib/distill/distill.ts): same budget, batch and guidance for every method. */
export const distillConfigFor = (
  r: ResolvedExperiment,
  method: StudentMethod,
  seed: number,
  teacherFile: string,
): Record<string, unknown> => ({
  method: (method.startsWith('phased') ? 'phased' : method) as DistillMethod,
  ...(method === 'phased-4x2' ? { preset: '4x2' } : method === 'phased-4x4' ? { preset: '4x4' } : {}),
  teacher: teacherFile,
  seed,
  steps: method === 'dmd' ? 1 : 4,
  iterations: r.budget.iterations,
  batchSize: r.budget.batchSize,
  guidance: r.guidance,
  logEvery: r.logEvery,
  ...studentDistill(r.distill, method),
});

/**
 * The shared distillation settings as one student takes them: `regression` goes to dmd, `fewStepRegression` (as
 * its `regression`) to every other student.
 */
export const studentDistill = (
  distill: t.TypeOf<typeof ExperimentDistill>,
  method: StudentMethod,
): Omit<t.TypeOf<typeof ExperimentDistill>, 'fewStepRegression'> => {
  const { fewStepRegression, ...shared } = distill;
  if (method === 'dmd') return shared;
  const { regression: _dmdOnly, ...rest } = shared;
  return fewStepRegression === undefined ? rest : { ...rest, regression: fewStepRegression };
};

/**
 * The report lines naming what each student trained with: the settings every student shares, then one-step DMD's
 * regression term and the few-step students' (when set).
 */
export const studentVariantLines = (distill: t.TypeOf<typeof ExperimentDistill>, every: string): string[] => {
  const { regression, fewStepRegression, ...shared } = distill;
  const c = shared as Partial<DistillConfig>;
  const dmd = describeRegression(regression, c);
  const fewStep = describeRegression(fewStepRegression, c);
  return [
    `- ${every}: ${describeVariant(c)}`,
    ...(dmd === null ? [] : [`- dmd adds ${dmd}`]),
    ...(fewStep === null ? [] : [`- the 4-step students add ${fewStep}`]),
  ];
};

/** Seeds of the sample sets: the students share the teacher's evaluation noise and labels. */
export const evalSeed = (seed: number): number => splitSeed(seed, 'experiment', 'eval');
export const referenceSeed = (seed: number): number => splitSeed(seed, 'experiment', 'reference');

/** Balanced labels: sample i has class i mod C (equal groups for the per-class metrics); null when unconditional. */
export const balancedLabels = (n: number, numClasses: number): Int32Array | null =>
  numClasses > 0 ? Int32Array.from({ length: n }, (_, i) => i % numClasses) : null;

// ── 3. The data ──────────────────────────────────────────────────────────────

/**
 * Mode → class of the `group` condition: grid25 rows (5 classes of 5 modes), ring8 alternate modes (2 classes of 4).
 */
export const MODE_GROUPS: Readonly<
  Partial<Record<MixtureName, { readonly classes: number; readonly of: (mode: number) => number }>>
> = {
  grid25: { classes: 5, of: (k) => Math.floor(k / 5) },
  ring8: { classes: 2, of: (k) => k % 2 },
};

/** The dataset a task trains on, with the labels the condition asks for. */
export const experimentDataset = (r: ResolvedExperiment): Dataset => {
  const base = E.getOrElseW((e: Error) => {
    throw e;
  })(loadDataset(r.data));
  if (!isMixture(r.task) || r.condition === 'mode') return base;
  if (r.condition === 'none')
    return {
      ...base,
      name: `${base.name} (unconditional)`,
      numClasses: 0,
      sample: (b, s) => {
        const batch = base.sample(b, s);
        batch.labels?.dispose();
        return { x0: batch.x0, labels: null };
      },
    };
  const group = MODE_GROUPS[r.task]!;
  const table = Int32Array.from({ length: base.numClasses }, (_, k) => group.of(k));
  return {
    ...base,
    name: `${base.name} (${group.classes} groups)`,
    numClasses: group.classes,
    sample: (b, s) => {
      const batch = base.sample(b, s);
      const labels =
        batch.labels === null
          ? null
          : tf.tidy(() => tf.gather(tf.tensor1d(table, 'int32'), batch.labels!) as tf.Tensor1D);
      batch.labels?.dispose();
      return { x0: batch.x0, labels };
    },
  };
};

// ── 4. The run ───────────────────────────────────────────────────────────────

export const EXPERIMENT_FILE = 'experiment.json';
export const RECORDING = RECORDING_FILE;
export const teacherDir = (out: string, key: string): string => path.join(out, 'teachers', key);
export const seedDir = (out: string, seed: number): string => path.join(out, `seed-${seed}`);
export const methodDir = (out: string, seed: number, method: ExperimentMethod): string =>
  path.join(seedDir(out, seed), method);
/**
 * The feature classifier of an image task, keyed by its dataset and image size: MNIST as stored
 * keeps the directory every earlier run used, smaller or other images get their own.
 */
export const classifierFile = (out: string, r: Pick<ResolvedExperiment, 'data'>): string =>
  path.join(out, 'classifier', ...classifierKey(r), 'classifier.ckpt');

/** [] for MNIST as stored; else ["<dataset>-<side>px-pool<k>"]. */
const classifierKey = (r: Pick<ResolvedExperiment, 'data'>): string[] => {
  if (r.data.kind !== 'mnist' && r.data.kind !== 'fashion-mnist') return [];
  const pool = r.data.pool ?? 1;
  const side = imageSideOf(r.data);
  return r.data.kind === 'mnist' && pool === 1 && side === 28 ? [] : [`${r.data.kind}-${side}px-pool${pool}`];
};

/** What a classifier's checkpoint says it was trained on (its images' dataset, split and size). */
export const classifierTrainedOn = (r: Pick<ResolvedExperiment, 'data'>): string => {
  const key = classifierKey(r);
  return key.length === 0 ? 'mnist train' : `${key[0]} train`;
};

export interface ExperimentOptions {
  readonly outDir: string;
  readonly log?: (line: string) => void;
  /** Where the metric lines (every logEvery steps) go; default `log`. */
  readonly metricLog?: (line: string) => void;
  readonly onStep?: (m: StepMetrics) => void;
  /** Called as each (seed, method) run starts (a progress display's run label and ETA). */
  readonly onRun?: (run: RunStart) => void;
  /** Teacher steps between progress checkpoints (default TEACHER_CHECKPOINT_EVERY). */
  readonly checkpointEvery?: number;
}

export interface ExperimentResult {
  readonly outDir: string;
  readonly report: string;
  readonly results: string;
  readonly files: readonly string[];
  readonly seconds: number;
  /** (seed, method) runs reused from an earlier run in the same directory. */
  readonly reused: readonly string[];
}

/**
 * A finished recording of this config whose samples have the size asked for: reused instead of rerun.
 * `runDir` is the run directory: a teacher path within it matches wherever the directory is now.
 */
const finished = (
  file: string,
  runDir: string,
  config: unknown,
  names: readonly string[],
  samples: number,
  checkpoint?: string,
): boolean => {
  if (!fs.existsSync(file)) return false;
  const s = summariseRecording(file, { onIssue: () => undefined });
  if (E.isLeft(s)) return false;
  const r: RecordingSummary = s.right;
  if (r.status !== 'complete' || !sameRunConfig(r.header.config, config, runDir)) return false;
  // by name: the recording sits next to its checkpoint, and a moved or copied run directory stays reusable
  if (checkpoint !== undefined && !r.checkpoints.some((c) => path.basename(c.file) === path.basename(checkpoint)))
    return false;
  return names.every((n) => r.samples.some((x) => x.name === n && x.x.shape[0] === samples));
};

export const openRecording = (file: string, config: unknown, seed: number, kind: string): RecordingWriter => {
  keepAside(file);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return E.getOrElseW((e: Error) => {
    throw e;
  })(RecordingWriter.create(file, makeHeader({ config, seed, kind })));
};

/** Draws n samples in chunks (bounded memory), chunk i from its own seed; host values and labels. */
export const sampleInChunks = (
  draw: (n: number, seed: number, labels: Int32Array | null) => { x: tf.Tensor; labels: tf.Tensor1D | null },
  n: number,
  seed: number,
  labels: Int32Array | null,
  chunk: number,
): { values: Float32Array; shape: number[]; labels: Int32Array | null } => {
  const parts: Float32Array[] = [];
  let shape: number[] = [];
  for (let i = 0, k = 0; i < n; i += chunk, k++) {
    const m = Math.min(chunk, n - i);
    const s = draw(m, splitSeed(seed, 'chunk', k), labels === null ? null : labels.slice(i, i + m));
    parts.push(s.x.dataSync() as Float32Array);
    shape = s.x.shape.slice(1);
    tf.dispose([s.x, ...(s.labels ? [s.labels] : [])]);
  }
  const values = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((off, p) => (values.set(p, off), off + p.length), 0);
  return { values, shape: [n, ...shape], labels };
};

/** Appends a host sample set to a recording as a `sample` event. */
export const recordSamples = (
  sink: RecordingWriter,
  name: string,
  s: { values: Float32Array; shape: number[]; labels: Int32Array | null },
  at: { phase: number; step: number },
  nfe: number,
): void => {
  const x = tf.tensor(s.values, s.shape);
  const labels = s.labels === null ? null : (tf.tensor1d(s.labels, 'int32') as tf.Tensor1D);
  sink.append(eventOf({ type: 'sample', name, phase: at.phase, step: at.step, x, labels, nfe }));
  tf.dispose([x, ...(labels ? [labels] : [])]);
};

export const chunkFor = (r: ResolvedExperiment): number =>
  isImageTask(r.task) ? 100 : r.task === 'video' ? 128 : 4000;

/** Teacher steps between progress checkpoints, unless the options say otherwise. */
export const TEACHER_CHECKPOINT_EVERY = 100;

/**
 * Where an interrupted training of this teacher stopped: its progress checkpoint (the teacher
 * file before it is complete), next to an unfinished recording of the same config; else null
 * (a stale or unreadable checkpoint is kept aside).
 */
const resumableTeacher = (file: string, recording: string, config: unknown): TeacherProgress | null => {
  if (!fs.existsSync(file)) return null;
  const rec = fs.existsSync(recording) ? summariseRecording(recording, { onIssue: () => undefined }) : null;
  const same =
    rec !== null &&
    E.isRight(rec) &&
    rec.right.status !== 'complete' &&
    rec.right.header.configHash === configHash(config);
  const saved = same ? readTeacherProgress(file, configHash(config)) : null;
  if (saved !== null && E.isRight(saved)) return saved.right;
  keepAside(file);
  return null;
};

/**
 * A teacher for one seed: loaded from the cache, or trained (recorded) and cached. Training
 * writes a progress checkpoint (weights and Adam state) every `checkpointEvery` steps into
 * the teacher's file, so a killed run continues from the last one, appending to the same
 * recording, and ends with the numbers an uninterrupted run gives.
 */
export const ensureTeacher = async (
  r: ResolvedExperiment,
  seed: number,
  dataset: Dataset,
  o: ExperimentOptions,
): Promise<{ model: VelocityModel; modelConfig: ModelConfig; file: string; reused: boolean }> => {
  const input = teacherConfigFor(r, seed);
  const dir = teacherDir(o.outDir, teacherKey(r, seed));
  const file = path.join(dir, TEACHER_CHECKPOINT);
  const recFile = path.join(dir, RECORDING);
  const config = resolveTeacherConfig(input);
  const every = o.checkpointEvery ?? TEACHER_CHECKPOINT_EVERY;
  if (!(Number.isInteger(every) && every >= 1))
    throw new RangeError(`checkpointEvery: expected a positive integer, got ${every}`);
  if (fs.existsSync(file) && finished(recFile, o.outDir, input, [], 0, file)) {
    const t = loadTeacher(file);
    if (E.isRight(t)) return { ...t.right, file, reused: true };
    o.log?.(`teacher cache ${file} is unreadable (${t.left.message}); training again`);
  }
  const progress = resumableTeacher(file, recFile, input);
  const from = Math.min(progress?.step ?? 0, config.steps);
  const resumed = progress === null ? '' : `, resumed at step ${from}`;
  o.log?.(`seed ${seed}: training the teacher (${config.steps} steps, batch ${config.batchSize})${resumed} → ${file}`);
  const modelConfig = modelConfigFor(config.model, dataset, splitSeed(config.seed, 'init'));
  const model = buildModel(modelConfig);
  const trainer = makeTrainer(
    model.params.variables,
    { lr: config.lr, betas: config.betas },
    { lr: config.lr, betas: config.betas },
  );
  if (progress !== null)
    try {
      model.params.write(progress.weights, `${file}: teacher`);
      restoreAdamState(trainer.optimizer, progress.adam, trainer.variables, `${file}: optimiser state`);
    } catch (err) {
      // a checkpoint that does not fit this model is kept aside and the teacher trained from the start,
      // so a retried job does not fail on it again
      trainer.optimizer.dispose();
      model.dispose();
      keepAside(file);
      o.log?.(`teacher progress ${file} does not fit (${(err as Error).message}); training from the start`);
      return ensureTeacher(r, seed, dataset, o);
    }
  let sink: RecordingWriter | null = null;
  try {
    fs.mkdirSync(dir, { recursive: true });
    sink =
      progress === null
        ? openRecording(recFile, input, seed, 'teacher')
        : E.getOrElseW((e: Error) => {
            throw e;
          })(RecordingWriter.resume(recFile, { config: input, phase: 0, step: from }));
    const out = sink;
    // the checkpoint format of every teacher run (lib/teacher/teacher.ts), plus the labels it was trained on
    const save = (step: number): void => {
      const data = teacherCheckpointData({
        weights: model.params.read(),
        adam: captureAdamState(trainer.optimizer),
        modelConfig,
        config,
        input,
        step,
      });
      saveCheckpoint(file, { ...data, meta: { ...data.meta, condition: r.condition } });
      out.append({ type: 'checkpoint', phase: 0, step, file });
      out.sync();
    };
    await teacherLoop({ dataset, model, trainer }, config, {
      from,
      through: record<StepMetrics>(out),
      log: o.metricLog ?? o.log,
      onStep: (m) => {
        o.onStep?.(m);
        const done = m.key.step + 1;
        if (done < config.steps && done % every === 0) save(done);
      },
    });
    save(config.steps);
    out.append({ type: 'end', status: 'complete', phase: 0, step: config.steps });
  } catch (err) {
    sink?.append({ type: 'end', status: 'failed', message: (err as Error).message });
    model.dispose();
    throw err;
  } finally {
    trainer.optimizer.dispose();
    sink?.close();
  }
  model.params.setTrainable(false);
  return { model, modelConfig, file, reused: false };
};

/** The teacher's reference and evaluation sample sets of one seed (40 Euler steps, CFG). */
export const teacherSamples = (
  r: ResolvedExperiment,
  seed: number,
  teacher: { model: VelocityModel; file: string },
  o: ExperimentOptions,
): boolean => {
  const input = teacherConfigFor(r, seed);
  const file = path.join(methodDir(o.outDir, seed, 'teacher'), RECORDING);
  if (finished(file, o.outDir, input, ['teacher', 'reference'], r.samples, teacher.file)) return true;
  const nfe = teacherNfe({ ...EXPERIMENT_DEFAULTS.teacherSampler, guidance: r.guidance }, teacher.model.numClasses);
  o.log?.(`seed ${seed}: sampling the teacher (${r.samples} × 2 sets, ${nfe} NFE each)`);
  const sink = openRecording(file, input, seed, 'teacher');
  try {
    const labels = balancedLabels(r.samples, teacher.model.numClasses);
    const sampler = { ...EXPERIMENT_DEFAULTS.teacherSampler, guidance: r.guidance };
    const draw = (n: number, s: number, l: Int32Array | null) =>
      sampleTeacher(teacher.model, { n, seed: s, labels: l, sampler });
    const at = { phase: 0, step: r.budget.teacherSteps };
    recordSamples(
      sink,
      'reference',
      sampleInChunks(draw, r.samples, referenceSeed(seed), labels, chunkFor(r)),
      at,
      nfe,
    );
    recordSamples(sink, 'teacher', sampleInChunks(draw, r.samples, evalSeed(seed), labels, chunkFor(r)), at, nfe);
    sink.append({ type: 'checkpoint', ...at, file: teacher.file });
    sink.append({ type: 'end', status: 'complete', ...at });
  } catch (err) {
    sink.append({ type: 'end', status: 'failed', message: (err as Error).message });
    throw err;
  } finally {
    sink.close();
  }
  return false;
};

/** Where an interrupted student run stopped, as its progress checkpoint and recording say. */
export interface ResumePoint {
  readonly phase: number;
  readonly step: number;
  /** The config as the recording's header has it (its teacher path as the run was started). */
  readonly recorded: unknown;
  /** Training time the recording holds already (recorded update times), seconds. */
  readonly seconds: number;
}

/**
 * Where an interrupted run of this student config stopped: its progress checkpoint, next to
 * an unfinished recording of the same config; else null (a stale checkpoint is kept aside).
 */
const resumableStudent = (runDir: string, dir: string, recording: string, config: unknown): ResumePoint | null => {
  const progress = path.join(dir, PROGRESS_CHECKPOINT);
  if (!fs.existsSync(progress)) return null;
  const saved = loadDistillState(progress);
  const rec = fs.existsSync(recording) ? summariseRecording(recording, { onIssue: () => undefined }) : null;
  const summary = rec !== null && E.isRight(rec) && rec.right.status !== 'complete' ? rec.right : null;
  if (E.isRight(saved) && summary !== null && sameRunConfig(summary.header.config, config, runDir))
    return {
      phase: saved.right.phase,
      step: saved.right.iterations,
      recorded: summary.header.config,
      seconds: summary.series.reduce((a, x) => a + x.ms.reduce((b, m) => b + m, 0), 0) / 1000,
    };
  keepAside(progress);
  return null;
};

/** What `withStudentRun` hands its body: where the run starts, and the options that make trainDistill resume. */
export interface StudentRun {
  readonly from: ResumePoint | null;
  /** `outDir` (progress and student checkpoints), plus `resume` when continuing. */
  readonly progress: { outDir: string; resume?: string };
}

/**
 * Runs one student's training with its recording. An interrupted run of the same config (a
 * progress checkpoint in `dir` beside its unfinished recording, and `accept` agreeing) continues
 * from that checkpoint and appends to its recording, so a killed run loses at most the updates
 * since its last checkpoint; otherwise the run starts afresh and an earlier recording is kept
 * aside. A failure is recorded as the run's end before it propagates; the recording is closed
 * either way, and the progress checkpoint removed once the body has finished.
 */
export const withStudentRun = async <T>(
  run: { runDir: string; dir: string; recording: string; config: unknown; seed: number; kind: string },
  body: (sink: RecordingWriter, r: StudentRun) => Promise<T>,
  accept: (from: ResumePoint) => boolean = () => true,
): Promise<T> => {
  const found = resumableStudent(run.runDir, run.dir, run.recording, run.config);
  const progressFile = path.join(run.dir, PROGRESS_CHECKPOINT);
  const from = found !== null && accept(found) ? found : null;
  if (found !== null && from === null) keepAside(progressFile);
  fs.mkdirSync(run.dir, { recursive: true });
  const sink =
    from === null
      ? openRecording(run.recording, run.config, run.seed, run.kind)
      : E.getOrElseW((e: Error) => {
          throw e;
        })(RecordingWriter.resume(run.recording, { config: from.recorded, phase: from.phase, step: from.step }));
  try {
    const result = await body(sink, {
      from,
      progress: { outDir: run.dir, ...(from === null ? {} : { resume: progressFile }) },
    });
    // the student checkpoint (or the cells drawn from the run) supersedes the progress one
    fs.rmSync(progressFile, { force: true });
    return result;
  } catch (err) {
    sink.append({ type: 'end', status: 'failed', message: (err as Error).message });
    throw err;
  } finally {
    sink.close();
  }
};

/** One student: distilled with the shared budget (recorded), saved, sampled (4 NFE, or 1 for DMD; no CFG). */
export const runStudent = async (
  r: ResolvedExperiment,
  seed: number,
  method: StudentMethod,
  teacher: { model: VelocityModel; modelConfig: ModelConfig; file: string },
  o: ExperimentOptions,
): Promise<boolean> => {
  const input = distillConfigFor(r, method, seed, teacher.file);
  const dir = methodDir(o.outDir, seed, method);
  const file = path.join(dir, RECORDING);
  const ckpt = path.join(dir, STUDENT_CHECKPOINT);
  if (fs.existsSync(ckpt) && finished(file, o.outDir, input, [method], r.samples, ckpt)) return true;
  keepAside(ckpt);
  const budget = `${r.budget.iterations} generator updates, batch ${r.budget.batchSize}`;
  // an interrupted run of this student (a killed process or worker) continues from its progress checkpoint
  await withStudentRun(
    { runDir: o.outDir, dir, recording: file, config: input, seed, kind: method },
    async (sink, run) => {
      const resumed = run.from === null ? '' : `, resumed at phase ${run.from.phase + 1} step ${run.from.step}`;
      o.log?.(`seed ${seed}: distilling ${method} (${budget})${resumed}`);
      let experts: readonly ExpertPhase[] = [];
      try {
        const onStep = o.onStep ? { onStep: o.onStep } : {};
        const log = o.metricLog ?? o.log;
        const result = await trainDistill(input, { teacher, ...run.progress, log, ...onStep, through: record(sink) });
        experts = result.experts;
        const last = result.phases.length - 1;
        const at = { phase: last, step: result.phases[last].iterations };
        saveStudent(ckpt, {
          method: input.method as DistillMethod,
          modelConfig: teacher.modelConfig,
          experts,
          config: withDefaults(input as DistillConfig),
        });
        const labels = balancedLabels(r.samples, teacher.model.numClasses);
        const draw = (n: number, s: number, l: Int32Array | null) => sampleStudent(experts, { n, seed: s, labels: l });
        recordSamples(
          sink,
          method,
          sampleInChunks(draw, r.samples, evalSeed(seed), labels, chunkFor(r)),
          at,
          studentNfe(experts),
        );
        sink.append({ type: 'checkpoint', ...at, file: ckpt });
        sink.append({ type: 'end', status: 'complete', ...at });
      } finally {
        experts.forEach((e) => e.expert.dispose());
      }
    },
  );
  return false;
};

/** A split of an image task's data, at the task's image size (what its classifier trains and is tested on). */
const imageSplit = (r: ResolvedExperiment, split: 'train' | 'test'): IndexedDataset => {
  if (r.data.kind !== 'mnist' && r.data.kind !== 'fashion-mnist')
    throw new Error(`task "${r.task}" has no feature classifier (image tasks only)`);
  const shrink = { ...(r.data.pool ? { pool: r.data.pool } : {}), ...(r.data.size ? { size: r.data.size } : {}) };
  return E.getOrElseW((e: Error) => {
    throw e;
  })(
    r.data.kind === 'mnist' ? loadMnist(split, undefined, shrink) : loadFashionMnist(split, fashionMnistDirs(), shrink),
  );
};

/** Why a loaded classifier cannot measure this task's images (another size), or null when it can. */
const classifierMismatch = (c: FeatureClassifier, r: ResolvedExperiment): string | null => {
  const side = imageSide(r);
  const [h, w, ch] = c.inputShape;
  return side === null || (h === side && w === side && ch === 1)
    ? null
    : `expected a classifier of [${side}, ${side}, 1] images (the task's), got [${h}, ${w}, ${ch}]`;
};

/**
 * Image tasks: the feature classifier of the image metrics — the given one, or trained once per
 * run directory on the task's dataset at the task's image size.
 */
export const ensureClassifier = (
  r: ResolvedExperiment,
  outDir: string,
  log?: (l: string) => void,
): FeatureClassifier => {
  const file = r.classifier.path ?? classifierFile(outDir, r);
  if (fs.existsSync(file)) {
    const c = loadClassifier(file);
    const mismatch = E.isRight(c) ? classifierMismatch(c.right, r) : c.left.message;
    if (E.isRight(c) && mismatch === null) return c.right;
    if (E.isRight(c)) c.right.dispose();
    else if (r.classifier.path !== undefined) throw c.left;
    if (r.classifier.path !== undefined)
      throw new ConfigError('experiment config', [{ path: 'classifier.path', message: `${file}: ${mismatch}` }]);
    keepAside(file);
  } else if (r.classifier.path !== undefined)
    throw new ConfigError('experiment config', [{ path: 'classifier.path', message: `no file at ${file}` }]);
  const train = imageSplit(r, 'train');
  const test = imageSplit(r, 'test');
  log?.(`training the feature classifier (${r.classifier.steps} steps, batch ${r.classifier.batchSize}) → ${file}`);
  const trained = trainFeatureClassifier(train, {
    steps: r.classifier.steps,
    batchSize: r.classifier.batchSize,
    test,
    seed: 0,
  });
  log?.(
    `feature classifier: test accuracy ${((trained.accuracy ?? 0) * 100).toFixed(2)} % ` +
      `(${trained.seconds.toFixed(0)} s)`,
  );
  saveClassifier(file, trained.classifier, {
    trainedOn: classifierTrainedOn(r),
    testAccuracy: trained.accuracy,
    steps: r.classifier.steps,
  });
  return trained.classifier;
};

/**
 * Writes the config as given to `<outDir>/<file>` (`experiment.json`; a sweep's `sweep.json`),
 * what every later run and worker reads; a different earlier one is kept aside.
 */
export const writeManifest = (input: unknown, outDir: string, file: string = EXPERIMENT_FILE): void => {
  fs.mkdirSync(outDir, { recursive: true });
  const manifest = path.join(outDir, file);
  const text = `${JSON.stringify(input, null, 2)}\n`;
  if (fs.existsSync(manifest) && fs.readFileSync(manifest, 'utf8') !== text) keepAside(manifest);
  if (!fs.existsSync(manifest)) writeFileAtomic(manifest, text);
};

/**
 * Runs the experiment into `outDir` and rebuilds its report from the recordings. Runs
 * already finished in that directory with the same config are reused (an interrupted
 * experiment continues where it stopped, at the granularity of one (seed, method)).
 */
export const runExperiment = async (input: unknown, o: ExperimentOptions): Promise<ExperimentResult> => {
  const started = performance.now();
  const r = decodeExperiment(input);
  writeManifest(input, o.outDir);
  if (isImageTask(r.task)) ensureClassifier(r, o.outDir, o.log).dispose();
  const dataset = experimentDataset(r);
  const reused: string[] = [];
  const plan = experimentPlan(r);
  const starts = (seed: number, method: ExperimentMethod): void =>
    o.onRun?.({ index: plan.findIndex((p) => p.seed === seed && p.method === method), runs: plan });
  for (const seed of r.seeds) {
    const seedStart = performance.now();
    if (trainsTeacher(r, seed)) starts(seed, 'teacher');
    const teacher = await ensureTeacher(r, seed, dataset, o);
    try {
      if (teacher.reused) reused.push(`seed ${seed} teacher (training)`);
      if (teacherSamples(r, seed, teacher, o)) reused.push(`seed ${seed} teacher (samples)`);
      for (const method of r.students) {
        starts(seed, method);
        if (await runStudent(r, seed, method, teacher, o)) reused.push(`seed ${seed} ${method}`);
      }
    } finally {
      teacher.model.dispose();
    }
    o.log?.(`seed ${seed} done in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
  }
  o.onRun?.({ index: plan.length, runs: plan }); // every run is over
  if (reused.length > 0) o.log?.(`reused from an earlier run: ${reused.join(', ')}`);
  const { buildExperimentReport } = await import('./experimentReport');
  const report = await buildExperimentReport(o.outDir, {
    log: o.log,
    runSeconds: (performance.now() - started) / 1000,
  });
  return {
    outDir: o.outDir,
    report: report.report,
    results: report.results,
    files: report.files,
    seconds: (performance.now() - started) / 1000,
    reused,
  };
};
