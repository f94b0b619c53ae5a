/**
 * Phases as values: a compiled segment is a function from the state
 * entering the phase to an Observable of step events that ends with the state leaving
 * it. A schedule is the concatenation of its segments, threading that state, so a
 * four-phase and a two-phase schedule differ only in data.
 */
import { Observable, EMPTY, concat, defer, tap, throwError } from 'rxjs';

/** The last event of a segment: the state handed to the next one. */
export interface PhaseEnd<S> {
  readonly type: 'phaseEnd';
  readonly phase: number;
  readonly state: S;
}

export const phaseEnd = <S>(phase: number, state: S): PhaseEnd<S> => ({ type: 'phaseEnd', phase, state });

export const isPhaseEnd = <S>(e: unknown): e is PhaseEnd<S> =>
  typeof e === 'object' && e !== null && (e as { type?: unknown }).type === 'phaseEnd';

export type SegmentPipeline<S, E> = (state: S) => Observable<E | PhaseEnd<S>>;

/**
 * Runs segments in order; each starts when the previous one has completed, with its final state.
 * Lazy and re-subscribable: nothing (not even segment 0) is built before subscription, and
 * each subscription threads its own state.
 */
export const concatSegments = <S, E>(
  segments: ReadonlyArray<SegmentPipeline<S, E>>,
  initial: S,
): Observable<E | PhaseEnd<S>> => {
  const from = (i: number, state: S): Observable<E | PhaseEnd<S>> =>
    defer(() => {
      if (i >= segments.length) return EMPTY;
      let leaving: { state: S } | null = null;
      return concat(
        segments[i](state).pipe(tap((e) => isPhaseEnd<S>(e) && (leaving = { state: e.state }))),
        defer(() =>
          leaving === null
            ? throwError(() => new Error(`segment ${i} completed without a phaseEnd event`))
            : from(i + 1, leaving.state),
        ),
      );
    });
  return from(0, initial);
};
