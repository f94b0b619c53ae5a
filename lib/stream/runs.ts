/**
 * A job made of several training runs (an experiment: one run per seed and method) tells
 * its progress display which run starts, and what all of them are, so the display can
 * label the run ("seed 0 · sgts (3/15)") and estimate the time left for the whole job.
 */

/** One planned run: its label parts and the iterations of each of its phases. */
export interface PlannedRun {
  readonly seed: number;
  readonly method: string;
  /** Iterations per phase (index 0 is the first phase). */
  readonly totals: readonly number[];
}

/**
 * Run `index` of `runs` starts now (index = runs.length: every run is over); runs before it
 * that never started were reused from an earlier job.
 */
export interface RunStart {
  readonly index: number;
  readonly runs: readonly PlannedRun[];
}
