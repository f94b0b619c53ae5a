/**
 * `phased-dmd train --data x.npy --method …`: the one-line way to train on one's own
 * data, a .npy file or a folder of PNGs (scaled for the model as lib/data/scaling.ts says,
 * the map stored with the teacher so `sample` gives the data's units back). The config is
 * generated from the data's shape (see `trainDefaults`), written to
 * `<out>/config.json` (so `phased-dmd run <out>/config.json` reproduces it), and run.
 * A student without `--teacher` gets its teacher trained first into `<out>/teacher/`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { defineCommand, Io } from './command';
import { choice, flag, int, list, str, UsageError } from './args';
import { backendOption, startBackendAndKernels } from './backend';
import { applyOverrides } from './configFile';
import { checkPipelineConfig } from './loadConfig';
import { execute } from './execute';
import { loadDataset } from '../lib/data/config';
import type { Dataset } from '../lib/data/types';
import { writeFileAtomic, keepAside } from '../lib/util/atomicWrite';
import { TEACHER_CHECKPOINT } from './runPipeline';
import { loadCheckpoint } from '../lib/checkpoint/format';
import type { DataConfig } from '../lib/data/config';
import { POINTS_DMD_REGRESSION } from '../pipelines/experiment';

export const TRAIN_METHODS = ['teacher', 'dmd', 'vanilla', 'sgts', 'phased'] as const;
export const BUDGETS = ['quick', 'standard'] as const;
export type Budget = (typeof BUDGETS)[number];

/**
 * The 4-step students' regression term on 2-D points (docs/algorithm.md §3): 4 000 regression-only updates per
 * phase at lr 10⁻³, each step fitted to the teacher's ODE path (teacher forcing), then the DMD updates with the term
 * at λ_reg 4, one-step DMD's weight. Measured on five 2-D tasks × 3 seeds (docs/results.md §2d): both Phased students
 * then keep every mode within 10 points of the teacher on all fifteen, SGTS on fourteen (on ring8 its sharpness
 * swings around the bar; with the generator EMA of `sgtsEma` on all fifteen). λ 1 or 2 lose a grid25 mode on one
 * seed instead; the warm-up alone loses uneven7 modes.
 */
export const POINTS_FEW_STEP_REGRESSION: Readonly<Record<string, number>> = { weight: 4, warmup: 4000, warmupLr: 1e-3 };

export interface DataShape {
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
}

/**
 * Settings by data shape and budget. Points (≤ 16 dims): an MLP teacher of 12 000 steps
 * (about 3 minutes of CPU: bench/train-defaults.ts measures it) and 512 student
 * iterations (with the regression warm-ups below, 80–143 s of CPU per student there).
 * The students on points start with a regression warm-up on the teacher's path and keep the
 * term after it: dmd's (POINTS_DMD_REGRESSION), the few-step students' per phase
 * (POINTS_FEW_STEP_REGRESSION). Images [H, W, C]: a small U-Net. Long vectors
 * (flattened clips): a wider MLP on smaller batches. `quick` is a smoke test: seconds, not quality.
 */
