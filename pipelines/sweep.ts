/**
 * The budget sweep: does a student keep the teacher's diversity once training has
 * converged? One config, every method evaluated at several budgets of generator updates.
 *
 *   for each seed:
 *     teacher            one per seed, the model and budget held fixed (cached like the experiment's)
 *     reference samples  the teacher's 40-step CFG samples (two sets: reference, and its own row)
 *     for each method:
 *       dmd / sgts       one run to the largest budget; the student is sampled when it reaches
 *                        each budget (a run's first b updates are exactly a b-update run: draws
 *                        depend on (seed, phase, step) only, and nothing decays)
 *       phased-4x2/4x4   one run per budget, its updates split evenly over the phases (a
 *                        shorter run trains phase 1 for fewer updates, so it is not a prefix)
 *   report               metrics per (seed, method, budget) against the teacher's reference,
 *                        seed means with bootstrap intervals, paired differences Phased − SGTS,
 *                        the convergence check, curves with their bands (pipelines/sweepReport.ts)
 *
 * Each (seed, method, budget) sample set is written as it is drawn (`<method>/b<budget>.npy`
 * with a marker naming the config it came from), so an interrupted sweep continues where
 * it stopped and a finished cell is never recomputed; a run killed mid-way continues from its
 * last progress checkpoint (`withStudentRun`).
 */
import * as t from 'io-ts';
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError, decodeOrThrow } from '../lib/config/report';
import { Positive, PositiveInt, StepCount } from '../lib/config/primitives';
import { configHash, sameRunConfig } from '../lib/record/hash';
import { writeNpy } from '../lib/data/npy';
import { writeFileAtomic } from '../lib/util/atomicWrite';
import { record } from '../lib/record/record';
import type { RecordingWriter } from '../lib/record/writer';
import { sampleStudent } from '../lib/distill/student';
import type { ExpertPhase } from '../lib/rollout/context';
import type { VelocityModel } from '../lib/models/types';
import type { ModelConfig } from '../lib/models/config';
import type { PlannedRun } from '../lib/stream/runs';
import { trainDistill, type TrainDistillOptions } from '../lib/distill/distill';
import {
  EvalPoints,
  ExperimentBudget,
  ExperimentConfig,
  trainsTeacher,
  ExperimentOptions,
  ExperimentResult,
  ExperimentTask,
  ResolvedExperiment,
  StudentMethod,
  balancedLabels,
  chunkFor,
  distillConfigFor,
  distinctList,
  ensureClassifier,
  ensureTeacher,
  isImageTask,
  evalSeed,
  experimentDataset,
  methodDir,
  withStudentRun,
  writeManifest,
  type ResumePoint,
  type StudentRun,
  RECORDING,
  phasesOf,
  resolveExperiment,
  sampleInChunks,
  SampleCount,
  Seeds,
  teacherSamples,
} from './experiment';

// ── 1. Config ────────────────────────────────────────────────────────────────

export const SWEEP_METHODS = ['dmd', 'sgts', 'vanilla', 'phased-4x2', 'phased-4x4'] as const;
export const SweepMethod = t.keyof({ dmd: null, sgts: null, vanilla: null, 'phased-4x2': null, 'phased-4x4': null });
export type SweepMethod = t.TypeOf<typeof SweepMethod>;

/**
 * The convergence criterion, stated before the runs: the seed mean of `metric` moves by less than `tolerance`
 * (relative) over the last doubling of updates.
 */
export const Convergence = t.partial({ metric: t.string, tolerance: Positive });

export const SweepConfig = t.intersection([
  t.type({ method: t.literal('sweep'), task: ExperimentTask }),
  t.partial({
    seeds: Seeds,
    methods: distinctList(
      SweepMethod,
      'distinct methods (at least one) of "dmd" | "sgts" | "vanilla" | "phased-4x2" | "phased-4x4"',
    ),
    /** Generator updates at which every student is evaluated, ascending. */
    budgets: distinctList(StepCount, 'distinct positive budgets (generator updates), ascending', {
      items: 64,
      why: 'each is a student run or a sample set per method and seed',
    }),
    convergence: Convergence,
    /** As in the experiment: the teacher's budget and the students' batch (`iterations` is set by `budgets`). */
    budget: t.partial({
      teacherSteps: ExperimentBudget.props.teacherSteps,
      teacherBatchSize: ExperimentBudget.props.teacherBatchSize,
      batchSize: ExperimentBudget.props.batchSize,
    }),
    guidance: ExperimentConfig.types[1].props.guidance,
    samples: SampleCount,
    model: ExperimentConfig.types[1].props.model,
    condition: ExperimentConfig.types[1].props.condition,
    teacher: ExperimentConfig.types[1].props.teacher,
    distill: ExperimentConfig.types[1].props.distill,
    classifier: ExperimentConfig.types[1].props.classifier,
    images: ExperimentConfig.types[1].props.images,
    video: ExperimentConfig.types[1].props.video,
    motionThreshold: Positive,
    evalPoints: EvalPoints,
    logEvery: PositiveInt,
  }),
]);
export type SweepConfig = t.TypeOf<typeof SweepConfig>;

