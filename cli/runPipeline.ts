/**
 * Runs a decoded pipeline config into a run directory the way the CLI wants it, through
 * the pipelines' one dispatcher (pipelines/run.ts `runConfig` → lib/train's runners):
 * checkpoints, a recording (`recording.ndjson`: metrics, phase ends, sample snapshots,
 * checkpoints, how the run ended), resume, and progress through `onStep`.
 *
 *   teacher   runTeacher, with periodic sample snapshots sized by the data's shape
 *   distill   runDistill, with the student's and the teacher's final samples side by side
 *   experiment  runExperiment: each (seed, method) run recorded in its own directory, its own report
 *
 * A run directory that already holds a run is never overwritten silently: `resume`
 * continues it, `overwrite` keeps the old files aside (renamed) and starts over.
 */
import * as E from 'fp-ts/Either';
import { RECORDING_FILE, TEACHER_CHECKPOINT } from '../lib/train/teacher';
import { STUDENT_CHECKPOINT, PROGRESS_CHECKPOINT } from '../lib/train/distill';
import { snapshotSize } from '../lib/train/snapshots';
import { runConfig, disposeRun, RunOptions } from '../pipelines/run';
import { makeDir } from '../lib/util/atomicWrite';
import { TEACHER_DEFAULTS } from '../lib/teacher/teacher';
import { DataConfig, imageSideOf, loadDataset } from '../lib/data/config';
import type { Dataset } from '../lib/data/types';
import type { LoadedConfig } from './loadConfig';

export { RECORDING_FILE, TEACHER_CHECKPOINT, STUDENT_CHECKPOINT, PROGRESS_CHECKPOINT };

export interface PipelineRunOptions extends Pick<
  RunOptions,
  'resume' | 'overwrite' | 'force' | 'truncateRecording' | 'log' | 'onStep' | 'metricLog' | 'onRun'
> {
  readonly outDir: string;
  /** Samples per recorded snapshot (default by data shape, see lib/train/snapshots.ts). */
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

/** Snapshot size and cadence of a teacher run, from its data config (without opening big datasets). */
const teacherSnapshots = (data: DataConfig, steps: number, n?: number): { n: number; every?: number } => {
  const shape =
    data.kind === 'mixture'
      ? { sampleShape: [2], numClasses: 8 }
      : data.kind === 'mnist' || data.kind === 'fashion-mnist'
        ? { sampleShape: [imageSideOf(data), imageSideOf(data), 1], numClasses: 10 }
        : data.kind === 'video'
          ? { sampleShape: [0, 0, 0], numClasses: data.classes ?? 4 }
          : E.getOrElseW(() => ({ sampleShape: [0, 0, 0], numClasses: 0 }))(
              E.map((ds: Dataset) => ({ sampleShape: ds.sampleShape, numClasses: ds.numClasses }))(loadDataset(data)),
            );
  const size = n ?? snapshotSize(shape.sampleShape, shape.numClasses);
  // a snapshot runs the full multi-step sampler: 5 per run for points of runs long enough to watch (the live view's
  // "latest samples"), else at the end only
  return { n: size, ...(shape.sampleShape.length === 1 && steps >= 500 ? { every: Math.round(steps / 5) } : {}) };
};

export const runPipeline = async (loaded: LoadedConfig, o: PipelineRunOptions): Promise<PipelineRunResult> => {
  makeDir(o.outDir);
  const teacherConfig = loaded.kind === 'teacher' ? (loaded.input as { steps?: number; data: DataConfig }) : null;
  const r = await runConfig(loaded.input, {
    outDir: o.outDir,
    record: true,
    resume: o.resume,
    overwrite: o.overwrite,
    force: o.force,
    truncateRecording: o.truncateRecording,
    log: o.log,
    metricLog: o.metricLog,
    onStep: o.onStep,
    onRun: o.onRun,
    ...(teacherConfig === null
      ? {}
      : {
          snapshots: teacherSnapshots(
            teacherConfig.data,
            teacherConfig.steps ?? TEACHER_DEFAULTS.steps,
            o.snapshotSize,
          ),
        }),
    samples: { n: o.snapshotSize },
  });
  disposeRun(r);
  const common = { method: loaded.method, checkpoint: r.checkpoint, recording: r.recording, seconds: r.seconds };
  return r.method === 'teacher'
    ? { ...common, kind: 'teacher', report: null, resumedFrom: r.teacher.from }
    : r.method === 'experiment' || r.method === 'sweep'
      ? { ...common, kind: 'experiment', report: r.experiment.report, resumedFrom: 0 }
      : { ...common, kind: 'distill', report: null, resumedFrom: r.distill.from.step };
};
