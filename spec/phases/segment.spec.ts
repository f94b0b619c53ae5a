/**
 * Phase segments and schedules (lib/phases): io-ts decoding with every violation
 * reported at its path, and resolution to step grids.
 */
import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import { PhasedSchedule, PhaseSegment, boundaryTime, scheduleViolations } from '../../lib/phases/segment';
import { resolveSchedule, scheduleGrid, PHASE_DEFAULTS } from '../../lib/phases/resolve';
import { decodeWith, decodeOrThrow, ConfigError, ConfigIssue, formatPath } from '../../lib/config/report';
import { timeGrid, snrOfTime, logSnrOfTime } from '../../lib/schedule/time';
import { expectClose } from '../helpers/tensors';

const phase = (start: unknown, end: unknown, extra: Record<string, unknown> = {}) => ({
  interval: { start, end },
  steps: 2,
  iterations: 100,
  ...extra,
});
const issues = (input: unknown): ConfigIssue[] => {
  const r = decodeWith(PhasedSchedule)(input);
  if (E.isRight(r)) throw new Error('expected the schedule to be rejected');
  return r.left;
};
const decoded = (input: unknown): PhasedSchedule => decodeOrThrow(PhasedSchedule, input, 'schedule');

describe('PhasedSchedule decoding: valid schedules', () => {
  it('4 steps / 4 phases at shift 5: one step per phase on the shifted grid', () => {
    // timeGrid(4, 5) = [1, .9375, .8333…, .625, 0]
    const g = timeGrid(4, 5);
    const s = decoded({ shift: 5, phases: [0, 1, 2, 3].map((k) => phase(g[k], g[k + 1], { steps: 1 })) });
    const resolved = resolveSchedule(s);
    expect(resolved.map((p) => p.steps)).toEqual([1, 1, 1, 1]);
    resolved.forEach((p, k) => expectClose(p.grid, [g[k], g[k + 1]], 1e-12));
    expectClose(scheduleGrid(resolved), g, 1e-12);
  });

  it('4 steps / 2 phases at shift 5: phase 1 = [1, .9375, .8333], phase 2 = [.8333, .625, 0]', () => {
    const s = decoded({ shift: 5, phases: [phase(1, 5 / 6), phase(5 / 6, 0)] });
    const [p1, p2] = resolveSchedule(s);
    // phase 1: u from 1 to unshift(5/6) = .5 in 2 steps → u = 1, .75, .5 → t = 1, .9375, .8333
    expectClose(p1.grid, [1, 0.9375, 5 / 6], 1e-12);
    // phase 2: u = .5, .25, 0 → t = .8333, .625, 0
    expectClose(p2.grid, [5 / 6, 0.625, 0], 1e-12);
    expect([p1.start, p1.end, p2.start, p2.end]).toEqual([1, 5 / 6, 5 / 6, 0]);
    expectClose(scheduleGrid([p1, p2]), timeGrid(4, 5), 1e-12);
  });

  it('boundaries may be times, { time }, { snr } or { logSnr }', () => {
    // t = 5/6 ↔ SNR = ((1/6)/(5/6))² = 1/25 = .04 ↔ λ = ln .04 = −3.2188758
    expect(snrOfTime(5 / 6)).toBeCloseTo(0.04, 12);
    expect(logSnrOfTime(5 / 6)).toBeCloseTo(Math.log(0.04), 12);
    expect(boundaryTime(0.3 as PhaseSegment['interval']['start'])).toBe(0.3);
    for (const boundary of [{ time: 5 / 6 }, { snr: 0.04 }, { logSnr: Math.log(0.04) }]) {
      // { snr: 0 } is t = 1
      const s = decoded({ shift: 5, phases: [phase({ snr: 0 }, boundary), phase(boundary, { time: 0 })] });
      const [p1, p2] = resolveSchedule(s);
      expect(p1.start).toBe(1);
      expect(p1.end).toBeCloseTo(5 / 6, 12);
      expect(p2.start).toBeCloseTo(5 / 6, 12);
      expectClose(p1.grid, [1, 0.9375, 5 / 6], 1e-9);
    }
  });

  it('resolution fills defaults: the phase value, else the schedule default, else the built-in', () => {
    const s = decoded({
      shift: 3,
      defaults: { guidance: 4, lr: { fake: 1e-4 } },
      phases: [
        phase(1, 0.5, { name: 'coarse', guidance: 2, renoise: 'disjoint', batchSize: 64 }),
        phase(0.5, 0, { lr: { generator: 5e-5 } }),
      ],
    });
    const [p1, p2] = resolveSchedule(s);
    expect(p1).toMatchObject({
      index: 0,
      name: 'coarse',
      guidance: 2,
      renoise: 'disjoint',
      batchSize: 64,
      lr: { generator: PHASE_DEFAULTS.lr.generator, fake: 1e-4 },
    });
    expect(p2).toMatchObject({
      index: 1,
      name: 'phase2',
      guidance: 4,
      renoise: 'nested',
      batchSize: 256,
      updateRatio: 5,
      margin: 0.02,
      iterations: 100,
      lr: { generator: 5e-5, fake: 1e-4 },
    });
  });

  it('PhasedSchedule.is agrees with decoding', () => {
    const good = decoded({ shift: 5, phases: [phase(1, 0)] });
    expect(PhasedSchedule.is(good)).toBe(true);
    expect(PhasedSchedule.is({ shift: 5, phases: [phase(1, 0.5)] })).toBe(false);
  });
});

