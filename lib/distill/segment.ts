/**
 * A phase segment compiled to a pipeline segment: from the state
 * entering the phase (the frozen experts so far) to a stream of step metrics that ends
 * with the state leaving it (one more frozen expert).
 *
 *   iteration keys → [fake × ratio, generator] → loss → Adam per role
 *
 * The phase's generator expert and fake score start as copies of the teacher; the fake
 * score is discarded at the phase end, the expert is frozen and handed on.
 */
import { Observable, EMPTY, concat, defer, of, finalize, identity } from 'rxjs';
import type { VelocityModel } from '../models/types';
import type { ResolvedPhase } from '../phases/resolve';
import { PhaseEnd, phaseEnd, SegmentPipeline } from '../phases/concat';
import type { StepMetrics } from '../stream/types';
import { stepKeys } from '../operators/source/stepKeys';
import { interleaveUpdates } from '../operators/distill/interleaveUpdates';
import { distillationLoss } from '../operators/distill/distillationLoss';
import { optimise, OptimiseOptions } from '../operators/optimise/optimise';
import { makeTrainer, Trainer, OptimizerSettings } from '../optim/trainer';
import { emaUpdate } from '../operators/distill/ema';
import { iterationTime } from '../operators/distill/iterationTime';
import { regressionWarmup, WARMUP_ROLE } from '../operators/distill/regressionWarmup';
import type { ExpertPhase, FakeTracks, GeneratorBackprop, PhaseContext, Stepper } from '../rollout/context';
import type { GeneratorGradient } from '../losses/dmd';
import type { RegressionTerm } from '../losses/regression';

export interface DistillState {
  /** Frozen generator experts of the finished phases, in order. */
  readonly experts: readonly ExpertPhase[];
}

export interface DistillSettings {
  readonly teacher: VelocityModel;
  readonly seed: number;
  readonly shift: number;
  readonly backprop: GeneratorBackprop;
  /** Form of the generator's DMD gradient (default 'reference'). */
  readonly gradient?: GeneratorGradient;
  /** Steps between samples, in training rollouts and in the student's sampler (default 'euler'). */
  readonly stepper?: Stepper;
  /** What each phase's fake score is trained on (default 'exit'). */
  readonly fakeTracks?: FakeTracks;
  /** The regression term on the teacher's path, added to every generator update (absent: off). */
  readonly regression?: RegressionTerm;
  readonly betas: readonly [number, number];
  /** Per-role optimiser settings (betas, AdamW weight decay, clipping, ε); the learning rate is the phase's. */
  readonly optimizers?: { readonly generator?: OptimizerSettings; readonly fake?: OptimizerSettings };
  /** Generator EMA decay β ∈ (0, 1); absent or 0: off. The EMA weights become the phase's expert. */
  readonly ema?: number;
  readonly optimise?: OptimiseOptions;
  /** Called with the live roles when a phase starts (checkpointing, EMA, inspection). */
  readonly onPhaseStart?: (roles: PhaseRoles) => void;
  /**
   * Resume: restores a phase's fresh roles from a checkpoint and returns the iteration to continue from (absent: 0).
   */
  readonly restore?: (roles: PhaseRoles) => number;
  /**
   * Builds a phase's generator expert or fake score from the teacher; default a full copy (LoRA: an adapter on the
   * shared teacher).
   */
  readonly makeRole?: (teacher: VelocityModel, role: 'generator' | 'fake', phase: ResolvedPhase) => VelocityModel;
}

export interface PhaseRoles {
  readonly context: PhaseContext;
  readonly trainers: { readonly generator: Trainer; readonly fake: Trainer };
  /** The generator's EMA shadow (frozen, updated after each generator step) when settings.ema is on. */
  readonly ema?: VelocityModel;
}

