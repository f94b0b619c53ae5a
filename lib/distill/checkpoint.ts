/**
 * Last-good checkpoints of a distillation run. Taken synchronously between updates
 * (the training stream is synchronous, so an async read would see later weights), only
 * after a step whose loss and gradient norm were finite, and refused when any weight is
 * non-finite — so a run that blows up never overwrites the last good file.
 *
 * Holds: the frozen experts of finished phases (`expert<k>/…`, as in a student
 * checkpoint), and the running phase's generator, fake score and EMA
 * (`phase/generator/…`, `phase/fake/…`, `phase/ema/…`), with where the run stood.
 * Adam's moments are not included (tfjs reads them asynchronously).
 */
import type { CheckpointData } from '../checkpoint/format';
import { saveCheckpoint, withPrefix } from '../checkpoint/format';
import type { NamedTensorData } from '../models/params';
import type { DistillState, PhaseRoles } from './segment';

export class NonFiniteWeightsError extends Error {
  constructor(readonly where: string, readonly index: number, readonly value: number) {
    super(`non-finite weight ${where}[${index}] = ${value}: not checkpointed, the last good checkpoint is kept`);
    this.name = 'NonFiniteWeightsError';
  }
}

const assertFinite = (prefix: string, tensors: readonly NamedTensorData[]): NamedTensorData[] => {
  for (const t of tensors) {
    for (let i = 0; i < t.values.length; i++) if (!Number.isFinite(t.values[i])) throw new NonFiniteWeightsError(`${prefix}${t.name}`, i, t.values[i]);
  }
  return withPrefix(prefix, tensors);
};

export interface ProgressPosition {
  /** Index of the running phase. */
  readonly phase: number;
  /** Generator updates completed in that phase. */
  readonly iterations: number;
}

/** The checkpoint data of a run in progress; throws NonFiniteWeightsError before anything is written. */
export const progressSnapshot = (roles: PhaseRoles, state: DistillState, at: ProgressPosition, meta: Readonly<Record<string, unknown>> = {}): CheckpointData => {
  const tensors = [
    ...state.experts.flatMap((e, k) => assertFinite(`expert${k}/`, e.expert.params.read())),
    ...assertFinite('phase/generator/', roles.context.generator.params.read()),
    ...assertFinite('phase/fake/', roles.context.fake.params.read()),
    ...(roles.ema ? assertFinite('phase/ema/', roles.ema.params.read()) : []),
  ];
  return {
    meta: { ...meta, kind: 'distill-progress', phase: at.phase, iterations: at.iterations, grids: state.experts.map((e) => e.grid), phaseGrid: roles.context.phase.grid, ema: roles.ema !== undefined },
    tensors,
  };
};

/** Atomic write of `progressSnapshot` (nothing is written when a weight is non-finite). */
export const saveProgress = (file: string, roles: PhaseRoles, state: DistillState, at: ProgressPosition, meta?: Readonly<Record<string, unknown>>): void =>
  saveCheckpoint(file, progressSnapshot(roles, state, at, meta));