describe('PhasedSchedule decoding: every violation with its path', () => {
  it('a gap between phases', () => {
    expect(issues({ shift: 5, phases: [phase(1, 0.8), phase(0.75, 0)] })).toEqual([
      {
        path: 'phases[0].interval.end',
        message: 'must equal phases[1].interval.start (t=0.8 vs t=0.75): phases must be contiguous',
      },
    ]);
  });

  it("an overlap between phases (the issue's example path)", () => {
    const r = issues({ shift: 5, phases: [phase(1, 0.9), phase(0.9, 0.5), phase(0.6, 0)] });
    expect(r).toEqual([
      {
        path: 'phases[1].interval.end',
        message: 'must equal phases[2].interval.start (t=0.5 vs t=0.6): phases must be contiguous',
      },
    ]);
    expect(`${r[0].path}: ${r[0].message}`).toMatch(
      /^phases\[1\]\.interval\.end: must equal phases\[2\]\.interval\.start/,
    );
  });

  it('a phase that is not descending', () => {
    expect(issues({ shift: 5, phases: [phase(1, 0.5), phase(0.5, 0.7), phase(0.7, 0)] })).toEqual([
      { path: 'phases[1].interval', message: 'must be descending: start (t=0.5) must be greater than end (t=0.7)' },
    ]);
    // an empty phase (start = end) is not descending either
    expect(issues({ shift: 5, phases: [phase(1, 1), phase(1, 0)] }).map((i) => i.path)).toEqual(['phases[0].interval']);
  });

  it('not starting at 1, not ending at 0 — reported together', () => {
    expect(issues({ shift: 5, phases: [phase(0.9, 0.5), phase(0.5, 0.1)] })).toEqual([
      { path: 'phases[0].interval.start', message: 'the first phase must start at t = 1 (got t=0.9)' },
      { path: 'phases[1].interval.end', message: 'the last phase must end at t = 0 (got t=0.1)' },
    ]);
  });

  it('every structural violation at once', () => {
    const r = issues({ shift: 5, phases: [phase(0.95, 0.8), phase(0.7, 0.75), phase(0.75, 0.2)] });
    expect(r.map((i) => i.path)).toEqual([
      'phases[0].interval.end',
      'phases[1].interval',
      'phases[0].interval.start',
      'phases[2].interval.end',
    ]);
  });

  it('no phases at all', () => {
    expect(issues({ shift: 5, phases: [] })).toEqual([{ path: 'phases', message: 'expected at least one phase' }]);
  });

  it('wrong types: named codec, path and value, all reported together', () => {
    expect(
      issues({
        shift: 5,
        phases: [
          phase(1, 0.5, { steps: 1.5, renoise: 'bogus' }),
          phase(0.5, 0, { iterations: 0, lr: { generator: -1 } }),
        ],
      }),
    ).toEqual([
      { path: 'phases[0].steps', message: 'expected PositiveInt, got 1.5' },
      { path: 'phases[0].renoise', message: 'expected "nested" | "disjoint", got "bogus"' },
      { path: 'phases[1].iterations', message: 'expected PositiveInt, got 0' },
      { path: 'phases[1].lr.generator', message: 'expected Positive, got -1' },
    ]);
  });

  it('missing and mistyped top-level fields', () => {
    expect(issues({ phases: [phase(1, 0)], defaults: { updateRatio: 0 } })).toEqual([
      { path: 'shift', message: 'expected Positive, got nothing' },
      { path: 'defaults.updateRatio', message: 'expected PositiveInt, got 0' },
    ]);
    expect(issues({ shift: 5, phases: 'four' })).toEqual([
      { path: 'phases', message: 'expected an array, got "four"' },
    ]);
    expect(issues(null)).toEqual([{ path: '(root)', message: 'expected PhasedSchedule, got null' }]);
    expect(issues({ shift: 5, phases: [{ ...phase(1, 0), interval: 'all' }] })).toEqual([
      { path: 'phases[0].interval', message: 'expected an object, got "all"' },
    ]);
  });

  it('boundaries: a bad member value is reported inside it, an unknown shape once with the alternatives', () => {
    expect(issues({ shift: 5, phases: [phase(1, { snr: -1 })] })).toEqual([
      { path: 'phases[0].interval.end.snr', message: 'expected NonNegative, got -1' },
    ]);
    const alternatives =
      'expected UnitInterval or { time: UnitInterval } or { snr: NonNegative } or { logSnr: number }';
    expect(issues({ shift: 5, phases: [phase(2, { foo: 1 })] })).toEqual([
      { path: 'phases[0].interval.start', message: `${alternatives}, got 2` },
      { path: 'phases[0].interval.end', message: `${alternatives}, got {"foo":1}` },
    ]);
  });

  it('no union/intersection member index ever appears in a path', () => {
    const inputs = [
      { shift: -1, phases: [phase(1, { snr: -1 }, { steps: 0 })] },
      { shift: 5, phases: [phase({ time: 2 }, 0, { lr: { fake: 0 } })], defaults: { margin: 3 } },
      null,
    ];
    for (const input of inputs)
      for (const i of issues(input)) expect(i.path).toMatch(/^(\(root\)|[a-zA-Z]+(\[\d\]|\.[a-zA-Z]+)*)$/);
    // and the indices that are there belong to arrays
    expect(issues(inputs[0]).map((i) => i.path)).toEqual(['shift', 'phases[0].interval.end.snr', 'phases[0].steps']);
  });

  it('decodeOrThrow throws one ConfigError listing every issue', () => {
    let err: unknown;
    try {
      decodeOrThrow(PhasedSchedule, { shift: 5, phases: [phase(0.9, 0.5), phase(0.5, 0.1)] }, 'schedule');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.length).toBe(2);
    expect((err as Error).message).toBe(
      'invalid schedule:\nphases[0].interval.start: the first phase must start at t = 1 (got ' +
        't=0.9)\nphases[1].interval.end: the last phase must end at t = 0 (got t=0.1)',
    );
  });

  it('scheduleViolations is usable on its own (no violations for a valid schedule)', () => {
    expect(scheduleViolations(decoded({ shift: 5, phases: [phase(1, 0.5), phase(0.5, 0)] }))).toEqual([]);
  });
});

