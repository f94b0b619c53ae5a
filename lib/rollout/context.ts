/**
 * Everything one distillation phase needs: the frozen real score (teacher), the phase's
 * trainable generator expert and fake score, the frozen experts of earlier phases, and
 * the phase's resolved settings.
 */
import type { VelocityModel } from '../models/types';
import type { ResolvedPhase } from '../phases/resolve';
import type { GeneratorGradient } from '../losses/dmd';
import type { RegressionTerm } from '../losses/regression';

/** How the generator's output is differentiated when the phase has several steps. */
export type GeneratorBackprop = 'sgts' | 'full';

/** Steps between samples: deterministic Euler, or x0 prediction followed by fresh noise (DMD2). */
export type Stepper = 'euler' | 'x0-noise';

/**
 * What the fake score is trained on: the generator's SGTS exit sample at s (the sample
 * the generator gradient is taken at), or the boundary sample of a full inference
 * rollout of the phase (what the sampler hands on).
 */
export type FakeTracks = 'exit' | 'rollout';

export interface ExpertPhase {
  /** The phase's step times, start … end. */
  readonly grid: readonly number[];
  readonly expert: VelocityModel;
  /** How this expert steps between its grid times (absent: Euler). */
  readonly stepper?: Stepper;
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
  readonly gradient: GeneratorGradient;
  readonly stepper: Stepper;
  readonly fakeTracks: FakeTracks;
  /** The regression term on the teacher's pairs and path (absent: off). */
  readonly regression?: RegressionTerm;
}
