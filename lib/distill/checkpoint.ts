/**
 * Progress checkpoints of a distillation run: the last good state, and exact resume
 * mid-schedule. Taken synchronously between updates (the training stream is
 * synchronous, so an async read would see later weights), only after a step whose loss
 * and gradient norm were finite, and refused when any weight is non-finite — so a run
 * that blows up never overwrites the last good file.
 *
 * Holds:
 *   teacher/…                          the frozen teacher (real score; the LoRA backbone)
 *   expert<k>/…                        the frozen experts of finished phases, as in a
 *                                      student checkpoint (A, B only for LoRA experts)
 *   phase/generator/…, phase/fake/…,   the running phase's roles
 *   phase/ema/…
 *   phase/opt/generator/…,             their Adam states, exact (lib/optim/adamState)
 *   phase/opt/fake/…
 * and in meta where the run stood: `phase` (the running phase, or the next one at a
 * phase boundary), `iterations` (generator updates done in it), `live` (false at a
 * boundary: no phase/… tensors), the experts' grids.
 *
 * Resume (see lib/distill/distill.ts, `trainDistill(config, { resume })`):
 *   loadDistillState(file) → frozenExperts(saved, build) → settings.restore = (roles) => restoreRoles(roles, saved)
 * Randomness is a pure function of (seed, phase, step, role), so the resumed run
 * continues bit for bit where the saved one stood.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import type { CheckpointData } from '../checkpoint/format';
import { saveCheckpoint, loadCheckpoint, withPrefix, tensorsUnder, CheckpointError } from '../checkpoint/format';
import type { NamedTensorData } from '../models/params';
import type { VelocityModel } from '../models/types';
import { NonNegativeInt } from '../config/primitives';
import { decodeWith, formatIssues } from '../config/report';
import { captureAdamState, restoreAdamState } from '../optim/adamState';
import type { ExpertPhase } from '../rollout/context';
import type { DistillState, PhaseRoles } from './segment';
import { finiteWithPrefix as assertFinite } from '../checkpoint/finite';

export { NonFiniteWeightsError } from '../checkpoint/finite';

export interface ProgressPosition {
  /** Index of the running phase (at a boundary: the next phase). */
  readonly phase: number;
  /** Generator updates completed in that phase. */
  readonly iterations: number;
}

export const PROGRESS_KIND = 'distill-progress';

const frozenPart = (teacher: VelocityModel, state: DistillState): NamedTensorData[] => [
  ...withPrefix('teacher/', teacher.params.read()),
  ...state.experts.flatMap((e, k) => assertFinite(`expert${k}/`, e.expert.params.read())),
];

/** The checkpoint data of a run in progress; throws NonFiniteWeightsError before anything is written. */
export const progressSnapshot = (
  roles: PhaseRoles,
  state: DistillState,
  at: ProgressPosition,
  meta: Readonly<Record<string, unknown>> = {},
): CheckpointData => {
  const tensors = [
    ...frozenPart(roles.context.teacher, state),
    ...assertFinite('phase/generator/', roles.context.generator.params.read()),
    ...assertFinite('phase/fake/', roles.context.fake.params.read()),
    ...(roles.ema ? assertFinite('phase/ema/', roles.ema.params.read()) : []),
    ...assertFinite('phase/opt/generator/', captureAdamState(roles.trainers.generator.optimizer)),
    ...assertFinite('phase/opt/fake/', captureAdamState(roles.trainers.fake.optimizer)),
  ];
  return {
    meta: {
      ...meta,
      kind: PROGRESS_KIND,
      phase: at.phase,
      iterations: at.iterations,
      live: true,
      grids: state.experts.map((e) => e.grid),
      phaseGrid: roles.context.phase.grid,
      ema: roles.ema !== undefined,
    },
    tensors,
  };
};

/** The checkpoint data at a phase boundary: the frozen experts so far; the next phase starts fresh from the teacher. */
export const boundarySnapshot = (
  teacher: VelocityModel,
  state: DistillState,
  nextPhase: number,
  meta: Readonly<Record<string, unknown>> = {},
): CheckpointData => ({
  meta: {
    ...meta,
    kind: PROGRESS_KIND,
    phase: nextPhase,
    iterations: 0,
    live: false,
    grids: state.experts.map((e) => e.grid),
  },
  tensors: frozenPart(teacher, state),
});

/** Atomic write of `progressSnapshot` (nothing is written when a weight is non-finite). */
export const saveProgress = (
  file: string,
  roles: PhaseRoles,
  state: DistillState,
  at: ProgressPosition,
  meta?: Readonly<Record<string, unknown>>,
): void => saveCheckpoint(file, progressSnapshot(roles, state, at, meta));

/**
 * Saves a distillation run's state: mid-phase when the running phase's `roles` are
 * given (position `at`), else at the boundary before phase `at.phase` (at.iterations must be 0).
 */
export const saveDistillState = (
  file: string,
  s: {
    teacher: VelocityModel;
    state: DistillState;
    at: ProgressPosition;
    roles?: PhaseRoles | null;
    meta?: Readonly<Record<string, unknown>>;
  },
): void => {
  if (s.roles) return saveProgress(file, s.roles, s.state, s.at, s.meta);
  if (s.at.iterations !== 0)
    throw new Error(
      `saveDistillState: a boundary checkpoint has no running phase, so at.iterations must be 0 (got ` +
        `${s.at.iterations})`,
    );
  saveCheckpoint(file, boundarySnapshot(s.teacher, s.state, s.at.phase, s.meta));
};

