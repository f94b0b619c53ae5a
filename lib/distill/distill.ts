/**
 * Distillation: one-step DMD, vanilla few-step DMD, DMD with SGTS, and Phased DMD —
 * one engine, four schedules (docs/algorithm.md §3–5):
 *
 *   dmd      one phase (1 → 0), 1 step
 *   sgts     one phase (1 → 0), N steps, gradient through a random exit step only
 *   vanilla  one phase (1 → 0), N steps, gradient through the whole chain
 *   phased   K phases, each with its own expert and fake score (default 4 steps / 2 phases)
 *
 * Read top to bottom: config → schedule for the method → phase segments concatenated
 * into one stream → the mixture-of-experts student → checkpoint.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import * as path from 'path';
import { Observable, MonoTypeOperatorFunction, lastValueFrom, tap, toArray, filter, identity } from 'rxjs';
import {
  NonNegativeInt,
  PositiveInt,
  Positive,
  NonNegative,
  UnitInterval,
  Probability,
  StepCount,
  SamplerSteps,
} from '../config/primitives';
import { decodeOrThrow, decodeWith, ConfigError } from '../config/report';
import { PhasedSchedule, PhaseSettings } from '../phases/segment';
import { resolveSchedule, ResolvedPhase, scheduleGrid } from '../phases/resolve';
import { concatSegments, isPhaseEnd, PhaseEnd } from '../phases/concat';
import { compilePhase, DistillState, DistillSettings, PhaseRoles } from './segment';
import { concurrentPhases } from './concurrent';
import {
  saveProgress,
  saveDistillState,
  loadDistillState,
  frozenExperts,
  restoreRoles,
  SavedDistillState,
} from './checkpoint';
import { LoraConfig, LoraModel, plainWeights } from '../models/lora';
import { splitSeed } from '../random/seed';
import { NonFiniteLossError } from '../operators/optimise/optimise';
import type { ExpertPhase, FakeTracks, GeneratorBackprop, Stepper } from '../rollout/context';
import type { GeneratorGradient } from '../losses/dmd';
import type { StepMetrics } from '../stream/types';
import type { VelocityModel } from '../models/types';
import { ModelConfig } from '../models/config';
import { buildModel } from '../models/build';
import { logMetrics } from '../operators/taps/logMetrics';
import { PROGRESS_CHECKPOINT, STUDENT_CHECKPOINT } from '../checkpoint/files';
import { saveCheckpoint, loadCheckpoint, withPrefix, tensorsUnder, CheckpointError } from '../checkpoint/format';
import { TeacherConfig, trainTeacher, loadTeacher } from '../teacher/teacher';
import { phaseLabel } from '../phases/label';
import { RegressionConfig, regressionFor, regressionTerm, teacherPairs } from './regression';
import { disposePairs } from '../losses/regression';

// ── 1. Config ────────────────────────────────────────────────────────────────

export const DistillMethod = t.keyof({ dmd: null, vanilla: null, sgts: null, phased: null });
export type DistillMethod = t.TypeOf<typeof DistillMethod>;

export const SchedulePreset = t.keyof({ '4x2': null, '4x4': null });
export type SchedulePreset = t.TypeOf<typeof SchedulePreset>;

/** One role's optimiser beyond its learning rate (which is `lr.<role>`): Adam, or AdamW with weightDecay > 0. */
export const RoleOptimizer = t.partial({
  betas: t.tuple([UnitInterval, UnitInterval]),
  /** Decoupled weight decay λ (AdamW); 0 = Adam. */
  weightDecay: NonNegative,
  /** Clip the role's global gradient norm; 0 = off. */
  clipNorm: NonNegative,
  eps: Positive,
});
export type RoleOptimizer = t.TypeOf<typeof RoleOptimizer>;

