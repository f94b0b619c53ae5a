/**
 * Everything that can be checked about a pipeline config before any training starts,
 * reported at once with paths: the decoder (its method's codec, unknown fields refused),
 * then what the codec cannot see — the files it names (a teacher checkpoint, `.npy`
 * data and labels) exist and are what they claim, the schedule a method derives
 * from its fields is well formed (steps a multiple of the preset's phases), and what the run
 * needs in memory (a lower bound, lib/models/memory.ts) fits in this machine's.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { ConfigError, ConfigIssue } from '../config/report';
import { loadCheckpoint } from '../checkpoint/format';
import { readNpy } from '../data/npy';
import { loadImageFolder } from '../data/imageFolder';
import { imageSideOf, type DataConfig } from '../data/config';
import { runConfigIssues, DecodedConfig } from './configs';
import { scheduleFor, DistillConfig, DISTILL_DEFAULTS } from '../distill/distill';
import { resolveTeacherConfig, TeacherConfig } from '../teacher/teacher';
import {
  NetworkSize,
  distillMemory,
  formatCount,
  memoryBudget,
  mlpSize,
  tooMuchMemory,
  trainingMemory,
  unetSize,
} from '../models/memory';
import { UNET_DEFAULTS } from '../models/unet';
import { resolveSchedule } from '../phases/resolve';
import { MLP_DEFAULTS } from '../models/mlp';
import { ModelConfig } from '../models/config';
import type { ModelSpec } from '../models/spec';

const prefixed = (prefix: string, issues: readonly ConfigIssue[]): ConfigIssue[] =>
  issues.map((i) => ({
    path: prefix === '' ? i.path : i.path === '(root)' ? prefix : `${prefix}.${i.path}`,
    message: i.message,
  }));

/** The data files a data config names: present and readable (.npy files; a folder of images, decoded). */
export const dataIssues = (data: DataConfig, at = 'data'): ConfigIssue[] => {
  if (data.kind === 'image-folder') {
    const r = loadImageFolder(data.path, { normalise: data.normalise });
    return E.isLeft(r) ? [{ path: `${at}.path`, message: r.left.message }] : [];
  }
  if (data.kind !== 'npy') return [];
  const check = (file: string, field: string): ConfigIssue[] => {
    if (!fs.existsSync(file)) return [{ path: `${at}.${field}`, message: `file not found: ${file}` }];
    const r = readNpy(file);
    return E.isLeft(r) ? [{ path: `${at}.${field}`, message: r.left.message }] : [];
  };
  return [...check(data.path, 'path'), ...(data.labels === undefined ? [] : check(data.labels, 'labels'))];
};

/**
 * A teacher config beside the examples named after the run directory (runs/teacher-ring8 ←
 * pipelines/configs/teacher-ring8.json).
 */
const exampleTeacherConfig = (dir: string): string | null => {
  const file = path.join('pipelines', 'configs', `${path.basename(dir)}.json`);
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { method?: unknown }).method === 'teacher' ? file : null;
  } catch {
    return null;
  }
};

/**
 * What `run` and `train` name a teacher's checkpoint (./teacher.ts TEACHER_CHECKPOINT; that module imports this one).
 */
const TEACHER_CHECKPOINT = 'teacher.ckpt';

/** How to make a missing teacher checkpoint: `run` and `train` write `<out>/teacher.ckpt`. */
export const makeTeacherHint = (file: string): string => {
  const dir = path.dirname(file);
  const example = exampleTeacherConfig(dir);
  const out = (defaultOut: string | null): string =>
    defaultOut !== null && path.normalize(defaultOut) === path.normalize(dir) ? '' : ` --out ${dir}`;
  const rename =
    path.basename(file) === TEACHER_CHECKPOINT
      ? ''
      : ` (they write ${path.join(dir, TEACHER_CHECKPOINT)}: point "teacher" there)`;
  return example !== null
    ? `make it with \`phased-dmd run ${example}${out(path.join('runs', path.basename(dir)))}\`${rename}`
    : `make it with \`phased-dmd run <teacher config>${out(null)}\` (a config with "method": "teacher") or ` +
        `\`phased-dmd train --data <x.npy> --method teacher${out(null)}\`${rename}`;
};