// ── loading ──────────────────────────────────────────────────────────────────

const ProgressMeta = t.intersection([
  t.type({
    kind: t.literal(PROGRESS_KIND),
    phase: NonNegativeInt,
    iterations: NonNegativeInt,
    grids: t.array(t.array(t.number)),
  }),
  t.partial({ live: t.boolean, ema: t.boolean }),
]);

/** A progress checkpoint as read from disk: host tensors, no models built yet. */
export interface SavedDistillState {
  readonly file: string;
  /** The running phase (or the next one, at a boundary) and the generator updates done in it. */
  readonly phase: number;
  readonly iterations: number;
  /** Everything the writer put in meta (config, method, modelConfig, …). */
  readonly meta: Readonly<Record<string, unknown>>;
  /** Teacher weights (null in checkpoints written without them). */
  readonly teacher: NamedTensorData[] | null;
  readonly experts: ReadonlyArray<{ readonly grid: readonly number[]; readonly tensors: NamedTensorData[] }>;
  /** The running phase's roles and Adam states; null at a phase boundary. */
  readonly live: {
    readonly generator: NamedTensorData[];
    readonly fake: NamedTensorData[];
    readonly ema: NamedTensorData[] | null;
    readonly optimizers: { readonly generator: NamedTensorData[]; readonly fake: NamedTensorData[] };
  } | null;
}

/**
 * Reads and validates a progress checkpoint (atomic, checksummed file; bad meta → CheckpointError naming the field).
 */
export const loadDistillState = (file: string): E.Either<CheckpointError, SavedDistillState> =>
  E.chain((data: CheckpointData): E.Either<CheckpointError, SavedDistillState> => {
    const meta = decodeWith(ProgressMeta)(data.meta);
    if (E.isLeft(meta))
      return E.left(
        new CheckpointError(
          file,
          `not a distillation progress checkpoint: ` +
            `${formatIssues(meta.left.map((i) => ({ ...i, path: i.path === '(root)' ? 'meta' : `meta.${i.path}` })))}`,
        ),
      );
    const m = meta.right;
    const under = (prefix: string) => tensorsUnder(data, prefix);
    const live = m.live ?? data.tensors.some((x) => x.name.startsWith('phase/generator/'));
    const teacher = under('teacher/');
    return E.right({
      file,
      phase: m.phase,
      iterations: m.iterations,
      meta: data.meta,
      teacher: teacher.length > 0 ? teacher : null,
      experts: m.grids.map((grid, k) => ({ grid, tensors: under(`expert${k}/`) })),
      live: live
        ? {
            generator: under('phase/generator/'),
            fake: under('phase/fake/'),
            ema: m.ema ? under('phase/ema/') : null,
            optimizers: { generator: under('phase/opt/generator/'), fake: under('phase/opt/fake/') },
          }
        : null,
    });
  })(loadCheckpoint(file));

/**
 * The frozen experts of a saved run, loaded — not retrained: `build(k)` makes an empty
 * expert of phase k (a teacher copy, or a LoRA adapter on the teacher), whose weights
 * are then overwritten from the file and frozen.
 */
export const frozenExperts = (
  saved: SavedDistillState,
  build: (phase: number) => VelocityModel,
): E.Either<CheckpointError, ExpertPhase[]> => {
  const experts: ExpertPhase[] = [];
  try {
    saved.experts.forEach((e, k) => {
      const expert = build(k);
      experts.push({ grid: e.grid, expert });
      expert.params.write(e.tensors, `${saved.file}: expert${k}`);
      expert.params.setTrainable(false);
    });
  } catch (err) {
    experts.forEach((e) => e.expert.dispose());
    return E.left(new CheckpointError(saved.file, (err as Error).message));
  }
  return E.right(experts);
};

/**
 * Restores the running phase's fresh roles (generator, fake score, EMA, both Adam
 * states) from a saved state and returns the iteration to continue from. A phase other
 * than the saved one, or a boundary checkpoint, starts at 0 untouched.
 */
export const restoreRoles = (roles: PhaseRoles, saved: SavedDistillState): number => {
  if (roles.context.phase.index !== saved.phase || saved.live === null) return 0;
  const where = (w: string) => `checkpoint ${saved.file}: phase/${w}`;
  const { live } = saved;
  roles.context.generator.params.write(live.generator, where('generator'));
  roles.context.fake.params.write(live.fake, where('fake'));
  if (roles.ema !== undefined) {
    if (live.ema === null)
      throw new CheckpointError(
        saved.file,
        'the run has a generator EMA but the checkpoint holds none (meta.ema is false)',
      );
    roles.ema.params.write(live.ema, where('ema'));
  }
  restoreAdamState(
    roles.trainers.generator.optimizer,
    live.optimizers.generator,
    roles.trainers.generator.variables,
    where('opt/generator'),
  );
  restoreAdamState(
    roles.trainers.fake.optimizer,
    live.optimizers.fake,
    roles.trainers.fake.variables,
    where('opt/fake'),
  );
  return saved.iterations;
};
