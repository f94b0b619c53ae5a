import { OperatorFunction, concatMap } from 'rxjs';
import type { StepKey } from '../../stream/types';

/** One optimiser update of a distillation iteration: which role, and its index within the iteration. */
export interface RoleKey {
  readonly key: StepKey;
  readonly role: 'fake' | 'generator';
  readonly sub: number;
}

/**
 * Two-time-scale rule (DMD2): each generator iteration becomes `ratio` fake-score
 * updates followed by one generator update.
 */
export const interleaveUpdates = (ratio: number): OperatorFunction<StepKey, RoleKey> =>
  concatMap((key) => [
    ...Array.from({ length: ratio }, (_, sub): RoleKey => ({ key, role: 'fake', sub })),
    { key, role: 'generator', sub: 0 } as RoleKey,
  ]);
