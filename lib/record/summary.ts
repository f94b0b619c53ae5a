/**
 * A run's report data from its recording, without retraining: loss and metric series
 * per role and phase, phase-end summaries, sample snapshots, checkpoints, and how the
 * run ended.
 *
 * Resumed runs: a crashed attempt may have recorded steps past its last checkpoint;
 * the resumed attempt re-runs them after a `resume` event. `effectiveEvents` keeps the
 * run as it finally happened: a resume at (phase p, step k) supersedes earlier step
 * events of updates (p, j ≥ k) or later phases, phase ends of phases ≥ p, snapshots and
 * checkpoints past (p, k), and any earlier `end`.
 */
import * as E from 'fp-ts/Either';
import type {
  CheckpointEvent,
  EndEvent,
  HostTensor,
  PhaseEndEvent,
  RecordedEvent,
  RecordingHeader,
  SampleEvent,
} from './events';
import { readRecording, ReadOptions, RecordingError, RecordingIssue } from './reader';

type Position = readonly [number, number];

const after = (a: Position, b: Position): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);

/** Where an event sits in the run: the (phase, steps done) it needs to have happened. */
const position = (e: RecordedEvent): Position | null => {
  switch (e.type) {
    case 'metrics':
    case 'loss':
    case 'batch':
    case 'timedBatch':
    case 'noisedBatch':
    case 'scoredBatch':
      return [e.key.phase, e.key.step + 1];
    case 'phaseEnd':
      return [e.phase, Infinity];
    case 'sample':
    case 'checkpoint':
      return [e.phase, e.step];
    default:
      return null;
  }
};

/** The events of the run as it finally happened (see the module comment), and how many were superseded. */
export const effectiveEvents = (events: readonly RecordedEvent[]): { events: RecordedEvent[]; superseded: number } => {
  const out: RecordedEvent[] = [];
  let superseded = 0;
  for (const e of events) {
    if (e.type === 'resume') {
      const at: Position = [e.phase, e.step];
      const before = out.length;
      const kept = out.filter((x) => {
        if (x.type === 'end') return false;
        const p = position(x);
        return p === null || !after(p, at);
      });
      superseded += before - kept.length;
      out.length = 0;
      out.push(...kept);
    }
    out.push(e);
  }
  return { events: out, superseded };
};

/** One role's series in one phase, in recorded order (a fake-score role has several updates per step). */
export interface LossSeries {
  readonly role: string;
  readonly phase: number;
  readonly step: number[];
  readonly loss: Array<number | null>;
  readonly gradNorm: Array<number | null>;
  readonly ms: number[];
  /** Extra scalars by name, aligned with `step` (null where an update did not report it). */
  readonly extras: Record<string, Array<number | null>>;
}

export interface SampleSummary {
  readonly name: string;
  readonly phase: number;
  readonly step: number;
  readonly nfe?: number;
  readonly x: HostTensor;
  readonly labels: HostTensor | null;
}

export interface RecordingSummary {
  readonly file: string;
  readonly header: RecordingHeader;
  /** complete: an `end` event says so; failed: the run stopped on an error; interrupted: the recording just stops. */
  readonly status: 'complete' | 'failed' | 'interrupted';
  readonly message?: string;
  readonly series: LossSeries[];
  readonly phaseEnds: ReadonlyArray<Pick<PhaseEndEvent, 'phase' | 'summary'>>;
  readonly samples: SampleSummary[];
  readonly checkpoints: ReadonlyArray<Pick<CheckpointEvent, 'phase' | 'step' | 'file'>>;
  /** Where the last recorded update left the run: (phase, steps done), or null when none was recorded. */
  readonly last: { readonly phase: number; readonly step: number } | null;
  readonly resumes: number;
  readonly superseded: number;
  readonly events: number;
  readonly issues: RecordingIssue[];
}

/** Folds (effective) events into report data. */
export const summariseEvents = (
  file: string,
  header: RecordingHeader,
  all: readonly RecordedEvent[],
  issues: RecordingIssue[] = [],
): RecordingSummary => {
  const { events, superseded } = effectiveEvents(all);
  const series = new Map<string, LossSeries>();
  const phaseEnds: Array<Pick<PhaseEndEvent, 'phase' | 'summary'>> = [];
  const samples: SampleSummary[] = [];
  const checkpoints: Array<Pick<CheckpointEvent, 'phase' | 'step' | 'file'>> = [];
  let end: EndEvent | null = null;
  let last: { phase: number; step: number } | null = null;
  let resumes = 0;
  for (const e of events) {
    if (e.type === 'metrics') {
      const id = `${e.key.phase}\u0000${e.role}`;
      let s = series.get(id);
      if (s === undefined)
        series.set(
          id,
          (s = { role: e.role, phase: e.key.phase, step: [], loss: [], gradNorm: [], ms: [], extras: {} }),
        );
      const n = s.step.length;
      s.step.push(e.key.step);
      s.loss.push(e.loss);
      s.gradNorm.push(e.gradNorm);
      s.ms.push(e.ms);
      for (const [k, v] of Object.entries(e.extras)) (s.extras[k] ??= Array<number | null>(n).fill(null)).push(v);
      for (const col of Object.values(s.extras)) if (col.length === n) col.push(null);
      last = { phase: e.key.phase, step: e.key.step + 1 };
    } else if (e.type === 'phaseEnd') phaseEnds.push({ phase: e.phase, summary: e.summary });
    else if (e.type === 'sample') samples.push(sampleSummary(e));
    else if (e.type === 'checkpoint') checkpoints.push({ phase: e.phase, step: e.step, file: e.file });
    else if (e.type === 'resume') resumes++;
    else if (e.type === 'end') end = e;
  }
  const ordered = [...series.values()].sort((a, b) => a.phase - b.phase || a.role.localeCompare(b.role));
  const status = end === null ? 'interrupted' : end.status;
  return {
    file,
    header,
    status,
    ...(end?.message === undefined ? {} : { message: end.message }),
    series: ordered,
    phaseEnds,
    samples,
    checkpoints,
    last,
    resumes,
    superseded,
    events: events.length,
    issues,
  };
};

const sampleSummary = (e: SampleEvent): SampleSummary => ({
  name: e.name,
  phase: e.phase,
  step: e.step,
  ...(e.nfe === undefined ? {} : { nfe: e.nfe }),
  x: e.x,
  labels: e.labels,
});

/** Report data of a recording (no tensors are created, nothing is trained). */
export const summariseRecording = (
  file: string,
  options: ReadOptions = {},
): E.Either<RecordingError, RecordingSummary> =>
  E.map((r: { header: RecordingHeader; events: RecordedEvent[]; issues: RecordingIssue[] }) =>
    summariseEvents(file, r.header, r.events, r.issues),
  )(readRecording(file, options));
