/**
 * One entry point for every pipeline config: `runConfig(config, { outDir, log })`
 * dispatches on `config.method`:
 *
 *   teacher                       flow-matching teacher   → <outDir>/teacher.ckpt
 *   dmd | sgts | vanilla | phased distillation            → <outDir>/student.ckpt (+ last.ckpt while running)
 *   experiment                    the paper's comparison   → <outDir>/report.md, results.json (pipelines/experiment.ts)
 *
 * Each branch decodes its own config (errors name the field). A distillation config's
 * `teacher` is a teacher checkpoint path (relative to the working directory) or an
 * inline teacher config, trained first.
 */
import { ConfigError } from '../lib/config/report';
import { trainTeacher, TeacherResult } from './teacher';
import { trainDistill, DistillResult, DistillMethod } from './distill';
import * as path from 'path';
import { runExperiment, ExperimentResult } from './experiment';

export const RUN_METHODS = ['teacher', 'dmd', 'sgts', 'vanilla', 'phased', 'experiment'] as const;
export type RunMethod = (typeof RUN_METHODS)[number];

export interface RunOptions {
  /** Where checkpoints go; absent: nothing is written. */
  readonly outDir?: string;
  readonly log?: (line: string) => void;
}

export type RunResult =
  | { readonly method: 'teacher'; readonly teacher: TeacherResult; readonly checkpoint: string | null; readonly seconds: number }
  | { readonly method: DistillMethod; readonly distill: DistillResult; readonly checkpoint: string | null; readonly seconds: number }
  | { readonly method: 'experiment'; readonly experiment: ExperimentResult; readonly checkpoint: null; readonly seconds: number };

const methodOf = (config: unknown): RunMethod => {
  const method = typeof config === 'object' && config !== null ? (config as { method?: unknown }).method : undefined;
  if (typeof method === 'string' && (RUN_METHODS as readonly string[]).includes(method)) return method as RunMethod;
  const message =
    typeof config !== 'object' || config === null || Array.isArray(config)
      ? `expected a config object with a "method" field, got ${Array.isArray(config) ? 'an array' : JSON.stringify(config)}`
      : `expected one of ${RUN_METHODS.map((m) => `"${m}"`).join(' | ')}, got ${method === undefined ? 'nothing' : JSON.stringify(method)}`;
  throw new ConfigError('run config', [{ path: 'method', message }]);
};

export const runConfig = async (config: unknown, options: RunOptions = {}): Promise<RunResult> => {
  const method = methodOf(config);
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const out = (file: string) => (options.outDir === undefined ? null : path.join(options.outDir, file));
  if (method === 'teacher') {
    const teacher = await trainTeacher(config, options);
    return { method, teacher, checkpoint: out('teacher.ckpt'), seconds: seconds() };
  }
  if (method === 'experiment') {
    if (options.outDir === undefined) throw new ConfigError('run config', [{ path: 'method', message: 'an experiment needs an output directory (outDir)' }]);
    const experiment = await runExperiment(config, { outDir: options.outDir, ...(options.log ? { log: options.log } : {}) });
    return { method, experiment, checkpoint: null, seconds: seconds() };
  }
  const distill = await trainDistill(config, options);
  return { method, distill, checkpoint: out('student.ckpt'), seconds: seconds() };
};

/** Frees the models a run returned (the teacher, or the teacher and the student's experts). */
export const disposeRun = (r: RunResult): void => {
  if (r.method === 'teacher') r.teacher.model.dispose();
  else if (r.method === 'experiment') return; // the experiment frees its models as it goes
  else {
    r.distill.experts.forEach((e) => e.expert.dispose());
    r.distill.teacher.dispose();
  }
};
