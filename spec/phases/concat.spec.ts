/** concatSegments: a schedule as the concatenation of phase segments, threading state. */
import { Observable, lastValueFrom, of, toArray } from 'rxjs';
import { concatSegments, phaseEnd, isPhaseEnd, PhaseEnd, SegmentPipeline } from '../../lib/phases/concat';
import { marbles } from '../helpers/operators';

interface Ev {
  readonly phase: number;
  readonly state: number;
}

describe('concatSegments', () => {
  it('runs segments in order, each starting with the state the previous one ended with (marble)', () => {
    marbles().run(({ cold, expectObservable }) => {
      // segment i emits one event with its entering state, then phaseEnd with state + 10
      const segment =
        (i: number): SegmentPipeline<number, Ev> =>
        (state) =>
          cold('a-e|', { a: { phase: i, state }, e: phaseEnd(i, state + 10) });
      // seg 0: a@0, e@2, completes @3; seg 1 subscribes @3: b@3, f@5, completes @6
      expectObservable(concatSegments([segment(0), segment(1)], 1)).toBe('a-eb-f|', {
        a: { phase: 0, state: 1 },
        e: phaseEnd(0, 11),
        b: { phase: 1, state: 11 },
        f: phaseEnd(1, 21),
      });
    });
  });

  it('builds a segment only when the previous one has completed', () => {
    const calls: Array<[number, number]> = [];
    marbles().run(({ cold, expectObservable, flush }) => {
      const segment =
        (i: number): SegmentPipeline<number, Ev> =>
        (state) => {
          calls.push([i, state]);
          return cold('--e|', { e: phaseEnd(i, state * 2) });
        };
      // each: e @2 after it starts, completes @3 → phaseEnds at 2, 5, 8, completion at 9
      expectObservable(concatSegments([segment(0), segment(1), segment(2)], 3)).toBe('--e--f--g|', {
        e: phaseEnd(0, 6),
        f: phaseEnd(1, 12),
        g: phaseEnd(2, 24),
      });
      flush();
    });
    expect(calls).toEqual([
      [0, 3],
      [1, 6],
      [2, 12],
    ]);
  });

  it(
    'is lazy and re-subscribable: no segment is built before subscription, each subscription threads its own ' +
      'state',
    async () => {
      const built: number[] = [];
      const segment =
        (i: number): SegmentPipeline<number, Ev> =>
        (state) => {
          built.push(i);
          return of(phaseEnd(i, state + 1));
        };
      const schedule = concatSegments([segment(0), segment(1)], 0);
      expect(built).toEqual([]);
      const runs = await Promise.all([
        lastValueFrom(schedule.pipe(toArray())),
        lastValueFrom(schedule.pipe(toArray())),
      ]);
      expect(runs[0]).toEqual([phaseEnd(0, 1), phaseEnd(1, 2)]);
      expect(runs[1]).toEqual(runs[0]);
      expect(built).toEqual([0, 1, 0, 1]);
    },
  );

  it('errors when a segment completes without a phaseEnd event', () => {
    marbles().run(({ cold, expectObservable }) => {
      const good: SegmentPipeline<number, Ev> = (s) => cold('e|', { e: phaseEnd(0, s) });
      const bad: SegmentPipeline<number, Ev> = (s) => cold('a|', { a: { phase: 1, state: s } });
      expectObservable(concatSegments([good, bad, good], 0)).toBe(
        'ea#',
        { e: phaseEnd(0, 0), a: { phase: 1, state: 0 } },
        new Error('segment 1 completed without a phaseEnd event'),
      );
    });
  });

  it('a segment error stops the schedule; later segments never start', () => {
    let started = 0;
    marbles().run(({ cold, expectObservable }) => {
      const failing: SegmentPipeline<number, Ev> = () =>
        cold('a#', { a: { phase: 0, state: 0 } }, new Error('NaN loss'));
      const later: SegmentPipeline<number, Ev> = (s) => {
        started++;
        return cold('(e|)', { e: phaseEnd(1, s) });
      };
      expectObservable(concatSegments([failing, later], 0)).toBe(
        'a#',
        { a: { phase: 0, state: 0 } },
        new Error('NaN loss'),
      );
    });
    expect(started).toBe(0);
  });

  it('no segments: completes at once; phaseEnd events are recognisable', async () => {
    expect(await lastValueFrom(concatSegments<number, Ev>([], 0).pipe(toArray()))).toEqual([]);
    expect(isPhaseEnd(phaseEnd(2, 'x'))).toBe(true);
    expect(isPhaseEnd({ phase: 2, state: 1 })).toBe(false);
    expect(isPhaseEnd(null)).toBe(false);
  });

  it('threads state through 100 synchronous segments', async () => {
    const inc: SegmentPipeline<number, never> = (s) => of(phaseEnd(0, s + 1)) as Observable<PhaseEnd<number>>;
    const events = await lastValueFrom(concatSegments(Array(100).fill(inc), 0).pipe(toArray()));
    expect(events.length).toBe(100);
    expect((events[99] as PhaseEnd<number>).state).toBe(100);
  });
});
