/**
 * Recording format (version 2): NDJSON, one JSON object a line, each ending with its
 * chained checksum `"sum"` (./chain.ts; version 1, without checksums, is still read).
 *
 *   line 1     the header {type: "header", format, version, config, configHash, seed,
 *              backend, versions, createdAt}
 *   lines 2…   one event a line, each {type, at, tap?, …}: `at` is ms since the writer was
 *              opened (it restarts at 0 after a `resume` event), `tap` names the
 *              `record(…)` tap that wrote it when a recording holds several streams.
 *
 * Tensors are stored inline as {dtype, shape, b64}: the little-endian bytes of the
 * values in C order, base64. Inline keeps every event self-contained in one line, so
 * the line is the unit of atomicity (no side file can disagree with the log); the cost
 * is ~4/3 × the raw size, fine for the toy-scale batches recordings are meant for.
 * Non-finite numbers (JSON has none) are written as the strings "NaN", "Infinity",
 * "-Infinity". Finite doubles round-trip exactly through JSON.
 *
 * Every codec decodes to host data (typed arrays, never tf tensors) so a line that
 * fails half-way cannot leak tensors; `materialise` (./tensors) makes the live elements.
 */
import * as t from 'io-ts';

export const RECORDING_FORMAT = 'phased-dmd-recording';
export const RECORDING_VERSION = 2;
/** Versions the reader accepts: 1 has no checksums. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

// ── Numbers and tensors ──────────────────────────────────────────────────────

/** A non-negative integer (unbranded: events are built from plain numbers). */
export const Index = new t.Type<number, number, unknown>(
  'NonNegativeInt',
  (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= 0,
  (u, c) => (typeof u === 'number' && Number.isInteger(u) && u >= 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** A double, non-finite values spelled as strings (JSON cannot hold them). */
export const JsonNumber = new t.Type<number, number | string, unknown>(
  'number (or "NaN" / "Infinity" / "-Infinity")',
  (u): u is number => typeof u === 'number',
  (u, c) =>
    typeof u === 'number'
      ? t.success(u)
      : u === 'NaN'
        ? t.success(NaN)
        : u === 'Infinity'
          ? t.success(Infinity)
          : u === '-Infinity'
            ? t.success(-Infinity)
            : t.failure(u, c),
  (n) => (Number.isFinite(n) ? n : String(n)),
);

export const TensorDtype = t.keyof({ float32: null, int32: null, bool: null });
export type TensorDtype = t.TypeOf<typeof TensorDtype>;

/** Tensor values on the host, as recorded. */
export interface HostTensor {
  readonly dtype: TensorDtype;
  readonly shape: readonly number[];
  readonly values: Float32Array | Int32Array | Uint8Array;
}

const BYTES: Record<TensorDtype, number> = { float32: 4, int32: 4, bool: 1 };

const EncodedTensor = t.type({ dtype: TensorDtype, shape: t.array(Index), b64: t.string });
type EncodedTensor = t.TypeOf<typeof EncodedTensor>;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const fromBytes = (dtype: TensorDtype, bytes: Buffer): HostTensor['values'] => {
  const copy = new Uint8Array(bytes); // fresh, aligned buffer
  return dtype === 'float32' ? new Float32Array(copy.buffer) : dtype === 'int32' ? new Int32Array(copy.buffer) : copy;
};

/** {dtype, shape, b64} ⇄ HostTensor; the byte count must match the shape. */
export const Tensor = new t.Type<HostTensor, EncodedTensor, unknown>(
  'Tensor',
  (u): u is HostTensor => typeof u === 'object' && u !== null && 'values' in u && 'shape' in u && 'dtype' in u,
  (u, c) => {
    const r = EncodedTensor.validate(u, c);
    if (r._tag === 'Left') return r;
    const { dtype, shape, b64 } = r.right;
    if (!BASE64.test(b64)) return t.failure(u, c, 'expected a tensor whose b64 field is base64');
    const bytes = Buffer.from(b64, 'base64');
    const count = shape.reduce((a, b) => a * b, 1);
    if (bytes.length !== count * BYTES[dtype])
      return t.failure(
        u,
        c,
        `expected ${count * BYTES[dtype]} bytes of ${dtype} for shape [${shape.join(', ')}], got ${bytes.length}`,
      );
    return t.success({ dtype, shape, values: fromBytes(dtype, bytes) });
  },
  (h) => ({
    dtype: h.dtype,
    shape: [...h.shape],
    b64: Buffer.from(h.values.buffer, h.values.byteOffset, h.values.byteLength).toString('base64'),
  }),
);

/** Any JSON value (configs, state summaries). */
export const Json: t.Type<unknown> = t.unknown;

// ── Events ───────────────────────────────────────────────────────────────────

export const RecordedStepKey = t.type({ seed: Index, phase: Index, step: Index });
export type RecordedStepKey = t.TypeOf<typeof RecordedStepKey>;

const common = t.intersection([t.type({ at: JsonNumber }), t.partial({ tap: t.string })]);

const event = <T extends string, P extends t.Props>(type: T, props: P) =>
  t.intersection([t.type({ type: t.literal(type) }), common, t.type(props)]);

/** The first line. `config` is the input config as given; `configHash` its canonical sha256. */
export const RecordingHeader = t.intersection([
  t.type({
    type: t.literal('header'),
    format: t.literal(RECORDING_FORMAT),
    version: t.union([t.literal(1), t.literal(RECORDING_VERSION)]),
    config: Json,
    configHash: t.string,
    seed: Index,
    backend: t.string,
    versions: t.record(t.string, t.string),
    createdAt: t.string,
  }),
  t.partial({ kind: t.string }),
]);
export type RecordingHeader = t.TypeOf<typeof RecordingHeader>;

/** StepMetrics of one optimiser update. */
export const MetricsEvent = event('metrics', {
  key: RecordedStepKey,
  role: t.string,
  loss: t.union([JsonNumber, t.null]),
  gradNorm: t.union([JsonNumber, t.null]),
  extras: t.record(t.string, JsonNumber),
  ms: JsonNumber,
});
export type MetricsEvent = t.TypeOf<typeof MetricsEvent>;

/** The value of a LossStep's loss, read when the optimiser evaluated it. */
export const LossEvent = event('loss', { key: RecordedStepKey, role: t.string, value: JsonNumber });
export type LossEvent = t.TypeOf<typeof LossEvent>;

const labels = t.union([Tensor, t.null]);

export const BatchEvent = event('batch', { key: RecordedStepKey, x0: Tensor, labels });
export type BatchEvent = t.TypeOf<typeof BatchEvent>;

export const TimedBatchEvent = event('timedBatch', { key: RecordedStepKey, x0: Tensor, labels, t: Tensor });
export type TimedBatchEvent = t.TypeOf<typeof TimedBatchEvent>;

export const NoisedBatchEvent = event('noisedBatch', {
  key: RecordedStepKey,
  x0: Tensor,
  labels,
  t: Tensor,
  eps: Tensor,
  xt: Tensor,
});
export type NoisedBatchEvent = t.TypeOf<typeof NoisedBatchEvent>;

export const ScoredBatchEvent = event('scoredBatch', {
  key: RecordedStepKey,
  x0: Tensor,
  labels,
  t: Tensor,
  eps: Tensor,
  xt: Tensor,
  v: Tensor,
});
export type ScoredBatchEvent = t.TypeOf<typeof ScoredBatchEvent>;

/** A phase's end; the state handed on is summarised (expert count, grids, weight digests), not stored. */
export const PhaseEndEvent = event('phaseEnd', { phase: Index, summary: Json });
export type PhaseEndEvent = t.TypeOf<typeof PhaseEndEvent>;

/** Samples drawn from a model during or after training (for plots without retraining). */
export const SampleEvent = t.intersection([
  event('sample', { name: t.string, phase: Index, step: Index, x: Tensor, labels }),
  t.partial({ nfe: Index }),
]);
export type SampleEvent = t.TypeOf<typeof SampleEvent>;

/** A checkpoint was written holding everything up to (phase, step) exclusive. */
export const CheckpointEvent = event('checkpoint', { phase: Index, step: Index, file: t.string });
export type CheckpointEvent = t.TypeOf<typeof CheckpointEvent>;

/**
 * The run resumed from a checkpoint at (phase, step): events recorded earlier for that
 * position or later were written by the crashed attempt and are superseded.
 */
export const ResumeEvent = t.intersection([
  event('resume', { phase: Index, step: Index }),
  t.partial({ droppedBytes: Index, droppedLines: Index, forced: t.boolean }),
]);
export type ResumeEvent = t.TypeOf<typeof ResumeEvent>;

/** The run ended: completed, or stopped by an error (message kept). */
export const EndEvent = t.intersection([
  event('end', { status: t.keyof({ complete: null, failed: null }) }),
  t.partial({ message: t.string, phase: Index, step: Index }),
]);
export type EndEvent = t.TypeOf<typeof EndEvent>;

export const RecordedEvent = t.union([
  MetricsEvent,
  LossEvent,
  BatchEvent,
  TimedBatchEvent,
  NoisedBatchEvent,
  ScoredBatchEvent,
  PhaseEndEvent,
  SampleEvent,
  CheckpointEvent,
  ResumeEvent,
  EndEvent,
]);
export type RecordedEvent = t.TypeOf<typeof RecordedEvent>;
export type EventType = RecordedEvent['type'];

/** Event codecs by type: a line is decoded by its `type` so errors point at the right fields. */
export const EVENT_CODECS: {
  readonly [K in EventType]: t.Type<Extract<RecordedEvent, { type: K }>, unknown, unknown>;
} = {
  metrics: MetricsEvent,
  loss: LossEvent,
  batch: BatchEvent,
  timedBatch: TimedBatchEvent,
  noisedBatch: NoisedBatchEvent,
  scoredBatch: ScoredBatchEvent,
  phaseEnd: PhaseEndEvent,
  sample: SampleEvent,
  checkpoint: CheckpointEvent,
  resume: ResumeEvent,
  end: EndEvent,
} as never;

export const EVENT_TYPES = Object.keys(EVENT_CODECS) as EventType[];
