/**
 * `verifyRecording(file)`: re-executes a training run from its recording's header
 * config and checks that every recorded metric (loss, gradient norm, extras of every
 * update, in order; wall times are not compared) and every phase-end weight digest is
 * reproduced exactly — bit for bit, as doubles — pointing at the first update that
 * differs if not.
 *
 * Exactness needs the same backend (checked against the header) and the same runtime:
 * wasm kernels in jest workers round some matMuls differently from a plain node process,
 * so verify a recording in the kind of process that made it. Paths in the config (a
 * teacher checkpoint) resolve against the working directory, as when the run was made.
 * An interrupted recording is verified up to its last update; nothing is written.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { tap } from 'rxjs';
import type { StepMetrics } from '../stream/types';
import { isPhaseEnd, PhaseEnd } from '../phases/concat';
import type { DistillState } from '../distill/segment';
import type { MetricsEvent, PhaseEndEvent, RecordedEvent, RecordingHeader } from '../record/events';
import { readRecording, RecordingError, ReadOptions } from '../record/reader';
import { effectiveEvents } from '../record/summary';
import { summariseState } from '../record/record';
import { canonicalJson } from '../record/hash';
import { runTeacher } from './teacher';
import { trainDistill } from '../distill/distill';
import { phaseLabel } from '../phases/label';

/** Where a re-executed run first differs from its recording. */
export interface Divergence {
  readonly _tag: 'Divergence';
  readonly file: string;
  /** Index of the update among the recorded ones (0-based). */
  readonly index: number;
  readonly phase: number;
  readonly step: number;
  readonly role: string;
  /**
   * "loss", "gradNorm", "extras.<name>", "role", "step", "phaseEnd.summary" (role "phaseEnd"), or "end" (the run
   * stopped early, or went on).
   */
  readonly field: string;
  readonly recorded: unknown;
  readonly actual: unknown;
}

export const formatDivergence = (d: Divergence): string =>
  `recording ${d.file}: update ${d.index} (${phaseLabel(d.phase)}, step ${d.step}, ${d.role}) differs in ` +
  `${d.field}: recorded ${JSON.stringify(d.recorded)}, re-executed ${JSON.stringify(d.actual)}`;

export interface VerifySummary {
  readonly file: string;
  /** Updates whose every number was reproduced. */
  readonly updates: number;
  readonly phaseEnds: number;
  /** Whether the recording ran to its end (else the verified prefix is what it holds). */
  readonly complete: boolean;
  readonly backend: string;
}

export type VerifyFailure = Divergence | RecordingError;

const same = (a: unknown, b: unknown): boolean => Object.is(a, b);

/** Wall-clock extras (`iterationMs`, …: names ending in "Ms") are not reproducible and not compared, like `ms`. */
export const isTimingExtra = (name: string): boolean => /Ms$/.test(name);

/** Compares one live update with its recording; the first differing field, or null. */
export const compareMetrics = (
  recorded: MetricsEvent,
  actual: StepMetrics,
): { field: string; recorded: unknown; actual: unknown } | null => {
  if (recorded.key.phase !== actual.key.phase || recorded.key.step !== actual.key.step)
    return {
      field: 'step',
      recorded: [recorded.key.phase, recorded.key.step],
      actual: [actual.key.phase, actual.key.step],
    };
  if (recorded.role !== actual.role) return { field: 'role', recorded: recorded.role, actual: actual.role };
  if (!same(recorded.loss, actual.loss)) return { field: 'loss', recorded: recorded.loss, actual: actual.loss };
  if (!same(recorded.gradNorm, actual.gradNorm))
    return { field: 'gradNorm', recorded: recorded.gradNorm, actual: actual.gradNorm };
  for (const [k, v] of Object.entries(recorded.extras))
    if (!isTimingExtra(k) && !same(v, actual.extras[k]))
      return { field: `extras.${k}`, recorded: v, actual: actual.extras[k] ?? null };
  return null;
};

class Stop extends Error {
  constructor(readonly divergence: Divergence | null) {
    super(divergence === null ? 'verified every recorded update' : formatDivergence(divergence));
  }
}

type RunEvent = StepMetrics | PhaseEnd<DistillState>;

