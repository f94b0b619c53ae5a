/**
 * Runs a decoded pipeline config into a run directory the way the CLI wants it:
 * checkpoints, a recording (`recording.ndjson`: metrics, phase ends, sample snapshots,
 * checkpoints, how the run ended), resume, and progress through `onStep`.
 *
 *   teacher   lib/train/teacher runTeacher: recorded, resumable, periodic sample snapshots
 *   distill   pipelines/distill trainDistill: resumable from `last.ckpt`, recorded through
 *             its `through` tap (as lib/train/distill runDistill does, which cannot record
 *             samples after training yet); at the end the student's and the teacher's
 *             samples are recorded side by side for the figures
 *
 * A run directory that already holds a run is never overwritten silently: `resume`
 * continues it, `overwrite` keeps the old files aside (renamed) and starts over.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { MonoTypeOperatorFunction, tap } from 'rxjs';
import type { StepMetrics } from '../stream/types';
import { runTeacher, RECORDING_FILE, TEACHER_CHECKPOINT } from '../train/teacher';
import { ResumeError, TrainingStoppedError, LastGood } from '../train/errors';
import { trainDistill, DISTILL_DEFAULTS, DistillConfig, scheduleFor } from '../../pipelines/distill';
import { resolveSchedule } from '../phases/resolve';
import { runConfig } from '../../pipelines/run';
import { sampleTeacher, TEACHER_DEFAULTS } from '../../pipelines/teacher';
import { DataConfig, loadDataset } from '../data/config';
import type { Dataset } from '../data/types';
import { loadDistillState } from '../distill/checkpoint';
import type { DistillState } from '../distill/segment';
import { isPhaseEnd, PhaseEnd } from '../phases/concat';
import { sampleStudent, studentNfe } from '../distill/student';
import { RecordingWriter, makeHeader } from '../record/writer';
import { record, eventOf } from '../record/record';
import { summariseRecording, RecordingSummary } from '../record/summary';
import { splitSeed } from '../random/seed';
import type { LoadedConfig } from './loadConfig';

export const STUDENT_CHECKPOINT = 'student.ckpt';
export const PROGRESS_CHECKPOINT = 'last.ckpt';
export { RECORDING_FILE, TEACHER_CHECKPOINT };

export interface PipelineRunOptions {
  readonly outDir: string;
  readonly resume?: boolean;
  readonly overwrite?: boolean;
  /** Resume although the config differs from the checkpoint's. */
  readonly force?: boolean;
  readonly log?: (line: string) => void;
  readonly onStep?: (m: StepMetrics) => void;
  /** Samples per recorded snapshot (default by data shape, see `snapshotSize`). */
  readonly snapshotSize?: number;
}

export interface PipelineRunResult {
  readonly kind: 'teacher' | 'distill' | 'experiment';
  readonly method: string;
  /** The trained model (teacher, student); none for an experiment (many models). */
  readonly checkpoint: string | null;
  /** The run's recording; an experiment records each (seed, method) run in its own directory. */
  readonly recording: string | null;
  /** A report the pipeline wrote itself (experiments); else `report` rebuilds one from the recording. */
  readonly report: string | null;
  readonly seconds: number;
  /** The step (iterations) this process started from; 0 for a fresh run. */
  readonly resumedFrom: number;
}

/** Samples per snapshot: enough points for a scatter plot, a few rows of images or clips. */
export const snapshotSize = (sampleShape: readonly number[], numClasses: number): number =>
  sampleShape.length === 1 && sampleShape[0] <= 16 ? 500 : numClasses > 0 ? 8 * numClasses : 64;

const keepAside = (file: string): void => {
  if (fs.existsSync(file)) fs.renameSync(file, `${file}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`);
};

