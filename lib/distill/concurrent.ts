/**
 * Concurrent phases: every phase of the schedule trains at once. Iteration i runs
 * phase 1's iteration i, then phase 2's, …; phase k takes its input x_{t_start} from
 * the *live* generators of phases 1 … k−1 (run without gradient), so a later expert
 * always learns from what the earlier ones produce now, not from a frozen snapshot.
 *
 * The stream ends with one PhaseEnd per phase, in order, each carrying every expert
 * finished so far, like the sequential engine's concatenated segments, so the same
 * consumers (student, checkpoint at the end, reports) read both.
 *
 * Periodic progress checkpoints hold one running phase, so a concurrent run does not
 * write them and cannot be resumed mid-run (the config layer refuses the combination).
 *
 * @example
 *   concurrentPhases(settings, resolveSchedule(schedule)).pipe(filter(isStepMetrics), …)
 */
import { Observable, concat, defer, from, concatMap, finalize } from 'rxjs';
import type { ResolvedPhase } from '../phases/resolve';
import { PhaseEnd, phaseEnd } from '../phases/concat';
import type { StepMetrics } from '../stream/types';
import type { ExpertPhase } from '../rollout/context';
import {
  DistillSettings,
  DistillState,
  PhaseRoles,
  closePhase,
  openPhase,
  phaseExpert,
  phaseSteps,
  warmupSteps,
} from './segment';

/** The live generators of opened phases, as the input experts of the next one. */
const liveExperts = (roles: readonly PhaseRoles[]): ExpertPhase[] =>
  roles.map((r) => ({ grid: r.context.phase.grid, expert: r.context.generator, stepper: r.context.stepper }));

export const concurrentPhases = (
  settings: DistillSettings,
  phases: readonly ResolvedPhase[],
): Observable<StepMetrics | PhaseEnd<DistillState>> =>
  defer(() => {
    const opened: PhaseRoles[] = [];
    for (const p of phases) opened.push(openPhase(settings, p, { experts: liveExperts(opened) }));
    opened.forEach((r) => settings.onPhaseStart?.(r));
    let finished = false;
    const rounds = Math.max(...phases.map((p) => p.iterations));
    // round i: iteration i of every phase that has one, in phase order
    const steps = from(Array.from({ length: rounds }, (_, i) => i)).pipe(
      concatMap((i) =>
        concat(...opened.filter((r) => i < r.context.phase.iterations).map((r) => phaseSteps(settings, r, i, i + 1))),
      ),
    );
    const ends = defer(() => {
      finished = true;
      const experts: ExpertPhase[] = [];
      return from(
        opened.map((r) => {
          r.context.generator.params.setTrainable(false);
          experts.push({ grid: r.context.phase.grid, expert: phaseExpert(r), stepper: r.context.stepper });
          return phaseEnd<DistillState>(r.context.phase.index, { experts: [...experts] });
        }),
      );
    });
    // each phase's regression warm-up (teacher-forced, so independent of the others) before the first round
    const warmups = defer(() => concat(...opened.map((r) => warmupSteps(settings, r))));
    return concat(warmups, steps, ends).pipe(finalize(() => opened.forEach((r) => closePhase(r, finished))));
  });