describe('report paths for other codecs (issuesOf)', () => {
  const Cfg = t.intersection([
    t.type({
      model: t.union([
        t.type({ kind: t.literal('mlp'), dim: t.number }),
        t.type({ kind: t.literal('unet'), size: t.number }),
      ]),
      items: t.array(t.number),
    }),
    t.partial({ tags: t.record(t.string, t.number) }),
  ]);
  const paths = (input: unknown) => {
    const r = decodeWith(Cfg)(input);
    return E.isLeft(r) ? r.left : [];
  };

  it('array indices and record keys are kept, member indices dropped', () => {
    expect(paths({ model: { kind: 'mlp', dim: 2 }, items: [1, 'x'], tags: { a: 1, b: 'y' } })).toEqual([
      { path: 'items[1]', message: 'expected number, got "x"' },
      { path: 'tags.b', message: 'expected number, got "y"' },
    ]);
  });

  it("a discriminated union reports the chosen member's errors, or the unknown tag with the allowed values", () => {
    expect(paths({ model: { kind: 'unet', size: 'big' }, items: [] })).toEqual([
      { path: 'model.size', message: 'expected number, got "big"' },
    ]);
    expect(paths({ model: { kind: 'gan' }, items: [] })).toEqual([
      { path: 'model.kind', message: 'expected "mlp" or "unet", got "gan"' },
    ]);
  });

  it('formatPath writes indices in brackets', () => {
    expect(formatPath(['phases', 1, 'interval', 'end'])).toBe('phases[1].interval.end');
    expect(formatPath([0, 'a'])).toBe('[0].a');
  });
});
