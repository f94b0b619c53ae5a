import { MonoTypeOperatorFunction, defer, map, Observable } from 'rxjs';
import type { StepMetrics } from '../../stream/types';

/**
 * Wall time per distillation iteration: adds `extras.iterationMs` to each update of
 * `role` (the generator, which closes an iteration), measured from the previous one
 * (or from subscription). Unlike `ms` (one optimiser step) it covers the whole
 * iteration: the fake-score updates, the rollouts before the tape and the taps between.
 */
export const iterationTime =
  (role = 'generator', now: () => number = () => performance.now()): MonoTypeOperatorFunction<StepMetrics> =>
  (source: Observable<StepMetrics>) =>
    defer(() => {
      let mark = now();
      return source.pipe(
        map((m) => {
          if (m.role !== role) return m;
          const at = now();
          const iterationMs = at - mark;
          mark = at;
          return { ...m, extras: { ...m.extras, iterationMs } };
        }),
      );
    });