export const DistillConfig = t.intersection([
  t.type({
    method: DistillMethod,
    /** A teacher checkpoint path, or a teacher config to train first. */
    teacher: t.union([t.string, TeacherConfig]),
  }),
  t.partial({
    seed: NonNegativeInt,
    /** Timestep shift S of the student grid and the re-noising draws. */
    shift: Positive,
    /** Student steps N (dmd: 1). */
    steps: SamplerSteps,
    /** Generator updates (per phase for phased presets: split evenly, see `scheduleFor`). */
    iterations: StepCount,
  }),
  PhaseSettings,
  t.partial({
    /**
     * Generator gradient: 'reference' (x0-space, normalised, on the student's x0 prediction;
     * the default), or the ablations 'paper' (unnormalised KL weight on x_s) and 'xs-normalised'.
     */
    gradient: t.keyof({ reference: null, paper: null, 'xs-normalised': null }),
    /** Older name of the x_s-space forms: paper → gradient 'paper', dmd2 → gradient 'xs-normalised'. */
    normaliser: t.keyof({ paper: null, dmd2: null }),
    /** Steps between samples in training rollouts and in the student: Euler, or x0 prediction + fresh noise. */
    stepper: t.keyof({ euler: null, 'x0-noise': null }),
    /** What a phase's fake score trains on: the SGTS exit sample, or a full inference rollout's boundary sample. */
    fakeTracks: t.keyof({ exit: null, rollout: null }),
    /**
     * Phased DMD: phases trained one after another with earlier experts frozen, or all at
     * once, alternating iterations, each later phase fed by the live earlier experts.
     */
    phasing: t.keyof({ sequential: null, concurrent: null }),
    betas: t.tuple([UnitInterval, UnitInterval]),
    /** AdamW decoupled weight decay for both roles (0 = Adam); `optimizer.<role>` overrides. */
    weightDecay: NonNegative,
    /** Per-role optimiser settings, over `betas` / `weightDecay`. */
    optimizer: t.partial({ generator: RoleOptimizer, fake: RoleOptimizer }),
    /** Generator EMA decay β ∈ [0, 1); 0 = off. The student is the EMA weights when on. */
    ema: Probability,
    /**
     * The regression loss on (noise, teacher sample) pairs made once per run by the teacher's Euler sampler with CFG
     * `guidance`: one-step DMD's term, and for a few-step student each step pulled towards the teacher's path.
     */
    regression: RegressionConfig,
    /**
     * Write `<outDir>/last.ckpt` every this many generator updates (last good state; never overwritten by a non-finite
     * one).
     */
    checkpointEvery: PositiveInt,
    /** Generator experts and fake scores: full teacher copies, or low-rank adapters on the shared frozen teacher. */
    experts: t.union([t.literal('full'), t.type({ lora: LoraConfig })]),
    /** Phased DMD only: an explicit schedule (overrides preset). */
    schedule: PhasedSchedule,
    preset: SchedulePreset,
    logEvery: PositiveInt,
  }),
]);
export type DistillConfig = t.TypeOf<typeof DistillConfig>;

export const DISTILL_DEFAULTS = {
  seed: 0,
  shift: 5,
  steps: 4,
  iterations: 400,
  batchSize: 256,
  lr: { generator: 2e-4, fake: 2e-4 },
  updateRatio: 5,
  guidance: 1,
  margin: 0.02,
  renoise: 'nested' as const,
  gradient: 'reference' as GeneratorGradient,
  stepper: 'euler' as Stepper,
  fakeTracks: 'exit' as FakeTracks,
  phasing: 'sequential' as 'sequential' | 'concurrent',
  /** The generator's gradient norm is clipped at 1 (with the reference form's mean loss this is a real bound). */
  optimizer: { generator: { clipNorm: 1 } } as { generator?: RoleOptimizer; fake?: RoleOptimizer },
  betas: [0, 0.999] as [number, number],
  weightDecay: 0,
  ema: 0,
  checkpointEvery: 100,
  experts: 'full' as 'full' | { lora: { rank: number } },
  preset: '4x2' as SchedulePreset,
  logEvery: 50,
};

// ── 2. The schedule each method trains ───────────────────────────────────────

/** Paper presets: 4 steps / 2 phases (boundary at unshifted .5, shifted .833 for S = 5) and 4 steps / 4 phases. */
export const presetBoundaries = (preset: SchedulePreset): number[] =>
  preset === '4x2' ? [1, 0.5, 0] : [1, 0.75, 0.5, 0.25, 0];

/**
 * The phased schedule of a method. Baselines are one phase from 1 to 0. Phased presets
 * split the iteration budget evenly over phases, so every method gets the same number
 * of generator updates.
 */