export const SWEEP_DEFAULTS = {
  seeds: [0, 1, 2, 3, 4],
  methods: ['dmd', 'sgts', 'phased-4x2', 'phased-4x4'] as SweepMethod[],
  // powers of two: every phased preset splits each budget evenly over its 2 or 4 phases
  budgets: [256, 512, 1024, 2048],
  convergence: { tolerance: 0.05 },
};

/** The metric the convergence criterion follows by default: the distance to the teacher of the task's kind. */
export const convergenceMetric = (task: ExperimentTask): string =>
  isImageTask(task) ? 'frechet' : task === 'video' ? 'trajectoryFrechet' : 'energy';

export interface ResolvedSweep {
  readonly experiment: ResolvedExperiment;
  readonly methods: readonly SweepMethod[];
  readonly budgets: readonly number[];
  readonly convergence: { readonly metric: string; readonly tolerance: number };
}

/** Decoded once here; the experiment's resolution supplies task defaults, data and teacher settings. */
export const resolveSweep = (input: unknown, what = 'sweep config'): ResolvedSweep =>
  resolveSweepDecoded(decodeOrThrow(SweepConfig, input, what), what);

/** `resolveSweep` of a config already decoded by its codec: defaults and the relations between fields. */
export const resolveSweepDecoded = (c: SweepConfig, what = 'sweep config'): ResolvedSweep => {
  const methods = c.methods ?? SWEEP_DEFAULTS.methods;
  const budgets = c.budgets ?? SWEEP_DEFAULTS.budgets;
  const issues = [
    ...budgets.flatMap((b, i) =>
      i > 0 && b <= budgets[i - 1]
        ? [{ path: `budgets.${i}`, message: `expected budgets in ascending order, got ${b} after ${budgets[i - 1]}` }]
        : [],
    ),
    ...methods.flatMap((m) =>
      budgets
        .filter((b) => b % phasesOf(m) !== 0)
        .map((b) => ({
          path: 'budgets',
          message:
            `expected multiples of ${phasesOf(m)} (method "${m}" splits a budget evenly over its phases), ` +
            `got ${b}`,
        })),
    ),
  ];
  if (issues.length > 0) throw new ConfigError(what, issues);
  const { method: _m, methods: _ms, budgets: _b, convergence, budget, ...rest } = c;
  const experiment = resolveExperiment(
    {
      ...rest,
      method: 'experiment',
      seeds: c.seeds ?? SWEEP_DEFAULTS.seeds,
      methods: ['teacher', ...methods],
      budget: { ...budget, iterations: budgets[budgets.length - 1] },
    } as ExperimentConfig,
    what,
  );
  return {
    experiment,
    methods,
    budgets,
    convergence: {
      metric: convergence?.metric ?? convergenceMetric(c.task),
      tolerance: convergence?.tolerance ?? SWEEP_DEFAULTS.convergence.tolerance,
    },
  };
};

// ── 2. Files ─────────────────────────────────────────────────────────────────

export const SWEEP_FILE = 'sweep.json';
export const budgetSamples = (dir: string, budget: number): string => path.join(dir, `b${budget}.npy`);
export const budgetLabels = (dir: string, budget: number): string => path.join(dir, `b${budget}.labels.npy`);
export const budgetMarker = (dir: string, budget: number): string => path.join(dir, `b${budget}.json`);
/** A phased run of one budget: its progress checkpoint while it trains, its student checkpoint after. */
export const budgetDir = (dir: string, budget: number): string => path.join(dir, `b${budget}`);

/**
 * What a finished cell records: the distillation config it came from (and its hash) and its
 * training time. The config lets a moved or copied run directory recognise its cells: its
 * teacher path is as the run was started (see `sameRunConfig`).
 */
export interface CellMarker {
  readonly configHash: string;
  readonly config?: unknown;
  readonly budget: number;
  readonly updates: number;
  readonly trainingSeconds: number;
}

