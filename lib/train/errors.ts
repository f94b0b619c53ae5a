/** Why a resumable run did not start, or why it stopped. Messages name the file and what to do. */

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
  constructor(readonly reason: unknown, readonly lastGood: LastGood | null) {
    super(
      `${reason instanceof Error ? reason.message : String(reason)}; ` +
        (lastGood === null ? 'no checkpoint had been written yet' : `the last good checkpoint is kept: ${lastGood.file} (phase ${lastGood.phase}, step ${lastGood.step})`),
    );
    this.name = 'TrainingStoppedError';
  }
}