/** Re-executes the run of `header`, handing each event (update metrics, phase ends) to `onEvent` as it happens. */
export type Reexecute = (header: RecordingHeader, onEvent: (e: RunEvent) => void) => Promise<void>;

/**
 * Teacher configs through the resumable runner, distillation configs through the Phased pipeline; nothing is written.
 */
export const reexecute: Reexecute = async (header, onEvent) => {
  const method = (header.config as { method?: unknown } | null)?.method;
  if (method === 'teacher') {
    const r = await runTeacher(header.config, { log: () => undefined, onStep: onEvent });
    r.model.dispose();
    return;
  }
  const r = await trainDistill(header.config, { log: () => undefined, through: tap(onEvent) });
  r.experts.forEach((e) => e.expert.dispose());
  r.teacher.dispose();
};

/**
 * Re-executes a recorded run and checks it. Left: the first divergence, or why the
 * recording cannot be verified (unreadable, other backend). Right: what was checked.
 */
export const verifyRecording = async (
  file: string,
  options: ReadOptions & { readonly run?: Reexecute } = {},
): Promise<E.Either<VerifyFailure, VerifySummary>> => {
  const read = readRecording(file, options);
  if (E.isLeft(read)) return read;
  const { header } = read.right;
  if (header.backend !== tf.getBackend())
    return E.left(
      new RecordingError(
        file,
        `recorded on the ${header.backend} backend, this process runs ${tf.getBackend()}: exact reproduction needs ` +
          `the same backend (initialise it first)`,
      ),
    );
  const events = effectiveEvents(read.right.events).events;
  const metrics = events.filter((e): e is MetricsEvent => e.type === 'metrics');
  const phaseEnds = events.filter((e): e is PhaseEndEvent => e.type === 'phaseEnd');
  const complete = events.some((e: RecordedEvent) => e.type === 'end' && e.status === 'complete');
  let i = 0;
  let p = 0;
  const at = (m: MetricsEvent | undefined) => ({
    phase: m?.key.phase ?? 0,
    step: m?.key.step ?? 0,
    role: m?.role ?? '',
  });
  const diverge = (
    field: string,
    recorded: unknown,
    actual: unknown,
    where: { phase: number; step: number; role: string },
  ): Divergence => ({ _tag: 'Divergence', file, index: i, ...where, field, recorded, actual });
  const check = (e: RunEvent): void => {
    if (isPhaseEnd<DistillState>(e)) {
      const rec = phaseEnds[p];
      if (rec === undefined) {
        if (complete)
          throw new Stop(diverge('phaseEnd', null, { phase: e.phase }, { phase: e.phase, step: 0, role: 'phaseEnd' }));
        return;
      }
      const actual = summariseState(e.state);
      if (rec.phase !== e.phase || canonicalJson(rec.summary) !== canonicalJson(actual))
        throw new Stop(
          diverge('phaseEnd.summary', rec.summary, actual, {
            phase: e.phase,
            step: metrics[i - 1]?.key.step ?? 0,
            role: 'phaseEnd',
          }),
        );
      p++;
      return;
    }
    const rec = metrics[i];
    if (rec === undefined) {
      // an interrupted recording: everything it holds matched
      if (!complete) throw new Stop(null);
      throw new Stop(
        diverge(
          'end',
          'no more updates',
          { phase: e.key.phase, step: e.key.step, role: e.role },
          at(e as unknown as MetricsEvent),
        ),
      );
    }
    const d = compareMetrics(rec, e);
    if (d !== null) throw new Stop(diverge(d.field, d.recorded, d.actual, at(rec)));
    i++;
  };
  try {
    await (options.run ?? reexecute)(header, check);
  } catch (err) {
    const stop =
      err instanceof Stop
        ? err
        : (err as { reason?: unknown }).reason instanceof Stop
          ? (err as { reason: Stop }).reason
          : null;
    if (stop === null)
      return E.left(new RecordingError(file, `re-executing the run failed: ${(err as Error).message}`));
    if (stop.divergence !== null) return E.left(stop.divergence);
  }
  if (i < metrics.length)
    return E.left(diverge('end', `${metrics.length - i} more updates`, 'the run ended', at(metrics[i])));
  return E.right({ file, updates: i, phaseEnds: p, complete, backend: header.backend });
};