const cellDone = (runDir: string, dir: string, budget: number, config: unknown): boolean => {
  const file = budgetMarker(dir, budget);
  if (!fs.existsSync(file) || !fs.existsSync(budgetSamples(dir, budget))) return false;
  try {
    const cell = JSON.parse(fs.readFileSync(file, 'utf8')) as CellMarker;
    // a marker written before markers carried their config is matched by hash alone
    return cell.config === undefined
      ? cell.configHash === configHash(config)
      : sameRunConfig(cell.config, config, runDir);
  } catch {
    return false;
  }
};

/** Draws the evaluation set of a student (the teacher's evaluation noise and labels) and writes the cell. */
const writeCell = (
  r: ResolvedExperiment,
  seed: number,
  dir: string,
  cell: CellMarker,
  experts: readonly ExpertPhase[],
  numClasses: number,
): void => {
  const labels = balancedLabels(r.samples, numClasses);
  const draw = (n: number, s: number, l: Int32Array | null) => sampleStudent(experts, { n, seed: s, labels: l });
  const set = sampleInChunks(draw, r.samples, evalSeed(seed), labels, chunkFor(r));
  writeNpy(budgetSamples(dir, cell.budget), set.values, set.shape);
  if (set.labels !== null) writeNpy(budgetLabels(dir, cell.budget), set.labels, [set.labels.length]);
  // the marker last: a cell without it is redrawn
  writeFileAtomic(budgetMarker(dir, cell.budget), `${JSON.stringify(cell, null, 2)}\n`);
};

// ── 3. The runs ──────────────────────────────────────────────────────────────

/** Every training run of the sweep, in order: a progress display's labels and totals. */
export const sweepPlan = (s: ResolvedSweep): PlannedRun[] =>
  s.experiment.seeds.flatMap((seed) => [
    ...(trainsTeacher(s.experiment, seed)
      ? [{ seed, method: 'teacher', totals: [s.experiment.budget.teacherSteps] }]
      : []),
    ...s.methods.flatMap((method) =>
      method.startsWith('phased')
        ? s.budgets.map((b) => ({
            seed,
            method: `${method} @ ${b}`,
            totals: Array<number>(phasesOf(method)).fill(b / phasesOf(method)),
          }))
        : [{ seed, method, totals: [s.budgets[s.budgets.length - 1]] }],
    ),
  ]);

/** Tells the progress display that the run labelled (seed, method) starts. */
const starting = (s: ResolvedSweep, o: ExperimentOptions, seed: number, method: string): void => {
  const runs = sweepPlan(s);
  o.onRun?.({ index: runs.findIndex((p) => p.seed === seed && p.method === method), runs });
};

type Teacher = { model: VelocityModel; modelConfig: ModelConfig; file: string };

/**
 * What one of the sweep's training runs needs: trainDistill's options (teacher, progress
 * checkpoints, logs, the recording) and the marker of a cell it finishes. The run's clock
 * starts at the training its recording holds already, so a resumed run counts its earlier part.
 */
const cellRun = (teacher: Teacher, o: ExperimentOptions, sink: RecordingWriter, run: StudentRun, config: unknown) => {
  const started = performance.now() - (run.from?.seconds ?? 0) * 1000;
  const hash = configHash(config);
  const options: TrainDistillOptions = {
    teacher,
    ...run.progress,
    log: o.metricLog ?? o.log,
    ...(o.onStep ? { onStep: o.onStep } : {}),
    through: record(sink),
  };
  return {
    options,
    marker: (budget: number): CellMarker => ({
      configHash: hash,
      config,
      budget,
      updates: budget,
      trainingSeconds: (performance.now() - started) / 1000,
    }),
  };
};

/** dmd / sgts / vanilla: one run to the largest budget, sampled at each budget on the way. */
const alongOneRun = async (
  s: ResolvedSweep,
  seed: number,
  method: StudentMethod,
  teacher: Teacher,
  o: ExperimentOptions,
): Promise<number> => {
  const r = s.experiment;
  const dir = methodDir(o.outDir, seed, method);
  const input = distillConfigFor(r, method, seed, teacher.file);
  const todo = s.budgets.filter((b) => !cellDone(o.outDir, dir, b, input));
  if (todo.length === 0) return 0;
  const run = { runDir: o.outDir, dir, recording: path.join(dir, RECORDING), config: input, seed, kind: method };
  // dmd, sgts and vanilla have one phase, so its step counts the updates done; a resume past a cell still to
  // draw (its marker lost) would never sample it, so that run starts afresh
  const before = (from: ResumePoint) => from.step < todo[0];
  await withStudentRun(
    run,
    async (sink, studentRun) => {
      const { from } = studentRun;
      const resumed = from === null ? '' : `, resumed at update ${from.step}`;
      o.log?.(
        `seed ${seed}: ${method}, one run of ${input.iterations} updates, sampled at ${todo.join(', ')}${resumed}`,
      );
      starting(s, o, seed, method);
      const cell = cellRun(teacher, o, sink, studentRun, input);
      const result = await trainDistill(input, {
        ...cell.options,
        onGeneratorUpdate: (updates, student) => {
          if (todo.includes(updates))
            writeCell(r, seed, dir, cell.marker(updates), student(), teacher.model.numClasses);
        },
      });
      result.experts.forEach((e) => e.expert.dispose());
      sink.append({ type: 'end', status: 'complete', phase: 0, step: input.iterations as number });
    },
    before,
  );
  return todo.length;
};