export const trainDefaults = (
  shape: DataShape,
  budget: Budget,
): {
  teacher: Record<string, unknown>;
  student: Record<string, unknown>;
  /** One-step DMD's regression term (points only): what the dmd student adds to `student`. */
  dmdRegression?: Record<string, unknown>;
  /** The few-step students' regression term (points only): what sgts, vanilla and phased add to `student`. */
  fewStepRegression?: Record<string, unknown>;
  /**
   * Generator EMA decay of the one-network 4-step students (sgts, vanilla) on points: under the term SGTS's ring8
   * sharpness swung around the teacher's from update to update, and the EMA weights hold it (docs/results.md §2d).
   */
  sgtsEma?: number;
} => {
  const quick = budget === 'quick';
  const dims = shape.sampleShape;
  if (dims.length === 3)
    return {
      teacher: {
        model: { kind: 'unet' },
        steps: quick ? 20 : 1500,
        batchSize: quick ? 16 : 64,
        lr: 5e-4,
        logEvery: quick ? 5 : 100,
      },
      student: { iterations: quick ? 4 : 300, batchSize: quick ? 8 : 32, logEvery: quick ? 1 : 25 },
    };
  const d = dims[0];
  if (d <= 16)
    return {
      teacher: {
        model: { kind: 'mlp', hidden: [256, 256, 256], timeEmbedDim: 32 },
        // 3 000 left tight or heavy modes unresolved (grid25: 46 % within 3σ, and the 4-step students lost modes;
        // rings2: a diffuse disc) while the loss plateaus; 12 000 resolve both (docs/results.md §2d)
        steps: quick ? 150 : 12000,
        batchSize: quick ? 256 : 512,
        logEvery: quick ? 25 : 100,
      },
      // shift 1: the timestep distribution the default teacher trains on; a given teacher's own shift replaces it
      student: { iterations: quick ? 24 : 512, batchSize: 256, shift: 1, logEvery: quick ? 4 : 50 },
      // the one-step student fits the teacher's noise-to-sample map first (POINTS_DMD_REGRESSION)
      dmdRegression: quick ? { ...POINTS_DMD_REGRESSION, warmup: 100 } : POINTS_DMD_REGRESSION,
      // the 4-step students fit each step to the teacher's path first and keep the term (POINTS_FEW_STEP_REGRESSION)
      fewStepRegression: quick ? { ...POINTS_FEW_STEP_REGRESSION, warmup: 50 } : POINTS_FEW_STEP_REGRESSION,
      sgtsEma: 0.99,
    };
  return {
    teacher: {
      model: { kind: 'mlp', hidden: [512, 512, 512], timeEmbedDim: 64 },
      steps: quick ? 40 : 2000,
      batchSize: quick ? 32 : 128,
      logEvery: quick ? 10 : 100,
    },
    student: { iterations: quick ? 8 : 300, batchSize: quick ? 32 : 64, logEvery: quick ? 2 : 25 },
  };
};

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'Train a teacher or a distilled student on your own .npy data with defaults chosen for its shape.',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {
    data: str(
      'samples [N, D] or images [N, H, W, C] (.npy), or a folder of PNGs (one sub-folder per class)',
      'x.npy|dir',
      { required: true },
    ),
    labels: str('integer class labels [N] (.npy): a class-conditional model with CFG', 'y.npy'),
    normalise: flag(
      'standardise each channel (x − mean)/std instead of the default map ' +
        '(integer images → [−1, 1], floats as given)',
    ),
    method: choice('what to train', TRAIN_METHODS, { required: true }),
    teacher: str(
      'students: the teacher checkpoint to distil (default: train one first into <out>/teacher/)',
      'checkpoint',
    ),
    preset: choice('phased: schedule preset, 4 steps in 2 phases (the paper’s main setting) or 4 phases', [
      '4x2',
      '4x4',
    ]),
    budget: choice('training budget: standard, or quick (a smoke test: seconds, not quality)', BUDGETS),
    out: str('run directory: checkpoint, recording, report, figures, config.json', 'dir', { required: true }),
    seed: int('seed of the whole run (default 0)'),
    set: list('override any field of the generated config (see docs/config.md)', 'key=value'),
    resume: flag('continue the run in --out from its last checkpoint'),
    overwrite: flag('start over although --out holds a run (its files are kept aside, renamed)'),
    backend: backendOption(),
  },
  description:
    'Defaults: 2-D points → an MLP teacher (12000 steps, about 3 minutes of CPU) and students of 512 ' +
    'iterations (under 5 minutes); images → a U-Net teacher (1500 steps of 64) and students of 300 iterations of ' +
    '32 (28×28 MNIST: about 9 and 10 minutes of CPU each, so 20 minutes or more on 2 shared cores); ' +
    'dmd = 1 step, vanilla/sgts = 4 steps, phased = 4 steps in 2 phases; on points every student first fits ' +
    "the teacher's ODE by regression (dmd: 8000 warm-up updates; 4-step students: 4000 per phase) and keeps " +
    'that term (sgts/vanilla also a generator EMA): 1.3–2.4 minutes of CPU per student in all. The ' +
    'generated config is saved as <out>/config.json. --data also takes a folder of PNG images, one sub-folder ' +
    'per class (digits/<class>/<image>.png).',
  examples: [
    'phased-dmd train --data ring.npy --labels ring-labels.npy --method teacher --out runs/ring-teacher',
    'phased-dmd train --data ring.npy --labels ring-labels.npy --method phased --teacher ' +
      'runs/ring-teacher/teacher.ckpt --out runs/ring-phased',
    'phased-dmd train --data ring.npy --method sgts --out runs/ring-sgts --budget quick',
  ],
  run: async ({ options: o }, io) => {
    const dataConfig = dataConfigFor(o.data!, o.labels, o.normalise);
    const data = loadDataset(dataConfig as DataConfig);
    if (E.isLeft(data)) throw data.left;
    for (const note of data.right.notes ?? []) io.stderr(`warning: ${note}\n`);
    checkImageShape(data.right);
    const shape = { sampleShape: data.right.sampleShape, numClasses: data.right.numClasses };
    const defaults = trainDefaults(shape, (o.budget ?? 'standard') as Budget);
    if (o.budget === 'quick')
      io.stderr(
        '--budget quick is a smoke test: it checks that the run works end to end; its samples are not expected to ' +
          'be good\n',
      );
    if (o.method === 'teacher' && (o.teacher !== undefined || o.preset !== undefined))
      throw new UsageError('--teacher and --preset are for students (--method dmd|vanilla|sgts|phased)');
    if (o.preset !== undefined && o.method !== 'phased')
      throw new UsageError('--preset applies to --method phased only');
    const seed = o.seed ?? 0;
    const teacherConfig = { method: 'teacher', data: dataConfig, seed, ...defaults.teacher };
    const kernels = await startBackendAndKernels(o.backend, io.stderr);
    const common = { resume: o.resume, overwrite: o.overwrite, force: false, verbose: o.verbose, kernels };
    const out = o.out!;
    if (o.method === 'teacher') {
      await runGenerated(applyOverrides(teacherConfig, o.set), out, o.set, common, io);
      return 0;
    }
    let teacherPath = o.teacher;
    if (teacherPath === undefined) {
      const teacherDir = path.join(out, 'teacher');
      teacherPath = path.join(teacherDir, TEACHER_CHECKPOINT);
      if (isCompleteTeacher(teacherPath) && !o.overwrite)
        io.stderr(`using the teacher trained earlier: ${teacherPath}\n`);
      else {
        io.stderr(`no --teacher given: training one first into ${teacherDir}\n`);
        await runGenerated(teacherConfig, teacherDir, [], common, io);
      }
    }
    // on points the students re-noise with the timestep distribution their teacher trained on
    const shift = 'shift' in defaults.student ? teacherShift(teacherPath) : null;
    if (shift !== null && shift !== defaults.student.shift)
      io.stderr(`the students take the teacher's timestep shift, ${shift} (from ${teacherPath})\n`);
    const student = {
      method: o.method,
      teacher: path.resolve(teacherPath),
      seed,
      ...(o.method === 'dmd' ? {} : { steps: 4 }),
      ...(o.method === 'phased' ? { preset: o.preset ?? '4x2' } : {}),
      ...defaults.student,
      ...(shift === null ? {} : { shift }),
      ...methodDefaults(o.method, defaults),
    };
    await runGenerated(applyOverrides(student, o.set), out, o.set, common, io);
    return 0;
  },
});

