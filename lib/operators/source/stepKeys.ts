import { Observable, range, map } from 'rxjs';
import type { StepKey } from '../../stream/types';

/**
 * The pull source of a training loop: step keys `from … from + count − 1` of a phase.
 * `range` emits synchronously and each downstream step finishes before the next key
 * is produced, so nothing queues and long runs do not recurse.
 */
export const stepKeys = (seed: number, phase: number, from: number, count: number): Observable<StepKey> =>
  range(from, Math.max(0, count)).pipe(map((step) => ({ seed, phase, step })));