export const scheduleFor = (c: DistillConfig): PhasedSchedule => {
  const d = { ...DISTILL_DEFAULTS, ...c, lr: { ...DISTILL_DEFAULTS.lr, ...c.lr } };
  const common = {
    lr: d.lr,
    updateRatio: d.updateRatio,
    guidance: d.guidance,
    margin: d.margin,
    renoise: d.renoise,
    batchSize: d.batchSize,
  };
  if (c.method === 'phased' && c.schedule !== undefined) {
    // one shift for the grids and the re-noising draws
    if (c.shift !== undefined && c.shift !== c.schedule.shift)
      throw new ConfigError('distill config', [
        { path: 'shift', message: `must equal schedule.shift (${c.schedule.shift}) or be left out, got ${c.shift}` },
      ]);
    return c.schedule;
  }
  const shifted = (u: number) => (d.shift * u) / (1 + (d.shift - 1) * u);
  if (c.method === 'phased') {
    const b = presetBoundaries(d.preset);
    const K = b.length - 1;
    const stepsPer = d.steps / K;
    if (!Number.isInteger(stepsPer))
      throw new ConfigError('distill config', [
        { path: 'steps', message: `must be a multiple of the ${K} phases of preset ${d.preset}, got ${d.steps}` },
      ]);
    return decodeOrThrow(PhasedSchedule, {
      shift: d.shift,
      phases: b.slice(0, -1).map((u, k) => ({
        interval: { start: shifted(u), end: shifted(b[k + 1]) },
        steps: stepsPer,
        iterations: Math.max(1, Math.round(d.iterations / K)),
        ...common,
      })),
    });
  }
  return decodeOrThrow(PhasedSchedule, {
    shift: d.shift,
    phases: [
      { interval: { start: 1, end: 0 }, steps: c.method === 'dmd' ? 1 : d.steps, iterations: d.iterations, ...common },
    ],
  });
};

/** The gradient form a config asks for; the older `normaliser` field maps onto it. */
export const gradientOf = (c: DistillConfig): GeneratorGradient => {
  const legacy = c.normaliser === undefined ? undefined : c.normaliser === 'dmd2' ? 'xs-normalised' : 'paper';
  if (c.gradient !== undefined && legacy !== undefined && legacy !== c.gradient)
    throw new ConfigError('distill config', [
      {
        path: 'normaliser',
        message:
          `normaliser "${c.normaliser}" means gradient "${legacy}", but gradient is "${c.gradient}": give ` +
          `one of them`,
      },
    ]);
  return c.gradient ?? legacy ?? DISTILL_DEFAULTS.gradient;
};

/** Defaults filled in; the gradient resolved from `gradient` or the older `normaliser`. */
export const withDefaults = (c: DistillConfig) => {
  const { normaliser: _legacy, ...rest } = c;
  return {
    ...DISTILL_DEFAULTS,
    ...rest,
    gradient: gradientOf(c),
    optimizer: {
      generator: { ...DISTILL_DEFAULTS.optimizer.generator, ...c.optimizer?.generator },
      fake: { ...DISTILL_DEFAULTS.optimizer.fake, ...c.optimizer?.fake },
    },
  };
};

/**
 * The regression term `r` in words, or null when off: the loss kept during DMD (with its weight) and the warm-up
 * before it, each phase on its own stretch of the teacher's path; `c` supplies the default warm-up lr.
 */
export const describeRegression = (r: RegressionConfig | undefined, c: Partial<DistillConfig> = {}): string | null => {
  const reg = regressionFor(r);
  if (reg === null) return null;
  const generatorLr = withDefaults({ method: 'sgts', teacher: '', ...c } as DistillConfig).lr.generator;
  const pairs = `${reg.pairs} teacher pairs, ${reg.distance}`;
  const warm = `${reg.warmup} regression-only warm-up updates per phase at lr ${reg.warmupLr ?? generatorLr}`;
  if (reg.weight === 0) return `${warm} (${pairs}), then no regression loss`;
  const loss = `the regression loss on the teacher's path (λ_reg ${reg.weight}, ${pairs})`;
  return reg.warmup > 0 ? `${loss}, after ${warm}` : loss;
};

/**
 * One line naming the variant a config trains: gradient form, clip, stepper, fake-score target, phasing, and the
 * regression term when the student has it.
 */