/** What a student method adds to `student` on points: its regression term, and SGTS's and vanilla's EMA. */
const methodDefaults = (method: string, d: ReturnType<typeof trainDefaults>): Record<string, unknown> => {
  const regression = method === 'dmd' ? d.dmdRegression : d.fewStepRegression;
  const ema = method === 'sgts' || method === 'vanilla' ? d.sgtsEma : undefined;
  return { ...(regression === undefined ? {} : { regression }), ...(ema === undefined ? {} : { ema }) };
};

/** The data config of `--data`: a folder of PNGs, or a .npy file (with its labels). */
const dataConfigFor = (data: string, labels: string | undefined, normalise: boolean): Record<string, unknown> => {
  const folder = fs.existsSync(data) && fs.statSync(data).isDirectory();
  if (folder && labels !== undefined)
    throw new UsageError('--labels: a folder of images takes its classes from its sub-folders; leave --labels out');
  const scale = normalise ? { normalise: true } : {};
  if (folder) return { kind: 'image-folder', path: path.resolve(data), ...scale };
  return {
    kind: 'npy',
    path: path.resolve(data),
    ...(labels !== undefined ? { labels: path.resolve(labels) } : {}),
    ...scale,
  };
};

/**
 * Images the default model (a U-Net that halves each side twice) can take: both sides divisible
 * by 4. Anything else is refused before training with what would work.
 */
