/**
 * A decoded schedule resolved to plain numbers: each phase's time interval, its step
 * grid (evenly spaced in unshifted time, then shifted) and every default filled in.
 */
import type { PhasedSchedule, Renoise, PhaseSegment } from './segment';
import { boundaryTime } from './segment';
import { timeGrid } from '../schedule/time';

export interface ResolvedPhase {
  readonly index: number;
  readonly name: string;
  /** t at the phase's start (higher noise) and end s (lower noise). */
  readonly start: number;
  readonly end: number;
  /** The phase's step times, start … end: steps + 1 values. */
  readonly grid: readonly number[];
  readonly steps: number;
  readonly iterations: number;
  readonly renoise: Renoise;
  readonly lr: { readonly generator: number; readonly fake: number };
  readonly updateRatio: number;
  readonly guidance: number;
  readonly margin: number;
  readonly batchSize: number;
}

export const PHASE_DEFAULTS = {
  renoise: 'nested' as Renoise,
  lr: { generator: 2e-4, fake: 2e-4 },
  updateRatio: 5,
  guidance: 1,
  margin: 0.02,
  batchSize: 256,
};

export const resolvePhase = (
  p: PhaseSegment,
  index: number,
  shift: number,
  defaults: PhasedSchedule['defaults'] = {},
): ResolvedPhase => {
  const start = boundaryTime(p.interval.start);
  const end = boundaryTime(p.interval.end);
  return {
    index,
    name: p.name ?? `phase${index + 1}`,
    start,
    end,
    grid: timeGrid(p.steps, shift, start, end),
    steps: p.steps,
    iterations: p.iterations,
    renoise: p.renoise ?? defaults?.renoise ?? PHASE_DEFAULTS.renoise,
    lr: {
      generator: p.lr?.generator ?? defaults?.lr?.generator ?? PHASE_DEFAULTS.lr.generator,
      fake: p.lr?.fake ?? defaults?.lr?.fake ?? PHASE_DEFAULTS.lr.fake,
    },
    updateRatio: p.updateRatio ?? defaults?.updateRatio ?? PHASE_DEFAULTS.updateRatio,
    guidance: p.guidance ?? defaults?.guidance ?? PHASE_DEFAULTS.guidance,
    margin: p.margin ?? defaults?.margin ?? PHASE_DEFAULTS.margin,
    batchSize: p.batchSize ?? defaults?.batchSize ?? PHASE_DEFAULTS.batchSize,
  };
};

export const resolveSchedule = (s: PhasedSchedule): ResolvedPhase[] =>
  s.phases.map((p, i) => resolvePhase(p, i, s.shift, s.defaults));

/** The whole sampling grid of a schedule: [1, …, 0] with N + 1 times. */
export const scheduleGrid = (phases: readonly ResolvedPhase[]): number[] => [
  phases[0].start,
  ...phases.flatMap((p) => p.grid.slice(1)),
];