export const describeVariant = (c: Partial<DistillConfig>): string => {
  const d = withDefaults({ method: 'sgts', teacher: '', ...c } as DistillConfig);
  const reg = describeRegression(c.regression, c);
  return (
    `gradient ${d.gradient}, generator clip ${d.optimizer.generator.clipNorm || 'off'}, stepper ${d.stepper}, ` +
    `fake score on ${d.fakeTracks === 'exit' ? 'the SGTS exit sample' : 'the full rollout'}, phasing ${d.phasing}` +
    (reg === null ? '' : `; ${reg}`)
  );
};

export const backpropFor = (method: DistillMethod): GeneratorBackprop => (method === 'vanilla' ? 'full' : 'sgts');

/**
 * How a phase's generator expert and fake score are made from the teacher: a full copy, or a fresh LoRA adapter (B = 0)
 * seeded by (seed, phase, role).
 */
export const roleFactory = (experts: DistillConfig['experts'], seed: number): DistillSettings['makeRole'] =>
  experts === undefined || experts === 'full'
    ? undefined
    : (teacher, role, phase) => new LoraModel(teacher, experts.lora.rank, splitSeed(seed, 'lora', phase.index, role));

// ── 3. The stream: phase segments concatenated ───────────────────────────────

export const distillSteps = (
  settings: DistillSettings,
  phases: readonly ResolvedPhase[],
  initial: DistillState = { experts: [] },
): Observable<StepMetrics | PhaseEnd<DistillState>> =>
  concatSegments(
    phases.map((p) => compilePhase(settings, p)),
    initial,
  );

/** The stream of a config's phasing: sequential segments, or every phase at once. */
export const phasedSteps = (
  phasing: 'sequential' | 'concurrent',
  settings: DistillSettings,
  phases: readonly ResolvedPhase[],
  initial: DistillState,
): Observable<StepMetrics | PhaseEnd<DistillState>> =>
  phasing === 'concurrent' ? concurrentPhases(settings, phases) : distillSteps(settings, phases, initial);

// ── 4. The run ───────────────────────────────────────────────────────────────

export interface DistillResult {
  readonly experts: readonly ExpertPhase[];
  readonly phases: readonly ResolvedPhase[];
  readonly metrics: StepMetrics[];
  readonly teacher: VelocityModel;
  readonly modelConfig: ModelConfig;
}

const openTeacher = async (
  source: DistillConfig['teacher'],
  log?: (l: string) => void,
): Promise<{ model: VelocityModel; modelConfig: ModelConfig }> => {
  if (typeof source !== 'string') {
    const r = await trainTeacher(source, { log });
    r.model.params.setTrainable(false);
    return r;
  }
  const loaded = loadTeacher(source);
  if (E.isLeft(loaded)) throw loaded.left;
  return loaded.right;
};

/** How `trainDistill` runs: where it writes, what it reports, what it resumes from. */
export interface TrainDistillOptions {
  outDir?: string;
  log?: (line: string) => void;
  teacher?: { model: VelocityModel; modelConfig: ModelConfig };
  onStep?: (m: StepMetrics) => void;
  /**
   * A progress checkpoint (`<outDir>/last.ckpt`) of this same config to continue from: finished phases' experts are
   * loaded, not retrained.
   */
  resume?: string;
  /** Resume although the config differs from the checkpoint's (the differences are logged). */
  force?: boolean;
  /**
   * Called after every generator update with the generator updates done so far (all
   * phases) and the student as it stands: the finished experts and the running phase's
   * live generator (its EMA when on). Synchronous, between updates: sample it there.
   */
  onGeneratorUpdate?: (updates: number, student: () => readonly ExpertPhase[]) => void;
  /** Taps the event stream (metrics and phase ends) after checkpointing: recording (lib/record), inspection. */
  through?: MonoTypeOperatorFunction<StepMetrics | PhaseEnd<DistillState>>;
  /** Each progress checkpoint written, told once the event that caused it has passed `through`. */
  onCheckpoint?: (c: { file: string; phase: number; step: number }) => void;
}

