/**
 * Resumable, recorded distillation: the Phased pipeline's `trainDistill` (which writes
 * `<outDir>/last.ckpt` progress checkpoints and resumes from them exactly, see
 * lib/distill/checkpoint.ts) with a recording tap on its event stream (metrics and phase
 * ends) and the same outDir discipline as the teacher runner: an existing run is never
 * overwritten unless asked, a resumed one continues its recording.
 *
 * Everything the next update depends on is in last.ckpt: the teacher, the frozen experts
 * of finished phases, the running phase's generator, fake score, EMA and both Adam
 * states, and (phase, iterations). Random draws need no saved state: each is a pure
 * function of (seed, phase, step, role).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { keepAside } from '../util/atomicWrite';
import { MonoTypeOperatorFunction, tap } from 'rxjs';
import type { StepMetrics } from '../stream/types';
import type { PhaseEnd } from '../phases/concat';
import { resolveSchedule } from '../phases/resolve';
import type { DistillState } from '../distill/segment';
import { loadDistillState } from '../distill/checkpoint';
import { DistillConfig, withDefaults, scheduleFor, trainDistillConfig, DistillResult } from '../distill/distill';
import * as tf from '@tensorflow/tfjs-core';
import { record, eventOf } from '../record/record';
import { splitSeed } from '../random/seed';
import { sampleStudent, studentNfe } from '../distill/student';
import { sampleTeacher, teacherNfe } from '../teacher/teacher';
import { RecordingWriter, makeHeader } from '../record/writer';
import { ResumeError, TrainingStoppedError, LastGood, removeStaleTemps, optionHint, existingRunHint } from './errors';
import { preflight } from './preflight';
import { NonFiniteLossError } from '../operators/optimise/optimise';
import type { RunOptions } from './options';
import { withRunLock } from './lock';
import { PROGRESS_CHECKPOINT, RECORDING_FILE, STUDENT_CHECKPOINT } from '../checkpoint/files';
import { snapshotSize, balancedLabels } from './snapshots';
import { summariseRecording, RecordingSummary } from '../record/summary';

export { PROGRESS_CHECKPOINT, STUDENT_CHECKPOINT } from '../checkpoint/files';

export interface DistillRunResult extends DistillResult {
  /** Where this process started: (phase, iterations done in it). */
  readonly from: { readonly phase: number; readonly step: number };
  /** The student (`<outDir>/student.ckpt`), or null without an outDir. */
  readonly checkpoint: string | null;
  readonly recording: string | null;
}

type DistillEvent = StepMetrics | PhaseEnd<DistillState>;

/** A run that finished: its student is written and its recording ends "complete". */
const finished = (student: string | null, recFile: string | null): boolean =>
  student !== null &&
  recFile !== null &&
  fs.existsSync(student) &&
  fs.existsSync(recFile) &&
  E.exists((r: RecordingSummary) => r.status === 'complete')(summariseRecording(recFile, { onIssue: () => undefined }));

