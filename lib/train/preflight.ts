/**
 * Everything that can be checked about a pipeline config before any training starts,
 * reported at once with paths: the decoder (its method's codec, unknown fields refused),
 * then what the codec cannot see — the files it names (a teacher checkpoint, `.npy`
 * data and labels) exist and are what they claim, and the schedule a method derives
 * from its fields is well formed (steps a multiple of the preset's phases).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { ConfigError, ConfigIssue } from '../config/report';
import { loadCheckpoint } from '../checkpoint/format';
import { readNpy } from '../data/npy';
import { loadImageFolder } from '../data/imageFolder';
import type { DataConfig } from '../data/config';
import { runConfigIssues, DecodedConfig } from './configs';
import { scheduleFor, DistillConfig } from '../distill/distill';
import { resolveTeacherConfig, TeacherConfig } from '../teacher/teacher';
import { mlpMemory, unetMemory, memoryBudget, formatBytes, formatCount } from '../models/memory';
import { UNET_DEFAULTS } from '../models/unet';

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

/** A teacher checkpoint path: present, a whole checkpoint, and a teacher's. */
export const teacherPathIssues = (file: string, at = 'teacher'): ConfigIssue[] => {
  if (!fs.existsSync(file))
    return [{ path: at, message: `expected a teacher checkpoint, file not found: ${file}; ${makeTeacherHint(file)}` }];
  const r = loadCheckpoint(file);
  if (E.isLeft(r)) return [{ path: at, message: r.left.message }];
  return r.right.meta.kind === 'teacher'
    ? []
    : [
        {
          path: at,
          message: `expected a teacher checkpoint, ${file} holds a ${JSON.stringify(r.right.meta.kind)} checkpoint`,
        },
      ];
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
      ? { dim: 784, size: 28 }
      : { dim: 1, size: 1 };

/** A teacher whose lower-bound memory need exceeds this machine's memory, refused with the estimate. */
export const memoryIssues = (c: TeacherConfig, budget = memoryBudget()): ConfigIssue[] => {
  const r = resolveTeacherConfig(c);
  const { dim, size } = dataDim(c.data);
  const m =
    r.model.kind === 'mlp'
      ? mlpMemory(r.model.hidden ?? [256, 256, 256], r.model.timeEmbedDim ?? 32, dim, r.batchSize)
      : unetMemory(r.model.width ?? UNET_DEFAULTS.width, size, r.batchSize);
  if (m.bytes <= budget) return [];
  const what =
    `${formatCount(m.weights)} weights, each kept 4 times for gradients and Adam, plus the activations ` +
    `of a batch of ${r.batchSize.toLocaleString('en-US')}`;
  const field = m.path === 'model' ? (r.model.kind === 'mlp' ? 'model.hidden' : 'model.width') : 'batchSize';
  return [
    {
      path: field,
      message:
        `the run needs at least ${formatBytes(m.bytes)} of memory (${what}), more than this machine's ` +
        `${formatBytes(budget)}`,
    },
  ];
};

const deeperIssues = (loaded: LoadedConfig, options: PreflightOptions): ConfigIssue[] => {
  if (loaded.kind === 'teacher') {
    const c = loaded.input as TeacherConfig;
    return [...memoryIssues(c), ...dataIssues(c.data)];
  }
  if (loaded.kind === 'experiment') return []; // its runs are checked as it builds them
  const c = loaded.input as DistillConfig;
  const teacher = options.teacherGiven
    ? []
    : typeof c.teacher === 'string'
      ? teacherPathIssues(c.teacher)
      : dataIssues(c.teacher.data, 'teacher.data');
  let schedule: ConfigIssue[] = [];
  try {
    scheduleFor(c);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    schedule = prefixed('', err.issues);
  }
  return [...teacher, ...schedule];
};

/** Decodes and checks a pipeline config; Left lists every issue with its path. */
export const preflight = (
  input: unknown,
  what = 'config',
  options: PreflightOptions = {},
): E.Either<ConfigError, LoadedConfig> => {
  const checked = runConfigIssues(input);
  if (E.isLeft(checked)) return E.left(new ConfigError(what, checked.left));
  const loaded: LoadedConfig = { ...checked.right, input };
  const issues = deeperIssues(loaded, options);
  return issues.length === 0 ? E.right(loaded) : E.left(new ConfigError(what, issues));
};