/**
 * Distils a student in memory. With `outDir` it writes `last.ckpt` (progress, every
 * `checkpointEvery` generator updates and at phase boundaries) and `student.ckpt` at the
 * end. lib/train/distill.ts `runDistill` runs this with a recording, a run directory lock
 * and the resume/overwrite rules (what `runConfig` and the command line use).
 */
export const trainDistill = (input: unknown, options: TrainDistillOptions = {}): Promise<DistillResult> =>
  trainDistillConfig(decodeOrThrow(DistillConfig, input, 'distill config'), options);

/** `trainDistill` for a config already decoded (by the caller's edge: a runner's preflight). */
export const trainDistillConfig = async (
  config: DistillConfig,
  options: TrainDistillOptions = {},
): Promise<DistillResult> => {
  const d = withDefaults(config);
  const schedule = scheduleFor(config);
  const reg = regressionFor(config.regression);
  // progress checkpoints hold one running phase; concurrent phases have several
  const concurrent = config.method === 'phased' && d.phasing === 'concurrent';
  if (concurrent && options.onGeneratorUpdate !== undefined)
    throw new ConfigError('distill config', [
      { path: 'phasing', message: 'mid-run snapshots follow one running phase; a "concurrent" run has several' },
    ]);
  if (concurrent && options.resume !== undefined)
    throw new ConfigError('distill config', [
      {
        path: 'phasing',
        message:
          'a "concurrent" run writes no progress checkpoints, so it cannot be resumed: rerun it, or use "sequential"',
      },
    ]);
  const saved =
    options.resume === undefined
      ? null
      : openResume(options.resume, d, options.force ? (options.log ?? (() => undefined)) : undefined);
  const teacher =
    options.teacher ?? (saved?.teacher ? resumeTeacher(saved) : await openTeacher(config.teacher, options.log));
  const phases = resolveSchedule(schedule);
  // made again on resume from the same (restored) teacher and seed: the same pairs, bit for bit
  const pairs =
    reg === null
      ? null
      : teacherPairs(teacher.model, {
          n: reg.pairs,
          seed: d.seed,
          guidance: phases[0].guidance,
          ...reg,
          times: scheduleGrid(phases),
        });
  const makeRole = roleFactory(config.experts, d.seed);
  const role = (r: 'generator' | 'fake') => ({ weightDecay: d.weightDecay, ...d.optimizer[r] });
  let live: PhaseRoles | null = null;
  const initial: DistillState = {
    experts: saved === null ? [] : resumeExperts(saved, phases, teacher.model, makeRole, d.stepper),
  };
  let final: DistillState = initial;
  let lastGood: { file: string; phase: number; iterations: number } | null = null;
  let written: { file: string; phase: number; step: number } | null = null;
  const told = (): void => {
    if (written === null) return;
    const c = written;
    written = null;
    options.onCheckpoint?.(c);
  };
  const settings: DistillSettings = {
    teacher: teacher.model,
    seed: d.seed,
    shift: schedule.shift, // a phased schedule carries its own shift
    backprop: backpropFor(config.method),
    gradient: d.gradient,
    stepper: d.stepper,
    fakeTracks: d.fakeTracks,
    ...(reg !== null && pairs !== null ? { regression: regressionTerm(reg, pairs) } : {}),
    betas: d.betas,
    optimizers: { generator: role('generator'), fake: role('fake') },
    ...(d.ema > 0 ? { ema: d.ema } : {}),
    onPhaseStart: (roles) => (live = roles),
    ...(makeRole ? { makeRole } : {}),
    ...(saved ? { restore: (roles: PhaseRoles) => restoreRoles(roles, saved) } : {}),
  };
  // last good state: after a finite generator update, every `checkpointEvery` iterations
  const checkpoint = (m: StepMetrics): void => {
    if (
      concurrent ||
      options.outDir === undefined ||
      live === null ||
      m.role !== 'generator' ||
      (m.key.step + 1) % d.checkpointEvery !== 0
    )
      return;
    const file = path.join(options.outDir, PROGRESS_CHECKPOINT);
    saveProgress(
      file,
      live,
      final,
      { phase: m.key.phase, iterations: m.key.step + 1 },
      { method: config.method, modelConfig: teacher.modelConfig, config: d },
    );
    lastGood = { file, phase: m.key.phase, iterations: m.key.step + 1 };
    written = { file, phase: m.key.phase, step: m.key.step + 1 };
  };
  // at each phase boundary (but the last): the frozen experts so far, so a resume never retrains a finished phase
  const boundary = (e: PhaseEnd<DistillState>): void => {
    if (concurrent || options.outDir === undefined || e.phase + 1 >= phases.length) return;
    const file = path.join(options.outDir, PROGRESS_CHECKPOINT);
    saveDistillState(file, {
      teacher: teacher.model,
      state: e.state,
      at: { phase: e.phase + 1, iterations: 0 },
      meta: { method: config.method, modelConfig: teacher.modelConfig, config: d },
    });
    lastGood = { file, phase: e.phase + 1, iterations: 0 };
    written = { file, phase: e.phase + 1, step: 0 };
  };
  // the student mid-run: finished experts, then the running phase's generator
  const snapshot = (m: StepMetrics): void => {
    if (options.onGeneratorUpdate === undefined || m.role !== 'generator' || live === null) return;
    const roles: PhaseRoles = live;
    const done = phases.slice(0, m.key.phase).reduce((a, p) => a + p.iterations, 0) + m.key.step + 1;
    options.onGeneratorUpdate(done, () => [
      ...final.experts,
      { grid: roles.context.phase.grid, expert: roles.ema ?? roles.context.generator, stepper: roles.context.stepper },
    ]);
  };
  const stopped = (err: unknown): never => {
    if (err instanceof NonFiniteLossError)
      options.log?.(
        `${err.message}; ` +
          (lastGood === null
            ? 'no checkpoint was written yet'
            : `last good checkpoint: ${lastGood.file} ` +
              `(${phaseLabel(lastGood.phase)}, ${lastGood.iterations} iterations)`),
      );
    // the run owns its finished experts (and a teacher it opened itself); nobody else will free them
    final.experts.forEach((e) => e.expert.dispose());
    if (pairs !== null) disposePairs(pairs);
    if (options.teacher === undefined) teacher.model.dispose();
    throw err;
  };
  const metrics = await lastValueFrom(
    phasedSteps(concurrent ? 'concurrent' : 'sequential', settings, phases.slice(saved?.phase ?? 0), initial).pipe(
      tap((e) => {
        if (!isPhaseEnd<DistillState>(e)) {
          checkpoint(e);
          return snapshot(e);
        }
        final = e.state;
        boundary(e);
      }),
      options.through ?? identity,
      tap(told),
      filter((e): e is StepMetrics => !isPhaseEnd(e)),
      logMetrics(d.logEvery, options.log),
      tap((m) => options.onStep?.(m)),
      toArray(),
    ),
    { defaultValue: [] as StepMetrics[] },
  ).catch(stopped);
  if (pairs !== null) disposePairs(pairs);
  if (options.outDir !== undefined)
    saveStudent(path.join(options.outDir, STUDENT_CHECKPOINT), {
      method: config.method,
      modelConfig: teacher.modelConfig,
      experts: final.experts,
      config: d,
    });
  return { experts: final.experts, phases, metrics, teacher: teacher.model, modelConfig: teacher.modelConfig };
};