/** A teacher checkpoint path: present, a whole checkpoint, and a teacher's; Right: its meta. */
const teacherCheckpointMeta = (
  file: string,
  at: string,
): E.Either<ConfigIssue[], Readonly<Record<string, unknown>>> => {
  if (!fs.existsSync(file))
    return E.left([
      { path: at, message: `expected a teacher checkpoint, file not found: ${file}; ${makeTeacherHint(file)}` },
    ]);
  const r = loadCheckpoint(file);
  if (E.isLeft(r)) return E.left([{ path: at, message: r.left.message }]);
  return r.right.meta.kind === 'teacher'
    ? E.right(r.right.meta)
    : E.left([
        {
          path: at,
          message: `expected a teacher checkpoint, ${file} holds a ${JSON.stringify(r.right.meta.kind)} checkpoint`,
        },
      ]);
};

/** A teacher checkpoint path: present, a whole checkpoint, and a teacher's. */
export const teacherPathIssues = (file: string, at = 'teacher'): ConfigIssue[] => {
  const r = teacherCheckpointMeta(file, at);
  return E.isLeft(r) ? r.left : [];
};

export interface PreflightOptions {
  /** The distillation teacher is given as a loaded model: its path is not checked. */
  readonly teacherGiven?: boolean;
}

/** A decoded run config and the config as given. */
export interface LoadedConfig extends DecodedConfig {
  readonly input: unknown;
}

/** A lower bound of the data's dimension per sample, without opening the data (1 where unknown). */
const dataDim = (data: DataConfig): { dim: number; size: number } =>
  data.kind === 'mixture'
    ? { dim: 2, size: 1 }
    : data.kind === 'mnist' || data.kind === 'fashion-mnist'
      ? { dim: imageSideOf(data) ** 2, size: imageSideOf(data) }
      : { dim: 1, size: 1 };

/** The network a model spec builds on this data (a lower bound where the data is not opened). */
export const specSize = (spec: ModelSpec, data: DataConfig): NetworkSize => {
  const { dim, size } = dataDim(data);
  return spec.kind === 'mlp'
    ? mlpSize(spec.hidden ?? MLP_DEFAULTS.hidden, spec.timeEmbedDim ?? MLP_DEFAULTS.timeEmbedDim, dim)
    : unetSize(spec.width ?? UNET_DEFAULTS.width, size);
};

/** The network of a complete model config (a checkpoint's). */
export const modelSize = (m: ModelConfig): NetworkSize =>
  m.kind === 'mlp'
    ? mlpSize(m.hidden ?? MLP_DEFAULTS.hidden, m.timeEmbedDim ?? MLP_DEFAULTS.timeEmbedDim, m.dim)
    : unetSize(m.width ?? UNET_DEFAULTS.width, m.size, m.imageWidth ?? m.size);

const count = (n: number): string => n.toLocaleString('en-US');

/** A teacher whose lower-bound memory need exceeds this machine's memory, refused with the estimate. */
export const memoryIssues = (c: TeacherConfig, budget = memoryBudget()): ConfigIssue[] => {
  const r = resolveTeacherConfig(c);
  const m = trainingMemory(specSize(r.model, c.data), r.batchSize);
  if (m.bytes <= budget) return [];
  const what =
    `${formatCount(m.weights)} weights, each kept 4 times for gradients and Adam, plus the activations ` +
    `of a batch of ${count(r.batchSize)}`;
  const field = m.path === 'model' ? (r.model.kind === 'mlp' ? 'model.hidden' : 'model.width') : 'batchSize';
  return [{ path: field, message: tooMuchMemory(m.bytes, budget, what) }];
};

/** What a distillation trains, for its memory estimate: phases, the largest batch and where it is set, LoRA. */
export interface DistillShape {
  readonly phases: number;
  readonly batch: number;
  /** The field that sets the largest batch. */
  readonly batchPath: string;
  readonly loraRank?: number;
  readonly concurrent: boolean;
}

/** The shape of a distillation config (null when its schedule is malformed: reported on its own). */
export const distillShape = (c: DistillConfig): DistillShape | null => {
  let schedule: ReturnType<typeof scheduleFor>;
  try {
    schedule = scheduleFor(c);
  } catch (err) {
    if (err instanceof ConfigError) return null;
    throw err;
  }
  const phases = resolveSchedule(schedule);
  const batch = Math.max(...phases.map((p) => p.batchSize));
  const at = phases.findIndex((p) => p.batchSize === batch);
  // an explicit schedule sets its batches itself; a preset or a baseline takes the config's
  const batchPath =
    c.method !== 'phased' || c.schedule === undefined
      ? 'batchSize'
      : c.schedule.phases[at]?.batchSize !== undefined
        ? `schedule.phases.${at}.batchSize`
        : 'schedule.defaults.batchSize';
  const experts = c.experts ?? 'full';
  return {
    phases: phases.length,
    batch,
    batchPath,
    ...(experts === 'full' ? {} : { loraRank: experts.lora.rank }),
    concurrent: (c.phasing ?? DISTILL_DEFAULTS.phasing) === 'concurrent',
  };
};