/** Snapshot size and cadence of a teacher run, from its data config (without opening big datasets). */
const teacherSnapshots = (data: DataConfig, steps: number, n?: number): { n: number; every?: number } => {
  const shape =
    data.kind === 'mixture' ? { sampleShape: [2], numClasses: 8 }
    : data.kind === 'mnist' || data.kind === 'fashion-mnist' ? { sampleShape: [28, 28, 1], numClasses: 10 }
    : data.kind === 'video' ? { sampleShape: [0, 0, 0], numClasses: data.classes ?? 4 }
    : E.getOrElseW(() => ({ sampleShape: [0, 0, 0], numClasses: 0 }))(E.map((ds: Dataset) => ({ sampleShape: ds.sampleShape, numClasses: ds.numClasses }))(loadDataset(data)));
  const size = n ?? snapshotSize(shape.sampleShape, shape.numClasses);
  // a snapshot runs the full multi-step sampler: 5 per run for points of runs long enough to watch (the live view's "latest samples"), else at the end only
  return { n: size, ...(shape.sampleShape.length === 1 && steps >= 500 ? { every: Math.round(steps / 5) } : {}) };
};

const teacherRun = async (loaded: LoadedConfig, o: PipelineRunOptions, started: number): Promise<PipelineRunResult> => {
  const cfg = loaded.input as { steps?: number; data: DataConfig };
  const steps = cfg.steps ?? TEACHER_DEFAULTS.steps;
  let resumedFrom = 0;
  let first = true;
  const result = await runTeacher(loaded.input, {
    outDir: o.outDir,
    record: true,
    ...(o.resume ? { resume: true } : {}),
    ...(o.overwrite ? { overwrite: true } : {}),
    ...(o.force ? { force: true } : {}),
    ...(o.log ? { log: o.log } : {}),
    onStep: (m) => {
      if (first) resumedFrom = m.key.step;
      first = false;
      o.onStep?.(m);
    },
    snapshots: teacherSnapshots(cfg.data, steps, o.snapshotSize),
  });
  result.model.dispose();
  return { kind: 'teacher', method: 'teacher', checkpoint: result.checkpoint ?? path.join(o.outDir, TEACHER_CHECKPOINT), recording: result.recording ?? path.join(o.outDir, RECORDING_FILE), report: null, seconds: (Date.now() - started) / 1000, resumedFrom };
};