// ── Resume ───────────────────────────────────────────────────────────────────

/**
 * Reads a progress checkpoint and checks it was written by this same config (else the resumed run would be another
 * run).
 */
const openResume = (file: string, d: unknown, forced?: (line: string) => void): SavedDistillState => {
  const saved = E.getOrElseW((e: CheckpointError) => {
    throw e;
  })(loadDistillState(file));
  const before = saved.meta.config as Record<string, unknown> | undefined;
  const now = d as Record<string, unknown>;
  const ignored = new Set(['logEvery', 'checkpointEvery']);
  const differ = [...new Set([...Object.keys(before ?? {}), ...Object.keys(now)])].filter(
    (k) => !ignored.has(k) && JSON.stringify(before?.[k]) !== JSON.stringify(now[k]),
  );
  if (forced !== undefined && before !== undefined && differ.length > 0)
    forced(`resuming ${file} by force although ${differ.join(', ')} differ from the checkpoint's run`);
  else if (before === undefined || differ.length > 0)
    throw new ConfigError(
      `resume from ${file}`,
      before === undefined
        ? [{ path: 'meta.config', message: 'the checkpoint does not record its config' }]
        : differ.map((k) => ({
            path: k,
            message:
              `differs from the checkpoint's run (${JSON.stringify(before[k])} there, ` +
              `${JSON.stringify(now[k])} now)`,
          })),
    );
  return saved;
};