export const runDistill = async (input: unknown, options: RunOptions = {}): Promise<DistillRunResult> => {
  // everything checkable is checked before anything is written: codec, unknown fields, teacher and data files, schedule
  const checked = preflight(input, 'distill config', { teacherGiven: options.teacher !== undefined });
  if (E.isLeft(checked)) throw checked.left;
  // decoded once, here at the edge; trainDistillConfig takes it typed
  const config = checked.right.config as DistillConfig;
  const d = withDefaults(config);
  const phases = resolveSchedule(scheduleFor(config));
  const outDir = options.outDir;
  const last = outDir === undefined ? null : path.join(outDir, PROGRESS_CHECKPOINT);
  const student = outDir === undefined ? null : path.join(outDir, STUDENT_CHECKPOINT);
  if (options.record === true && outDir === undefined)
    throw new RangeError('record: true needs an outDir (or pass the recording path)');
  const recFile =
    options.record === true
      ? path.join(outDir!, RECORDING_FILE)
      : typeof options.record === 'string'
        ? options.record
        : null;

  // one process at a time writes a run directory (lib/train/lock.ts)
  return withRunLock(outDir, async () => {
    // an existing run is continued (resume) or kept aside (overwrite), never overwritten silently
    const existing = [last, recFile, student].filter((f): f is string => f !== null && fs.existsSync(f));
    if (!options.resume && existing.length > 0) {
      if (!options.overwrite) throw new ResumeError(`${existing[0]} already exists: ${existingRunHint}`);
      existing.forEach(keepAside);
    }
    // a run killed while writing a checkpoint leaves its temp file; the checkpoint itself is whole
    if (options.resume && outDir !== undefined) removeStaleTemps(outDir);
    let from = { phase: 0, step: 0 };
    let resumeFile: string | undefined;
    if (options.resume && last !== null && fs.existsSync(last)) {
      const saved = loadDistillState(last);
      if (E.isLeft(saved)) throw new ResumeError(`cannot resume: ${saved.left.message}`);
      from = { phase: saved.right.phase, step: saved.right.iterations };
      resumeFile = last;
    }
    if (options.resume && finished(student, recFile))
      throw new ResumeError(
        `${outDir}: the run is already complete (${STUDENT_CHECKPOINT} written, its recording ends "complete"); ` +
          `train again with ${optionHint('overwrite')}`,
      );
    const opened =
      recFile === null
        ? null
        : options.resume && fs.existsSync(recFile)
          ? RecordingWriter.resume(
              recFile,
              { config: input, ...from, force: options.force, truncate: options.truncateRecording },
              { fsyncEvery: options.fsyncEvery },
            )
          : E.map((w: RecordingWriter) => {
              if (from.phase > 0 || from.step > 0) w.append({ type: 'resume', ...from });
              return w;
            })(
              RecordingWriter.create(recFile, makeHeader({ config: input, seed: d.seed, kind: config.method }), {
                fsyncEvery: options.fsyncEvery,
              }),
            );
    if (opened !== null && E.isLeft(opened)) throw opened.left;
    const sink = opened === null ? null : opened.right;

    let lastGood: LastGood | null = resumeFile === undefined ? null : { file: resumeFile, ...from };
    let started = false;
    // trainDistill tells each progress checkpoint it wrote, after the event that caused it is recorded
    const checkpointed = (c: { file: string; phase: number; step: number }): void => {
      lastGood = c;
      sink?.append({ type: 'checkpoint', phase: c.phase, step: c.step, file: c.file });
      sink?.sync();
    };
    const through: MonoTypeOperatorFunction<DistillEvent> = (source) =>
      (sink === null ? source : source.pipe(record<DistillEvent>(sink))).pipe(
        tap(() => {
          started = true;
        }),
      );

    let result: DistillResult;
    try {
      result = await trainDistillConfig(config, {
        ...(outDir === undefined ? {} : { outDir }),
        ...(resumeFile === undefined ? {} : { resume: resumeFile }),
        ...(options.teacher === undefined ? {} : { teacher: options.teacher }),
        ...(options.log === undefined ? {} : { log: options.log }),
        ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
        force: options.force === true,
        through,
        onCheckpoint: checkpointed,
      });
    } catch (err) {
      sink?.append({ type: 'end', status: 'failed', message: (err as Error).message ?? String(err) });
      sink?.close();
      // refused before the first update (bad checkpoint, config mismatch): nothing was stopped
      if (!started && !(err instanceof NonFiniteLossError)) throw err;
      throw new TrainingStoppedError(err, lastGood);
    }
    const lastPhase = phases.length - 1;
    const iterations = phases[lastPhase].iterations;
    try {
      const n =
        options.samples === undefined
          ? 0
          : (options.samples.n ?? snapshotSize(result.teacher.sampleShape, result.teacher.numClasses));
      if (sink !== null && n > 0) {
        // the student next to its teacher, same noise seed: the figures' side-by-side panels
        const seed = splitSeed(d.seed, 'snapshot', 'final');
        // the same classes for both, each as often as n allows: the image grids' rows fill alike
        const labels = balancedLabels(n, result.teacher.numClasses);
        const s = sampleStudent(result.experts, { n, seed, labels });
        sink.append(
          eventOf({
            type: 'sample',
            name: config.method,
            phase: lastPhase,
            step: iterations,
            x: s.x,
            labels: s.labels,
            nfe: studentNfe(result.experts),
          }),
        );
        tf.dispose([s.x, ...(s.labels ? [s.labels] : [])]);
        const t = sampleTeacher(result.teacher, { n, seed, labels, sampler: { guidance: d.guidance } });
        const nfe = teacherNfe({ guidance: d.guidance }, result.teacher.numClasses);
        sink.append(
          eventOf({
            type: 'sample',
            name: 'teacher',
            phase: lastPhase,
            step: iterations,
            x: t.x,
            labels: t.labels,
            nfe,
          }),
        );
        tf.dispose([t.x, ...(t.labels ? [t.labels] : [])]);
      }
      if (student !== null) sink?.append({ type: 'checkpoint', phase: lastPhase, step: iterations, file: student });
      sink?.append({ type: 'end', status: 'complete', phase: lastPhase, step: iterations });
    } catch (err) {
      // the student is trained and saved; only its snapshot failed: the caller gets no models, so free them
      result.experts.forEach((e) => e.expert.dispose());
      result.teacher.dispose();
      sink?.append({ type: 'end', status: 'failed', message: (err as Error).message ?? String(err) });
      throw err;
    } finally {
      sink?.close();
    }
    return { ...result, from, checkpoint: student, recording: recFile };
  });
};
