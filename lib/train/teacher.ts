/**
 * Resumable, recorded teacher training: the pipeline's stream (lib/teacher/teacher.ts
 * `teacherSteps`) with checkpoints every `checkpointEvery` steps, a recording tap, and
 * exact resume.
 *
 * `<outDir>/teacher.ckpt` holds everything the next step depends on: the weights, Adam's
 * full state (lib/optim/adamState.ts: moments and the accumulated β powers, bit-exact),
 * the step, the config and its hash. Random draws need no saved state: each is a pure
 * function of (seed, phase, step, role) (lib/stream/types.ts `drawSeed`), so the "RNG
 * position" is the step itself. The file stays a valid teacher checkpoint for
 * `loadTeacher` at every point.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { keepAside } from '../util/atomicWrite';
import { loadCheckpoint, tensorsUnder } from '../checkpoint/format';
import type { NamedTensorData } from '../models/params';
import type { StepMetrics } from '../stream/types';
import { splitSeed } from '../random/seed';
import {
  TeacherConfig,
  resolveTeacherConfig,
  openTeacherRun,
  teacherLoop,
  sampleTeacher,
  saveTeacher,
  TeacherResult,
  teacherNfe,
} from '../teacher/teacher';
import { configHash } from '../record/hash';
import { record, eventOf } from '../record/record';
import { RecordingWriter, makeHeader } from '../record/writer';
import { restoreAdamState } from '../optim/adamState';
import { ResumeError, TrainingStoppedError, LastGood, removeStaleTemps, optionHint, existingRunHint } from './errors';
import { preflight } from './preflight';
import type { RunOptions } from './options';
import { withRunLock } from './lock';
import { balancedLabels } from './snapshots';

import { TEACHER_CHECKPOINT, RECORDING_FILE } from '../checkpoint/files';

export { TEACHER_CHECKPOINT, RECORDING_FILE } from '../checkpoint/files';

export interface TeacherRunResult extends TeacherResult {
  /** The step this process started from (0 for a fresh run). */
  readonly from: number;
  readonly checkpoint: string | null;
  readonly recording: string | null;
}

// ── Checkpoint ───────────────────────────────────────────────────────────────

// the format is the pipeline's (lib/teacher/teacher.ts saveTeacher), so `trainTeacher`'s checkpoints resume here too
export { RNG_NOTE, teacherCheckpointData } from '../teacher/teacher';

export interface TeacherProgress {
  readonly step: number;
  readonly weights: NamedTensorData[];
  readonly adam: NamedTensorData[];
  readonly configHash: string;
}

/** Reads a resumable teacher checkpoint and checks it belongs to this config (unless forced). */
export const readTeacherProgress = (file: string, hash: string, force = false): E.Either<Error, TeacherProgress> => {
  const loaded = loadCheckpoint(file);
  if (E.isLeft(loaded)) return loaded;
  const { meta } = loaded.right;
  const fail = (m: string) => E.left(new ResumeError(`cannot resume from ${file}: ${m}`));
  if (meta.kind !== 'teacher') return fail(`meta.kind: expected "teacher", got ${JSON.stringify(meta.kind)}`);
  if (typeof meta.step !== 'number' || !Number.isInteger(meta.step) || meta.step < 0)
    return fail(`meta.step: expected a step count, got ${JSON.stringify(meta.step)}`);
  if (typeof meta.configHash !== 'string')
    return fail(
      `it has no config hash (written by a run without resume support); start over with ${optionHint('overwrite')}`,
    );
  if (meta.configHash !== hash && !force)
    return fail(
      `config hash mismatch: the checkpoint was trained with config ${meta.configHash.slice(0, 12)}…, this config ` +
        `is ${hash.slice(0, 12)}… (resume anyway with ${optionHint('force')}, or start over with ` +
        `${optionHint('overwrite')})`,
    );
  const adam = tensorsUnder(loaded.right, 'opt/teacher/');
  if (adam.length === 0) return fail('it holds no optimiser state');
  return E.right({
    step: meta.step,
    weights: tensorsUnder(loaded.right, 'teacher/'),
    adam,
    configHash: meta.configHash,
  });
};

// ── The run ──────────────────────────────────────────────────────────────────

/**
 * Trains a teacher with checkpoints and (optionally) a recording. With `resume`, an
 * existing `<outDir>/teacher.ckpt` is continued exactly: the final weights equal an
 * uninterrupted run's bit for bit on the same backend. A run stopped by an error (a
 * non-finite loss) throws TrainingStoppedError and keeps the last good checkpoint.
 */