const checkImageShape = (d: Dataset): void => {
  if (d.sampleShape.length !== 3) return;
  const [h, w] = d.sampleShape;
  if (h % 4 === 0 && w % 4 === 0) return;
  const up = (x: number) => 4 * Math.ceil(x / 4);
  const down = (x: number) => Math.max(4, 4 * Math.floor(x / 4));
  throw new UsageError(
    `${d.name}: images are ${h}×${w} (H×W); ` +
      'the U-Net halves each side twice, so height and width must be divisible by 4. ' +
      `Pad to ${up(h)}×${up(w)} or crop to ${down(h)}×${down(w)} (non-square sizes work), ` +
      `or flatten them to [N, ${h * w * d.sampleShape[2]}] for an MLP.`,
  );
};

/** The timestep shift a teacher checkpoint was trained with (its recorded config), or null when it names none. */
const teacherShift = (file: string): number | null => {
  if (!fs.existsSync(file)) return null;
  const c = loadCheckpoint(file);
  if (E.isLeft(c)) return null;
  const config = c.right.meta.config as { timesteps?: { shift?: unknown } } | undefined;
  const shift = config?.timesteps?.shift;
  return typeof shift === 'number' && Number.isFinite(shift) && shift > 0 ? shift : null;
};

/** A teacher checkpoint whose run finished (resumable checkpoints say so in meta.complete). */
const isCompleteTeacher = (file: string): boolean => {
  if (!fs.existsSync(file)) return false;
  const c = loadCheckpoint(file);
  return E.isRight(c) && c.right.meta.kind === 'teacher' && c.right.meta.complete === true;
};

/** Validates a generated config like a file, saves it as <out>/config.json (never over another run's), runs it. */
const runGenerated = async (
  config: unknown,
  out: string,
  sets: readonly string[],
  o: { resume: boolean; overwrite: boolean; force: boolean; verbose: boolean; kernels?: () => void },
  io: Io,
): Promise<void> => {
  const loaded = checkPipelineConfig(config, 'generated config', sets);
  const file = path.join(out, 'config.json');
  const text = `${JSON.stringify(config, null, 2)}\n`;
  const previous = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
  if (previous !== null && previous !== text && !o.overwrite)
    throw new UsageError(
      `${file} holds another run's config${o.resume ? " (the flags differ from that run's)" : ''}: choose another ` +
        `--out, or pass --overwrite to start over`,
    );
  if (previous !== null && previous !== text) keepAside(file);
  if (previous !== text) writeFileAtomic(file, text);
  await execute(loaded, { outDir: out, ...o }, io);
};
