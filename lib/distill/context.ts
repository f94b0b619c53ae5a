/**
 * Everything one distillation phase needs: the frozen real score (teacher), the phase's
 * trainable generator expert and fake score, the frozen experts of earlier phases, and
 * the phase's resolved settings.
 */
import type { VelocityModel } from '../models/types';
import type { ResolvedPhase } from '../phases/resolve';
import type { DmdNormaliser } from '../losses/dmd';

/** How the generator's output is differentiated when the phase has several steps. */
export type GeneratorBackprop = 'sgts' | 'full';

export interface ExpertPhase {
  /** The phase's step times, start … end. */
  readonly grid: readonly number[];
  readonly expert: VelocityModel;
}

export interface PhaseContext {
  readonly teacher: VelocityModel;
  readonly generator: VelocityModel;
  readonly fake: VelocityModel;
  /** Frozen experts of the earlier phases, in order; they produce this phase's input. */
  readonly earlier: readonly ExpertPhase[];
  readonly phase: ResolvedPhase;
  /** Timestep shift S (the re-noising t is uniform in unshifted time, then shifted). */
  readonly shift: number;
  readonly backprop: GeneratorBackprop;
  readonly normaliser: DmdNormaliser;
}