export const runTeacher = async (input: unknown, options: RunOptions = {}): Promise<TeacherRunResult> => {
  // everything checkable is checked before anything is written: codec, unknown fields, data files
  const checked = preflight(input, 'teacher config');
  if (E.isLeft(checked)) throw checked.left;
  // decoded once, by the preflight check
  const config = resolveTeacherConfig(checked.right.config as TeacherConfig);
  const hash = configHash(input);
  const every = options.checkpointEvery ?? 100;
  if (!(Number.isInteger(every) && every >= 1))
    throw new RangeError(`checkpointEvery: expected a positive integer, got ${every}`);
  const outDir = options.outDir;
  const ckpt = outDir === undefined ? null : path.join(outDir, TEACHER_CHECKPOINT);
  const recFile =
    options.record === true
      ? outDir === undefined
        ? null
        : path.join(outDir, RECORDING_FILE)
      : typeof options.record === 'string'
        ? options.record
        : null;
  if (options.record === true && outDir === undefined)
    throw new RangeError('record: true needs an outDir (or pass the recording path)');

  // one process at a time writes a run directory (lib/train/lock.ts)
  return withRunLock(outDir, async () => {
    // a run killed while writing a checkpoint leaves its temp file; the checkpoint itself is whole
    if (options.resume && outDir !== undefined) removeStaleTemps(outDir);
    let progress: TeacherProgress | null = null;
    if (ckpt !== null && fs.existsSync(ckpt)) {
      if (options.resume) {
        const p = readTeacherProgress(ckpt, hash, options.force);
        if (E.isLeft(p)) throw p.left;
        progress = p.right;
      } else if (!options.overwrite) throw new ResumeError(`${ckpt} already exists: ${existingRunHint}`);
    }
    if (recFile !== null && !options.resume && fs.existsSync(recFile)) {
      if (!options.overwrite) throw new ResumeError(`${recFile} already exists: ${existingRunHint}`);
      keepAside(recFile);
    }

    const { dataset, model, trainer, modelConfig } = openTeacherRun(config);
    const from = Math.min(progress?.step ?? 0, config.steps);
    const dispose = () => trainer.optimizer.dispose();
    try {
      if (progress !== null) {
        model.params.write(progress.weights, `${ckpt}: teacher`);
        restoreAdamState(trainer.optimizer, progress.adam, trainer.variables, `${ckpt}: optimiser state`);
      }
    } catch (err) {
      dispose();
      model.dispose();
      throw new ResumeError(`cannot resume from ${ckpt}: ${(err as Error).message}`);
    }

    const opened =
      recFile === null
        ? null
        : options.resume && fs.existsSync(recFile)
          ? RecordingWriter.resume(
              recFile,
              { config: input, phase: 0, step: from, force: options.force, truncate: options.truncateRecording },
              { fsyncEvery: options.fsyncEvery },
            )
          : E.map((w: RecordingWriter) => {
              if (from > 0) w.append({ type: 'resume', phase: 0, step: from });
              return w;
            })(
              RecordingWriter.create(recFile, makeHeader({ config: input, seed: config.seed, kind: 'teacher' }), {
                fsyncEvery: options.fsyncEvery,
              }),
            );
    if (opened !== null && E.isLeft(opened)) {
      dispose();
      model.dispose();
      throw opened.left;
    }
    const sink = opened === null ? null : opened.right;

    let lastGood: LastGood | null =
      progress === null || ckpt === null ? null : { file: ckpt, phase: 0, step: progress.step };
    const save = (step: number): void => {
      if (ckpt === null) return;
      saveTeacher(ckpt, { model, modelConfig, config, input, trainer, step, dataset });
      lastGood = { file: ckpt, phase: 0, step };
      sink?.append({ type: 'checkpoint', phase: 0, step, file: ckpt });
      sink?.sync();
    };
    const snapshot = (step: number): void => {
      const s = options.snapshots;
      if (sink === null || s === undefined || s.n <= 0) return;
      const { x, labels } = sampleTeacher(model, {
        n: s.n,
        seed: splitSeed(config.seed, 'snapshot', step),
        labels: balancedLabels(s.n, model.numClasses),
        sampler: config.sampler,
      });
      const nfe = teacherNfe(config.sampler, model.numClasses);
      sink.append(eventOf({ type: 'sample', name: 'teacher', phase: 0, step, x, labels, nfe }));
      x.dispose();
      labels?.dispose();
    };

    const metrics: StepMetrics[] = [];
    try {
      await teacherLoop({ dataset, model, trainer }, config, {
        from,
        ...(sink === null ? {} : { through: record<StepMetrics>(sink) }),
        log: options.log,
        onStep: (m) => {
          metrics.push(m);
          options.onStep?.(m);
          const done = m.key.step + 1;
          if (done < config.steps) {
            if (options.snapshots?.every !== undefined && done % options.snapshots.every === 0) snapshot(done);
            if (done % every === 0) save(done);
          }
        },
      });
      if (from < config.steps || progress === null) {
        snapshot(config.steps);
        save(config.steps);
      }
      sink?.append({ type: 'end', status: 'complete', phase: 0, step: config.steps });
    } catch (err) {
      sink?.append({
        type: 'end',
        status: 'failed',
        message: (err as Error).message ?? String(err),
        phase: 0,
        step: from + metrics.length,
      });
      sink?.close();
      dispose();
      model.dispose();
      throw new TrainingStoppedError(err, lastGood);
    }
    sink?.close();
    dispose();
    return { model, modelConfig, dataset, config, metrics, from, checkpoint: ckpt, recording: recFile };
  });
};