/**
 * A distillation whose lower-bound memory need exceeds this machine's memory, refused with the
 * estimate and the field to change: the batch when activations dominate, else the experts
 * (LoRA adapters instead of full copies, or a lower rank).
 */
export const distillMemoryIssues = (
  teacher: NetworkSize,
  shape: DistillShape,
  budget = memoryBudget(),
  prefix = '',
): ConfigIssue[] => {
  const m = distillMemory(teacher, shape);
  if (m.bytes <= budget) return [];
  const role = shape.loraRank === undefined ? 'full copies' : `LoRA adapters of rank ${shape.loraRank}`;
  const what =
    `the frozen teacher's ${formatCount(m.weights)} weights; ${m.trainedRoles} trained roles (generator and fake ` +
    `score, ${role}: ${formatCount(m.roleWeights)} weights each, kept 4 times for gradients and Adam)` +
    (m.frozenExperts > 0
      ? `; ${m.frozenExperts} frozen expert${m.frozenExperts === 1 ? '' : 's'} of finished phases`
      : '') +
    `; the activations of a batch of ${count(shape.batch)}`;
  const field =
    m.path === 'batchSize' ? shape.batchPath : shape.loraRank === undefined ? 'experts' : 'experts.lora.rank';
  const hint =
    m.path === 'batchSize'
      ? ''
      : shape.loraRank === undefined
        ? '; LoRA experts ({"lora": {"rank": 8}}) train adapters instead of full copies'
        : '; a lower rank trains smaller adapters';
  return [{ path: prefix === '' ? field : `${prefix}.${field}`, message: tooMuchMemory(m.bytes, budget, what) + hint }];
};

const deeperIssues = (loaded: LoadedConfig, options: PreflightOptions): ConfigIssue[] => {
  if (loaded.kind === 'teacher') {
    const c = loaded.input as TeacherConfig;
    return [...memoryIssues(c), ...dataIssues(c.data)];
  }
  if (loaded.kind === 'experiment') return []; // pipelines/preflight.ts checks experiments and sweeps
  const c = loaded.input as DistillConfig;
  let teacher: ConfigIssue[] = [];
  let size: NetworkSize | null = null;
  if (typeof c.teacher !== 'string') {
    teacher = [...prefixed('teacher', memoryIssues(c.teacher)), ...dataIssues(c.teacher.data, 'teacher.data')];
    size = specSize(resolveTeacherConfig(c.teacher).model, c.teacher.data);
  } else if (!options.teacherGiven) {
    const meta = teacherCheckpointMeta(c.teacher, 'teacher');
    if (E.isLeft(meta)) teacher = meta.left;
    else {
      const m = ModelConfig.decode(meta.right.modelConfig);
      size = E.isRight(m) ? modelSize(m.right) : null;
    }
  }
  let schedule: ConfigIssue[] = [];
  try {
    scheduleFor(c);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    schedule = prefixed('', err.issues);
  }
  const shape = distillShape(c);
  const memory = size === null || shape === null ? [] : distillMemoryIssues(size, shape);
  return [...teacher, ...schedule, ...memory];
};

/** Decodes and checks a pipeline config; Left lists every issue with its path. */
export const preflight = (
  input: unknown,
  what = 'config',
  options: PreflightOptions = {},
): E.Either<ConfigError, LoadedConfig> => {
  const checked = runConfigIssues(input);
  if (E.isLeft(checked)) return E.left(new ConfigError(what, checked.left));
  return preflightDecoded({ ...checked.right, input }, what, options);
};

/** `preflight` of a config its caller has already decoded: the files it names, its schedule and its memory. */
export const preflightDecoded = (
  loaded: LoadedConfig,
  what = 'config',
  options: PreflightOptions = {},
): E.Either<ConfigError, LoadedConfig> => {
  const issues = deeperIssues(loaded, options);
  return issues.length === 0 ? E.right(loaded) : E.left(new ConfigError(what, issues));
};
