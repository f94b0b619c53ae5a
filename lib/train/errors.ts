/** Why a resumable run did not start, or why it stopped. Messages name the file and what to do. */
import * as fs from 'fs';
import * as path from 'path';
import { processAlive } from '../util/process';
import { phaseLabel } from '../phases/label';

/**
 * How to ask for a runner option, in words for both kinds of user: the command line's
 * flag and the API's option, e.g. "--resume (resume: true)".
 */
export const optionHint = (option: 'resume' | 'overwrite' | 'force'): string => `--${option} (${option}: true)`;

/** What to do about a run directory that already holds a run. */
export const existingRunHint =
  `resume that run with ${optionHint('resume')}, or start over with ` + `${optionHint('overwrite')}`;

/** A checkpoint or recording that cannot be resumed (missing, other run, other config). */
export class ResumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResumeError';
  }
}

export interface LastGood {
  readonly file: string;
  readonly phase: number;
  readonly step: number;
}

/** A run stopped by an error (a non-finite loss, a failed write, …); the last good checkpoint is kept. */
export class TrainingStoppedError extends Error {
  constructor(
    readonly reason: unknown,
    readonly lastGood: LastGood | null,
  ) {
    super(
      `${reason instanceof Error ? reason.message : String(reason)}; ` +
        (lastGood === null
          ? 'no checkpoint had been written yet'
          : `the last good checkpoint is kept: ${lastGood.file} (${phaseLabel(lastGood.phase)}, step ` +
            `${lastGood.step})`),
    );
    this.name = 'TrainingStoppedError';
  }
}

/**
 * Removes the temp files of atomic writes (lib/util/atomicWrite: `.<name>.<pid>.<ms>.tmp`)
 * that a killed process left in `dir` — only those of processes no longer running.
 * The files they were meant to replace are untouched (the rename never happened).
 */
export const removeStaleTemps = (dir: string): string[] => {
  if (!fs.existsSync(dir)) return [];
  const removed: string[] = [];
  for (const f of fs.readdirSync(dir)) {
    const m = /^\..+\.(\d+)\.\d+\.tmp$/.exec(f);
    if (m === null || processAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, f), { force: true });
    removed.push(f);
  }
  return removed;
};
