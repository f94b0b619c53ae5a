/**
 * `record(sink)`: a tap that appends each element of a typed stream to a recording and
 * passes it on unchanged (it owns nothing, disposes nothing).
 *
 *   StepMetrics         → metrics event
 *   Batch / TimedBatch / NoisedBatch / ScoredBatch → batch event with its tensors
 *   LossStep            → loss event with the loss value, written when the optimiser
 *                         evaluates the closure (the step passes on with a wrapped closure
 *                         that reads the value it already computed: one host sync)
 *   PhaseEnd            → phaseEnd event with the state summarised (see summariseState)
 *   SampleSnapshot      → sample event with the samples
 */
import * as tf from '@tensorflow/tfjs-core';
import { MonoTypeOperatorFunction, map } from 'rxjs';
import type { Batch, LossStep, StepKey, StepMetrics } from '../stream/types';
import { isPhaseEnd, PhaseEnd } from '../phases/concat';
import { Params } from '../models/params';
import type { EventInput, RecordingSink } from './writer';
import { toHost } from './tensors';
import { weightsDigest } from './hash';

/** Samples drawn from a model at some point of a run. Owns its tensors. */
export interface SampleSnapshot {
  readonly type: 'sample';
  readonly name: string;
  readonly phase: number;
  readonly step: number;
  readonly x: tf.Tensor;
  readonly labels: tf.Tensor1D | null;
  /** Function evaluations per sample. */
  readonly nfe?: number;
}

export type Recordable = StepMetrics | Batch | LossStep | PhaseEnd<unknown> | SampleSnapshot;

export interface RecordOptions {
  /** Names this tap in the recording (several taps can share one recording). */
  readonly tap?: string;
  /** How a phase's leaving state is summarised (default: summariseState). */
  readonly summarise?: (state: unknown) => unknown;
}

const keyOf = (k: StepKey): StepKey => ({ seed: k.seed, phase: k.phase, step: k.step });

const isTensor = (v: unknown): v is tf.Tensor => v instanceof tf.Tensor;

const isLossStep = (e: object): e is LossStep => typeof (e as { loss?: unknown }).loss === 'function';
const isSample = (e: object): e is SampleSnapshot => (e as { type?: unknown }).type === 'sample';
const isMetrics = (e: object): e is StepMetrics => 'gradNorm' in e && 'role' in e && 'key' in e;
const isBatch = (e: object): e is Batch => isTensor((e as { x0?: unknown }).x0) && 'key' in e;

const withTap = <E extends object>(e: E, tap: string | undefined): E => (tap === undefined ? e : { ...e, tap });

/** The event for an element (LossSteps are recorded through their closure, see `record`). */
export const eventOf = (element: Exclude<Recordable, LossStep>, options: RecordOptions = {}): EventInput => {
  const tap = options.tap;
  if (isPhaseEnd<unknown>(element))
    return withTap(
      { type: 'phaseEnd', phase: element.phase, summary: (options.summarise ?? summariseState)(element.state) },
      tap,
    ) as EventInput;
  if (isSample(element))
    return withTap(
      {
        type: 'sample',
        name: element.name,
        phase: element.phase,
        step: element.step,
        x: toHost(element.x),
        labels: element.labels === null ? null : toHost(element.labels),
        ...(element.nfe === undefined ? {} : { nfe: element.nfe }),
      },
      tap,
    ) as EventInput;
  if (isMetrics(element))
    return withTap(
      {
        type: 'metrics',
        key: keyOf(element.key),
        role: element.role,
        loss: element.loss,
        gradNorm: element.gradNorm,
        extras: { ...element.extras },
        ms: element.ms,
      },
      tap,
    ) as EventInput;
  if (isBatch(element)) {
    const b = element as Batch & { t?: unknown; eps?: unknown; xt?: unknown; v?: unknown };
    const base = { key: keyOf(b.key), x0: toHost(b.x0), labels: b.labels === null ? null : toHost(b.labels) };
    if (isTensor(b.t) && isTensor(b.eps) && isTensor(b.xt)) {
      const noised = { ...base, t: toHost(b.t), eps: toHost(b.eps), xt: toHost(b.xt) };
      return withTap(
        isTensor(b.v) ? { type: 'scoredBatch', ...noised, v: toHost(b.v) } : { type: 'noisedBatch', ...noised },
        tap,
      ) as EventInput;
    }
    return withTap(
      isTensor(b.t) ? { type: 'timedBatch', ...base, t: toHost(b.t) } : { type: 'batch', ...base },
      tap,
    ) as EventInput;
  }
  throw new TypeError(
    `record: cannot record an element with fields {${Object.keys(element).join(', ')}}; expected StepMetrics, a ` +
      `batch, a LossStep, a PhaseEnd or a SampleSnapshot`,
  );
};

/** A LossStep whose closure appends the loss value the first time it is evaluated. */
const recordingLoss = (step: LossStep, sink: RecordingSink, tap: string | undefined): LossStep => {
  let written = false;
  return {
    ...step,
    loss: () => {
      const value = step.loss();
      if (!written) {
        written = true;
        sink.append(
          withTap(
            { type: 'loss', key: keyOf(step.key), role: step.role, value: value.dataSync()[0] },
            tap,
          ) as EventInput,
        );
      }
      return value;
    },
  };
};

/** Taps a typed stream into a recording; elements pass on unchanged (LossSteps with a recording closure). */
export const record = <T extends Recordable>(
  sink: RecordingSink,
  options: RecordOptions = {},
): MonoTypeOperatorFunction<T> =>
  map((element) => {
    if (isLossStep(element)) return recordingLoss(element, sink, options.tap) as T;
    sink.append(eventOf(element as Exclude<Recordable, LossStep>, options));
    return element;
  });

// ── State summaries ──────────────────────────────────────────────────────────

const MAX_ITEMS = 64;
const MAX_DEPTH = 5;

const isModelLike = (v: object): v is { params: Params; config?: { kind?: unknown } } =>
  (v as { params?: unknown }).params instanceof Params;

const finite = (n: number): number | string => (Number.isFinite(n) ? n : String(n));

/**
 * A JSON summary of a phase's state: numbers, strings and small arrays as they are;
 * tensors as {dtype, shape}; models and Params as {parameters, sha256 of the weights},
 * so a replayed run can check each phase's experts without storing them.
 */
export const summariseState = (state: unknown, depth = 0): unknown => {
  if (state === null || typeof state === 'boolean' || typeof state === 'string') return state;
  if (typeof state === 'number') return finite(state);
  if (typeof state !== 'object') return undefined;
  if (isTensor(state)) return { tensor: { dtype: state.dtype, shape: state.shape } };
  if (state instanceof Params) return { parameters: state.size, sha256: weightsDigest(state.read()) };
  if (isModelLike(state))
    return {
      model: state.config?.kind ?? 'unknown',
      parameters: state.params.size,
      sha256: weightsDigest(state.params.read()),
    };
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(state))
    return state.length > MAX_ITEMS ? { length: state.length } : state.map((v) => summariseState(v, depth + 1) ?? null);
  if (Object.getPrototypeOf(state) !== Object.prototype) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(state)) {
    const s = summariseState(v, depth + 1);
    if (s !== undefined) out[k] = s;
  }
  return out;
};