const distillRun = async (loaded: LoadedConfig, o: PipelineRunOptions, started: number): Promise<PipelineRunResult> => {
  const input = loaded.input;
  const d = { ...DISTILL_DEFAULTS, ...(input as object) } as typeof DISTILL_DEFAULTS;
  const ckpt = path.join(o.outDir, STUDENT_CHECKPOINT);
  const progressFile = path.join(o.outDir, PROGRESS_CHECKPOINT);
  const recFile = path.join(o.outDir, RECORDING_FILE);
  const existing = [progressFile, recFile, ckpt].filter((f) => fs.existsSync(f));
  if (existing.length > 0 && !o.resume && !o.overwrite)
    throw new ResumeError(`${o.outDir} already holds a run (${existing.map((f) => path.basename(f)).join(', ')}): pass --resume to continue it, or --overwrite to start over`);
  if (o.overwrite && !o.resume) existing.forEach(keepAside);
  if (o.resume && fs.existsSync(ckpt) && fs.existsSync(recFile) && E.exists((r: RecordingSummary) => r.status === 'complete')(summariseRecording(recFile)))
    throw new ResumeError(`${o.outDir}: the run is already complete (${STUDENT_CHECKPOINT} written, its recording ends "complete"); use --overwrite to train again`);
  const resumeFrom = o.resume && fs.existsSync(progressFile) ? progressFile : undefined;

  let position = { phase: 0, step: 0 };
  if (resumeFrom !== undefined) {
    const saved = loadDistillState(resumeFrom);
    if (E.isLeft(saved)) throw saved.left;
    position = { phase: saved.right.phase, step: saved.right.iterations };
  }
  const opened =
    resumeFrom !== undefined && fs.existsSync(recFile)
      ? RecordingWriter.resume(recFile, { config: input, phase: position.phase, step: position.step, force: o.force })
      : E.map((w: RecordingWriter) => {
          if (resumeFrom !== undefined) w.append({ type: 'resume', phase: position.phase, step: position.step });
          return w;
        })(RecordingWriter.create(recFile, makeHeader({ config: input, seed: d.seed, kind: loaded.method })));
  if (E.isLeft(opened)) throw opened.left;
  const sink = opened.right;
  const phaseCount = resolveSchedule(scheduleFor(input as DistillConfig)).length;
  // trainDistill writes last.ckpt every checkpointEvery-th generator update and at inner phase boundaries: note each in the recording
  let lastGood: LastGood | null = resumeFrom === undefined ? null : { file: progressFile, ...position };
  let updated = false;
  const checkpointed = (phase: number, step: number): void => {
    lastGood = { file: progressFile, phase, step };
    sink.append({ type: 'checkpoint', phase, step, file: progressFile });
    sink.sync();
  };
  const through: MonoTypeOperatorFunction<StepMetrics | PhaseEnd<DistillState>> = (source) =>
    source.pipe(
      record(sink),
      tap((e) => {
        updated = true;
        if (isPhaseEnd<DistillState>(e)) {
          if (e.phase + 1 < phaseCount) checkpointed(e.phase + 1, 0);
        } else if (e.role === 'generator' && (e.key.step + 1) % d.checkpointEvery === 0) checkpointed(e.key.phase, e.key.step + 1);
      }),
    );
  try {
    const result = await trainDistill(input, {
      outDir: o.outDir,
      ...(o.log ? { log: o.log } : {}),
      ...(o.onStep ? { onStep: o.onStep } : {}),
      ...(resumeFrom !== undefined ? { resume: resumeFrom } : {}),
      ...(o.force ? { force: true } : {}),
      through,
    });
    try {
      // the student next to its teacher, same noise seed: the figures' side-by-side panels
      const teacher = result.teacher;
      const n = o.snapshotSize ?? snapshotSize(teacher.sampleShape, teacher.numClasses);
      const last = result.phases.length - 1;
      const iterations = result.phases[last]?.iterations ?? 0;
      const seed = splitSeed(d.seed, 'snapshot', 'final');
      const s = sampleStudent(result.experts, { n, seed });
      sink.append(eventOf({ type: 'sample', name: loaded.method, phase: last, step: iterations, x: s.x, labels: s.labels, nfe: studentNfe(result.experts) }));
      s.x.dispose();
      s.labels?.dispose();
      const t = sampleTeacher(teacher, { n, seed, sampler: { guidance: d.guidance } });
      const teacherNfe = TEACHER_DEFAULTS.sampler.steps * (d.guidance !== 1 && teacher.numClasses > 0 ? 2 : 1);
      sink.append(eventOf({ type: 'sample', name: 'teacher', phase: last, step: iterations, x: t.x, labels: t.labels, nfe: teacherNfe }));
      t.x.dispose();
      t.labels?.dispose();
      sink.append({ type: 'checkpoint', phase: last, step: iterations, file: ckpt });
      sink.append({ type: 'end', status: 'complete', phase: last, step: iterations });
    } finally {
      result.experts.forEach((e) => e.expert.dispose());
      result.teacher.dispose();
    }
  } catch (err) {
    sink.append({ type: 'end', status: 'failed', message: (err as Error).message ?? String(err) });
    // refused before the first update (bad checkpoint, config mismatch): nothing was stopped
    throw updated ? new TrainingStoppedError(err, lastGood) : err;
  } finally {
    sink.close();
  }
  return { kind: 'distill', method: loaded.method, checkpoint: ckpt, recording: recFile, report: null, seconds: (Date.now() - started) / 1000, resumedFrom: position.step };
};

/**
 * The paper's comparison (pipelines/experiment.ts) through the pipelines' dispatcher
 * `runConfig`: it records each (seed, method) run, reuses the ones an earlier run of the
 * same directory finished (so a rerun continues an interrupted experiment) and writes its
 * own report.
 */
const experimentRun = async (loaded: LoadedConfig, o: PipelineRunOptions, started: number): Promise<PipelineRunResult> => {
  const r = await runConfig(loaded.input, { outDir: o.outDir, ...(o.log ? { log: o.log } : {}) });
  const report = r.method === 'experiment' ? r.experiment.report : path.join(o.outDir, 'report.md');
  return { kind: 'experiment', method: 'experiment', checkpoint: null, recording: null, report, seconds: (Date.now() - started) / 1000, resumedFrom: 0 };
};

export const runPipeline = async (loaded: LoadedConfig, o: PipelineRunOptions): Promise<PipelineRunResult> => {
  fs.mkdirSync(o.outDir, { recursive: true });
  const started = Date.now();
  return loaded.kind === 'teacher' ? teacherRun(loaded, o, started) : loaded.kind === 'experiment' ? experimentRun(loaded, o, started) : distillRun(loaded, o, started);
};