/** phased: one run per budget (phase 1 of a shorter run is shorter). */
const runPerBudget = async (
  s: ResolvedSweep,
  seed: number,
  method: StudentMethod,
  teacher: Teacher,
  o: ExperimentOptions,
): Promise<number> => {
  const r = s.experiment;
  const dir = methodDir(o.outDir, seed, method);
  let ran = 0;
  for (const budget of s.budgets) {
    const input = { ...distillConfigFor(r, method, seed, teacher.file), iterations: budget };
    if (cellDone(o.outDir, dir, budget, input)) continue;
    // each budget's run keeps its progress (and, once finished, its student) checkpoint in its own folder
    const run = {
      runDir: o.outDir,
      dir: budgetDir(dir, budget),
      recording: path.join(dir, `b${budget}.${RECORDING}`),
      config: input,
      seed,
      kind: method,
    };
    await withStudentRun(run, async (sink, studentRun) => {
      const { from } = studentRun;
      const resumed = from === null ? '' : `, resumed at phase ${from.phase + 1} step ${from.step}`;
      o.log?.(`seed ${seed}: ${method}, ${budget} updates${resumed}`);
      starting(s, o, seed, `${method} @ ${budget}`);
      const cell = cellRun(teacher, o, sink, studentRun, input);
      const result = await trainDistill(input, cell.options);
      try {
        writeCell(r, seed, dir, cell.marker(budget), result.experts, teacher.model.numClasses);
        const last = result.phases[result.phases.length - 1];
        sink.append({ type: 'end', status: 'complete', phase: result.phases.length - 1, step: last.iterations });
      } finally {
        result.experts.forEach((e) => e.expert.dispose());
      }
    });
    ran++;
  }
  return ran;
};

/**
 * Every cell of one (seed, method): dmd, sgts and vanilla along one run, phased one run per
 * budget. True when every cell was found finished (reused), nothing trained.
 */
export const runSweepStudent = async (
  s: ResolvedSweep,
  seed: number,
  method: SweepMethod,
  teacher: Teacher,
  o: ExperimentOptions,
): Promise<boolean> =>
  (method.startsWith('phased')
    ? await runPerBudget(s, seed, method, teacher, o)
    : await alongOneRun(s, seed, method, teacher, o)) === 0;

/**
 * Runs the sweep into `outDir` and builds its report. A finished (seed, method, budget)
 * cell of the same config is reused, so rerunning an interrupted sweep continues it.
 */
export const runSweep = async (input: unknown, o: ExperimentOptions): Promise<ExperimentResult> => {
  const started = performance.now();
  const s = resolveSweep(input);
  const r = s.experiment;
  writeManifest(input, o.outDir, SWEEP_FILE);
  if (isImageTask(r.task)) ensureClassifier(r, o.outDir, o.log).dispose();
  const dataset = experimentDataset(r);
  const reused: string[] = [];
  for (const seed of r.seeds) {
    if (trainsTeacher(s.experiment, seed)) starting(s, o, seed, 'teacher');
    const teacher = await ensureTeacher(r, seed, dataset, o);
    try {
      teacherSamples(r, seed, teacher, o);
      for (const method of s.methods)
        if (await runSweepStudent(s, seed, method, teacher, o)) reused.push(`seed ${seed} ${method}`);
    } finally {
      teacher.model.dispose();
    }
    o.log?.(`seed ${seed} done (${((performance.now() - started) / 60000).toFixed(1)} min so far)`);
  }
  o.onRun?.({ index: sweepPlan(s).length, runs: sweepPlan(s) }); // every run is over
  if (reused.length > 0) o.log?.(`reused from an earlier run: ${reused.join(', ')}`);
  const { buildSweepReport } = await import('./sweepReport');
  const report = await buildSweepReport(o.outDir, { log: o.log });
  return {
    outDir: o.outDir,
    report: report.report,
    results: report.results,
    files: report.files,
    seconds: (performance.now() - started) / 1000,
    reused,
  };
};
