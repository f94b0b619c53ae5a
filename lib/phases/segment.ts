/**
 * Phase segments (docs/algorithm.md §5) as io-ts codecs. A segment covers a contiguous
 * interval of time [end, start] (descending: start > end) with its own steps,
 * iterations, learning rates, update ratio, re-noising interval and guidance.
 * A schedule is a list of segments covering t from 1 to 0.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import {
  atMost,
  PositiveInt,
  Positive,
  NonNegative,
  UnitInterval,
  NonNegativeInt,
  BatchSize,
  StepCount,
  SamplerSteps,
} from '../config/primitives';
import { timeOfSnr, timeOfLogSnr } from '../schedule/time';
import { withShape } from '../config/codecWalk';

/** A phase boundary: a time t, or `{ time }`, `{ snr }` (t = 1/(1 + √SNR)), `{ logSnr }` (t = 1/(1 + e^{λ/2})). */
export const Boundary = t.union([
  UnitInterval,
  t.type({ time: UnitInterval }),
  t.type({ snr: NonNegative }),
  t.type({ logSnr: t.number }),
]);
export type Boundary = t.TypeOf<typeof Boundary>;

/** Boundary → time; snr = 0 is t = 1, logSnr = −∞ is not representable in JSON (use time 1). */
export const boundaryTime = (b: Boundary): number =>
  typeof b === 'number' ? b : 'time' in b ? b.time : 'snr' in b ? timeOfSnr(b.snr) : timeOfLogSnr(b.logSnr);

export const Renoise = t.keyof({ nested: null, disjoint: null });
export type Renoise = t.TypeOf<typeof Renoise>;

/** The settings one phase trains with: a segment's own, a schedule's defaults, a distill config's. */
export const PhaseSettings = t.partial({
  /** Re-noising interval for the DMD gradient and fake score: nested = (s, 1] (default), disjoint = (s, t_start]. */
  renoise: Renoise,
  lr: t.partial({ generator: Positive, fake: Positive }),
  /** Fake-score updates per generator update (two-time-scale rule). */
  updateRatio: atMost(PositiveInt, 1000, 'each is a full fake-score update: more would never finish'),
  /** CFG scale g of the real score. */
  guidance: NonNegative,
  /** Minimum distance kept between the re-noising t and s. */
  margin: UnitInterval,
  batchSize: BatchSize,
});
export type PhaseSettings = t.TypeOf<typeof PhaseSettings>;

export const PhaseSegment = t.intersection([
  t.type({
    interval: t.type({ start: Boundary, end: Boundary }),
    /** Generator steps inside the phase (SGTS within the phase when > 1). */
    steps: SamplerSteps,
    /** Generator updates in this phase. */
    iterations: StepCount,
  }),
  t.partial({ name: t.string, seed: NonNegativeInt }),
  PhaseSettings,
]);
export type PhaseSegment = t.TypeOf<typeof PhaseSegment>;

/** A schedule's defaults for its segments. */
export const PhaseDefaults = PhaseSettings;
export type PhaseDefaults = PhaseSettings;

/**
 * The shape of a schedule before the contiguity checks (exported for tools that walk codecs: docs, unknown-field
 * checks).
 */
export const ScheduleShape = t.intersection([
  t.type({
    /** Timestep shift S applied to every scheduled and sampled t. */
    shift: Positive,
    phases: t.array(PhaseSegment),
  }),
  t.partial({ defaults: PhaseDefaults }),
]);
type ScheduleShape = t.TypeOf<typeof ScheduleShape>;

const EPS = 1e-9;

interface Violation {
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
  readonly value: unknown;
}

/** Every structural violation of a schedule, each with its path. */
export const scheduleViolations = (s: ScheduleShape): Violation[] => {
  const out: Violation[] = [];
  const n = s.phases.length;
  if (n === 0) return [{ path: ['phases'], message: 'expected at least one phase', value: s.phases }];
  s.phases.forEach((p, i) => {
    const start = boundaryTime(p.interval.start);
    const end = boundaryTime(p.interval.end);
    if (!(start > end))
      out.push({
        path: ['phases', i, 'interval'],
        message: `must be descending: start (t=${fmt(start)}) must be greater than end (t=${fmt(end)})`,
        value: p.interval,
      });
    if (i + 1 < n) {
      const next = boundaryTime(s.phases[i + 1].interval.start);
      if (Math.abs(end - next) > EPS)
        out.push({
          path: ['phases', i, 'interval', 'end'],
          message:
            `must equal phases[${i + 1}].interval.start (t=${fmt(end)} vs t=${fmt(next)}): phases must be ` +
            `contiguous`,
          value: p.interval.end,
        });
    }
  });
  const first = boundaryTime(s.phases[0].interval.start);
  const last = boundaryTime(s.phases[n - 1].interval.end);
  if (Math.abs(first - 1) > EPS)
    out.push({
      path: ['phases', 0, 'interval', 'start'],
      message: `the first phase must start at t = 1 (got t=${fmt(first)})`,
      value: s.phases[0].interval.start,
    });
  if (Math.abs(last) > EPS)
    out.push({
      path: ['phases', n - 1, 'interval', 'end'],
      message: `the last phase must end at t = 0 (got t=${fmt(last)})`,
      value: s.phases[n - 1].interval.end,
    });
  return out;
};

const fmt = (x: number): string => String(Number(x.toFixed(6)));

/** A full phased schedule: segments contiguous, descending, from t = 1 to t = 0. */
export const PhasedSchedule = withShape(
  new t.Type<ScheduleShape, t.OutputOf<typeof ScheduleShape>, unknown>(
    'PhasedSchedule',
    (u): u is ScheduleShape => ScheduleShape.is(u) && scheduleViolations(u).length === 0,
    (u, c) =>
      pipe(
        ScheduleShape.validate(u, c),
        E.chain((s) => {
          const v = scheduleViolations(s);
          return v.length === 0
            ? t.success(s)
            : t.failures(
                v.map((x) => ({
                  value: x.value,
                  message: x.message,
                  context: [...c, ...x.path.map((key) => ({ key: String(key), type: t.unknown, actual: undefined }))],
                })),
              );
        }),
      ),
    (s) => ScheduleShape.encode(s),
  ),
  ScheduleShape,
);
export type PhasedSchedule = t.TypeOf<typeof PhasedSchedule>;
