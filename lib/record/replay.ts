/**
 * `replay(file)`: a recording as a source of the same typed events (a
 * replayed stream stands in for a live source). Lines are read and decoded as they are
 * pulled; tensors are created only for the events emitted, and each emitted element
 * owns its tensors (the consumer disposes them, as with a live source).
 *
 * Speed: 'instant' (default) emits synchronously, as fast as the consumer takes them;
 * a number s replays in recorded time divided by s (event i is due `at_i / s` ms after
 * subscription, on `scheduler`: real timers by default, virtual time under TestScheduler).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { Observable, SchedulerLike, asyncScheduler, concatMap, map, timer, defer, throwError } from 'rxjs';
import type { Batch, NoisedBatch, ScoredBatch, StepKey, StepMetrics, TimedBatch } from '../stream/types';
import type { CheckpointEvent, EndEvent, EventType, HostTensor, RecordedEvent, ResumeEvent } from './events';
import { openRecordingReader, ReadOptions } from './reader';
import { toTensor } from './tensors';
import type { SampleSnapshot } from './record';

/** A LossStep's recorded value. */
export interface LossValue {
  readonly key: StepKey;
  readonly role: string;
  readonly value: number;
}

/** What each event type replays as. */
export interface LiveValues {
  metrics: StepMetrics;
  loss: LossValue;
  batch: Batch;
  timedBatch: TimedBatch;
  noisedBatch: NoisedBatch;
  scoredBatch: ScoredBatch;
  phaseEnd: { readonly phase: number; readonly summary: unknown };
  sample: SampleSnapshot;
  checkpoint: CheckpointEvent;
  resume: ResumeEvent;
  end: EndEvent;
}

export type Replayed<K extends EventType = EventType> = K extends EventType
  ? { readonly type: K; readonly at: number; readonly tap?: string; readonly value: LiveValues[K] }
  : never;

const labelsOf = (h: HostTensor | null): tf.Tensor1D | null => (h === null ? null : (toTensor(h) as tf.Tensor1D));

/** A recorded event as a live element (new tensors, owned by the caller). */
export const materialise = (e: RecordedEvent): Replayed => {
  const head = { at: e.at, ...(e.tap === undefined ? {} : { tap: e.tap }) };
  const live = <K extends EventType>(type: K, value: LiveValues[K]): Replayed =>
    ({ type, ...head, value }) as unknown as Replayed;
  switch (e.type) {
    case 'metrics':
      return live('metrics', {
        key: e.key,
        role: e.role,
        loss: e.loss,
        gradNorm: e.gradNorm,
        extras: e.extras,
        ms: e.ms,
      });
    case 'loss':
      return live('loss', { key: e.key, role: e.role, value: e.value });
    case 'batch':
      return live('batch', { key: e.key, x0: toTensor(e.x0), labels: labelsOf(e.labels) });
    case 'timedBatch':
      return live('timedBatch', {
        key: e.key,
        x0: toTensor(e.x0),
        labels: labelsOf(e.labels),
        t: toTensor(e.t) as tf.Tensor1D,
      });
    case 'noisedBatch':
      return live('noisedBatch', {
        key: e.key,
        x0: toTensor(e.x0),
        labels: labelsOf(e.labels),
        t: toTensor(e.t) as tf.Tensor1D,
        eps: toTensor(e.eps),
        xt: toTensor(e.xt),
      });
    case 'scoredBatch':
      return live('scoredBatch', {
        key: e.key,
        x0: toTensor(e.x0),
        labels: labelsOf(e.labels),
        t: toTensor(e.t) as tf.Tensor1D,
        eps: toTensor(e.eps),
        xt: toTensor(e.xt),
        v: toTensor(e.v),
      });
    case 'phaseEnd':
      return live('phaseEnd', { phase: e.phase, summary: e.summary });
    case 'sample':
      return live('sample', {
        type: 'sample',
        name: e.name,
        phase: e.phase,
        step: e.step,
        x: toTensor(e.x),
        labels: labelsOf(e.labels),
        ...(e.nfe === undefined ? {} : { nfe: e.nfe }),
      });
    default:
      return live(e.type, e as never);
  }
};

export interface ReplayOptions extends ReadOptions {
  /** 'instant' (default) or a positive factor on recorded time (2 = twice as fast). */
  readonly speed?: number | 'instant';
  /** Scheduler for timed replay (default asyncScheduler). */
  readonly scheduler?: SchedulerLike;
  /** Only these event types (others are skipped before any tensor is made). */
  readonly types?: readonly EventType[];
  /** Only events of this tap. */
  readonly tap?: string;
}

/** Recorded events (host data), pulled lazily; a corrupt line errors the stream with its line number. */
const recordedEvents = (file: string, options: ReplayOptions): Observable<RecordedEvent> =>
  new Observable<RecordedEvent>((subscriber) => {
    const opened = openRecordingReader(file, options);
    if (E.isLeft(opened)) {
      subscriber.error(opened.left);
      return;
    }
    const wanted = (e: RecordedEvent): boolean =>
      (options.types === undefined || options.types.includes(e.type)) &&
      (options.tap === undefined || e.tap === options.tap);
    const it = opened.right.events();
    try {
      for (let r = it.next(); !r.done && !subscriber.closed; r = it.next())
        if (wanted(r.value)) subscriber.next(r.value);
      subscriber.complete();
    } catch (err) {
      subscriber.error(err);
    } finally {
      it.return(undefined);
    }
  });

export const replay = (file: string, options: ReplayOptions = {}): Observable<Replayed> => {
  const speed = options.speed ?? 'instant';
  if (speed !== 'instant' && !(typeof speed === 'number' && Number.isFinite(speed) && speed > 0))
    return throwError(
      () => new RangeError(`replay: speed must be a positive number or 'instant', got ${String(speed)}`),
    );
  const events = recordedEvents(file, options);
  if (speed === 'instant') return events.pipe(map(materialise));
  return defer(() => {
    let previous = 0;
    return events.pipe(
      concatMap((e) => {
        // `at` restarts after a resume: never wait a negative time
        const wait = Math.max(0, e.at - previous) / speed;
        previous = e.at;
        return timer(wait, options.scheduler ?? asyncScheduler).pipe(map(() => materialise(e)));
      }),
    );
  });
};

/** The live values of one event type (e.g. the NoisedBatch stream of a tap). */
export const replayValues = <K extends EventType>(
  file: string,
  type: K,
  options: Omit<ReplayOptions, 'types'> = {},
): Observable<LiveValues[K]> => replay(file, { ...options, types: [type] }).pipe(map((e) => e.value as LiveValues[K]));