/** Generator expert and fake score for a phase, both initialised from the teacher. */
export const openPhase = (settings: DistillSettings, phase: ResolvedPhase, state: DistillState): PhaseRoles => {
  const make = settings.makeRole ?? ((teacher: VelocityModel) => teacher.clone());
  const generator = make(settings.teacher, 'generator', phase);
  const fake = make(settings.teacher, 'fake', phase);
  const context: PhaseContext = {
    teacher: settings.teacher,
    generator,
    fake,
    earlier: state.experts,
    phase,
    shift: settings.shift,
    backprop: settings.backprop,
    gradient: settings.gradient ?? 'reference',
    stepper: settings.stepper ?? 'euler',
    fakeTracks: settings.fakeTracks ?? 'exit',
    ...(settings.regression ? { regression: settings.regression } : {}),
  };
  const defaults = { lr: phase.lr.generator, betas: settings.betas };
  const opt = settings.optimizers ?? {};
  const ema = settings.ema ? generator.clone() : undefined;
  ema?.params.setTrainable(false);
  return {
    context,
    trainers: {
      generator: makeTrainer(generator.params.variables, { ...opt.generator, lr: phase.lr.generator }, defaults),
      fake: makeTrainer(fake.params.variables, { ...opt.fake, lr: phase.lr.fake }, defaults),
    },
    ...(ema ? { ema } : {}),
  };
};

/** The model a finished phase hands on as its expert: the EMA weights when on, else the live generator. */
export const phaseExpert = (roles: PhaseRoles): VelocityModel => roles.ema ?? roles.context.generator;

/** Frees what a phase does not hand on: the fake score and both optimisers (and the generator unless kept). */
export const closePhase = (roles: PhaseRoles, keepGenerator: boolean): void => {
  roles.context.fake.dispose();
  roles.trainers.generator.optimizer.dispose();
  roles.trainers.fake.optimizer.dispose();
  const kept = keepGenerator ? phaseExpert(roles) : null;
  for (const m of [roles.context.generator, roles.ema]) if (m !== undefined && m !== kept) m.dispose();
};

/** Iterations [from, to) of one phase (default: to its end), given its live roles. */
export const phaseSteps = (
  settings: DistillSettings,
  roles: PhaseRoles,
  from = 0,
  to = roles.context.phase.iterations,
): Observable<StepMetrics> =>
  stepKeys(settings.seed, roles.context.phase.index, from, to - from).pipe(
    interleaveUpdates(roles.context.phase.updateRatio),
    distillationLoss(roles.context),
    optimise(roles.trainers, settings.optimise),
    roles.ema ? emaUpdate(settings.ema!, { ema: roles.ema.params, live: roles.context.generator.params }) : identity,
    iterationTime(),
  );

/**
 * A phase's regression warm-up (`regression.warmup` updates, before its first DMD update): the generator is
 * fitted to the teacher's pairs (its steps to the teacher's path, see `pathRegressionLoss`) with the generator's
 * optimiser settings (at `warmupLr` when set) and an Adam of its own, so the DMD updates start with fresh moments.
 * The updates report as role "regression"; an EMA shadow starts from the warmed-up generator.
 */
export const warmupSteps = (settings: DistillSettings, roles: PhaseRoles): Observable<StepMetrics> => {
  const { context } = roles;
  const count = context.regression?.warmup ?? 0;
  if (count === 0) return EMPTY;
  return defer(() => {
    const opt = settings.optimizers?.generator ?? {};
    const lr = context.regression?.warmupLr ?? context.phase.lr.generator;
    const trainer = makeTrainer(context.generator.params.variables, { ...opt, lr }, { lr, betas: settings.betas });
    return stepKeys(settings.seed, context.phase.index, 0, count).pipe(
      regressionWarmup(context),
      optimise({ [WARMUP_ROLE]: trainer }, settings.optimise),
      finalize(() => {
        trainer.optimizer.dispose();
        roles.ema?.params.assignFrom(context.generator.params);
      }),
    );
  });
};

export const compilePhase =
  (settings: DistillSettings, phase: ResolvedPhase): SegmentPipeline<DistillState, StepMetrics> =>
  (state) =>
    defer(() => {
      const roles = openPhase(settings, phase, state);
      const from = settings.restore?.(roles) ?? 0;
      settings.onPhaseStart?.(roles);
      let finished = false;
      return concat(
        from === 0 ? warmupSteps(settings, roles) : EMPTY,
        phaseSteps(settings, roles, from),
        defer(() => {
          finished = true;
          roles.context.generator.params.setTrainable(false);
          const leaving: DistillState = {
            experts: [
              ...state.experts,
              { grid: phase.grid, expert: phaseExpert(roles), stepper: roles.context.stepper },
            ],
          };
          return of<PhaseEnd<DistillState>>(phaseEnd(phase.index, leaving));
        }),
      ).pipe(finalize(() => closePhase(roles, finished)));
    });

/** Disposes the experts of a state (when a distilled model is no longer needed). */
export const disposeState = (state: DistillState): void => state.experts.forEach((e) => e.expert.dispose());
