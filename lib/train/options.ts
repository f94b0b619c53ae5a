/** How a training run is run: the one options type of `runTeacher`, `runDistill` and `runConfig`. */
import type { StepMetrics } from '../stream/types';
import type { VelocityModel } from '../models/types';
import type { ModelConfig } from '../models/config';
import type { RunStart } from '../stream/runs';

export interface RunOptions {
  /** Where checkpoints (and the recording) go; absent: nothing is written. */
  readonly outDir?: string;
  /**
   * Continue the run in outDir from its last checkpoint (bit-exact on the same backend),
   * appending to its recording.
   */
  readonly resume?: boolean;
  /** Resume although the config differs from the checkpoint's / recording's. */
  readonly force?: boolean;
  /** With resume: cut a damaged recording at its last good line (else resume refuses it); what is dropped is logged. */
  readonly truncateRecording?: boolean;
  /** Start over although outDir holds a run (its files are kept aside, renamed). */
  readonly overwrite?: boolean;
  /** Record to `<outDir>/recording.ndjson` (true) or to this path. */
  readonly record?: boolean | string;
  /** Flush the recording to disk every this many lines. */
  readonly fsyncEvery?: number;
  readonly log?: (line: string) => void;
  readonly onStep?: (m: StepMetrics) => void;
  /**
   * Teacher runs, and the teachers an experiment or sweep trains: checkpoint every this many
   * steps (default 100) and at the end (a distillation config has its own `checkpointEvery`).
   */
  readonly checkpointEvery?: number;
  /** Teacher runs: record `n` samples every `every` steps (and at the end) for plots without retraining. */
  readonly snapshots?: { readonly n: number; readonly every?: number };
  /**
   * Distillation runs: at the end, record `n` samples of the student and of its teacher (same
   * noise seed) for the figures; `n` defaults by the data's shape (lib/train/snapshots.ts).
   */
  readonly samples?: { readonly n?: number };
  /** Distillation runs: an already loaded teacher (else the config's path or inline teacher config). */
  readonly teacher?: { model: VelocityModel; modelConfig: ModelConfig };
  /** Experiments: where metric lines go (default `log`). */
  readonly metricLog?: (line: string) => void;
  /** Experiments: called as each (seed, method) run starts. */
  readonly onRun?: (run: RunStart) => void;
}