/** The teacher stored in a progress checkpoint (no retraining on resume). */
const resumeTeacher = (saved: SavedDistillState): { model: VelocityModel; modelConfig: ModelConfig } => {
  const mc = decodeWith(ModelConfig)(saved.meta.modelConfig);
  if (E.isLeft(mc)) throw new CheckpointError(saved.file, 'meta.modelConfig: not a valid model config');
  const model = buildModel(mc.right);
  try {
    model.params.write(saved.teacher ?? [], `${saved.file}: teacher`);
  } catch (err) {
    model.dispose();
    throw new CheckpointError(saved.file, (err as Error).message);
  }
  model.params.setTrainable(false);
  return { model, modelConfig: mc.right };
};

/** The finished phases' experts, loaded from the checkpoint and frozen. */
const resumeExperts = (
  saved: SavedDistillState,
  phases: readonly ResolvedPhase[],
  teacher: VelocityModel,
  makeRole: DistillSettings['makeRole'],
  stepper: Stepper,
): ExpertPhase[] =>
  E.getOrElseW((e: CheckpointError) => {
    throw e;
  })(frozenExperts(saved, (k) => (makeRole ? makeRole(teacher, 'generator', phases[k]) : teacher.clone()))).map(
    (e) => ({ ...e, stepper }),
  );

// ── 5. Student checkpoints ───────────────────────────────────────────────────

export const saveStudent = (
  file: string,
  s: { method: DistillMethod; modelConfig: ModelConfig; experts: readonly ExpertPhase[]; config: unknown },
): void =>
  saveCheckpoint(file, {
    meta: {
      kind: 'student',
      method: s.method,
      modelConfig: s.modelConfig,
      grids: s.experts.map((e) => e.grid),
      steppers: s.experts.map((e) => e.stepper ?? 'euler'),
      config: s.config,
    },
    tensors: s.experts.flatMap((e, k) => withPrefix(`expert${k}/`, plainWeights(e.expert))),
  });

export const loadStudent = (
  file: string,
): E.Either<CheckpointError, { method: DistillMethod; experts: ExpertPhase[]; modelConfig: ModelConfig }> =>
  E.chain(
    (data: {
      meta: Readonly<Record<string, unknown>>;
      tensors: readonly import('../models/params').NamedTensorData[];
    }) => {
      const fail = (m: string) => E.left(new CheckpointError(file, m));
      if (data.meta.kind !== 'student')
        return fail(`meta.kind: expected "student", got ${JSON.stringify(data.meta.kind)}`);
      const mc = decodeWith(ModelConfig)(data.meta.modelConfig);
      if (E.isLeft(mc)) return fail('meta.modelConfig: not a valid model config');
      const grids = data.meta.grids;
      if (!Array.isArray(grids) || !grids.every((g) => Array.isArray(g) && g.every((x) => typeof x === 'number')))
        return fail('meta.grids: expected an array of time grids');
      // students written before steppers were recorded sample with Euler
      const steppers: unknown = data.meta.steppers ?? grids.map(() => 'euler');
      if (
        !Array.isArray(steppers) ||
        steppers.length !== grids.length ||
        !steppers.every((x) => x === 'euler' || x === 'x0-noise')
      )
        return fail(
          `meta.steppers: expected one of "euler" | "x0-noise" per expert (${grids.length}), got ` +
            `${JSON.stringify(data.meta.steppers)}`,
        );
      const experts: ExpertPhase[] = [];
      try {
        grids.forEach((grid: number[], k: number) => {
          const expert = buildModel(mc.right);
          experts.push({ grid, expert, stepper: steppers[k] });
          expert.params.write(tensorsUnder(data, `expert${k}/`), `${file}: expert${k}`);
          expert.params.setTrainable(false);
        });
      } catch (err) {
        experts.forEach((e) => e.expert.dispose());
        return fail((err as Error).message);
      }
      return E.right({ method: data.meta.method as DistillMethod, experts, modelConfig: mc.right });
    },
  )(loadCheckpoint(file));
