/**
 * One entry point for every pipeline config: `runConfig(config, options)` dispatches on
 * `config.method` to its runner:
 *
 *   teacher                       lib/train runTeacher      → <outDir>/teacher.ckpt
 *   dmd | sgts | vanilla | phased lib/train runDistill      → <outDir>/student.ckpt (+ last.ckpt while running)
 *   experiment                    pipelines/experiment      → <outDir>/report.md, results.json
 *   sweep                         pipelines/sweep           → <outDir>/report.md, results.json, figures/sweep-*.png
 *
 * The runners checkpoint along the way, record (`record`), resume exactly (`resume`),
 * refuse to overwrite a run unless asked (`overwrite`), and lock the run directory while
 * they write it (lib/train/lock.ts; a second process is refused). Each branch decodes its own config (errors name the
 * field). A
 * distillation config's `teacher` is a teacher checkpoint path (relative to the working
 * directory) or an inline teacher config, trained first. The command line's `run` and
 * `train` come through here.
 */
import { ConfigError } from '../lib/config/report';
import { runTeacher, TeacherRunResult } from '../lib/train/teacher';
import { runDistill, DistillRunResult } from '../lib/train/distill';
import type { RunOptions } from '../lib/train/options';
import { withRunLock } from '../lib/train/lock';
import type { DistillMethod } from '../lib/distill/distill';
import { runExperiment, ExperimentResult } from './experiment';
import { runSweep } from './sweep';

export const RUN_METHODS = ['teacher', 'dmd', 'sgts', 'vanilla', 'phased', 'experiment', 'sweep'] as const;
export type RunMethod = (typeof RUN_METHODS)[number];

export type { RunOptions };

export type RunResult =
  | {
      readonly method: 'teacher';
      readonly teacher: TeacherRunResult;
      readonly checkpoint: string | null;
      readonly recording: string | null;
      readonly seconds: number;
    }
  | {
      readonly method: DistillMethod;
      readonly distill: DistillRunResult;
      readonly checkpoint: string | null;
      readonly recording: string | null;
      readonly seconds: number;
    }
  | {
      readonly method: 'experiment';
      readonly experiment: ExperimentResult;
      readonly checkpoint: null;
      readonly recording: null;
      readonly seconds: number;
    }
  | {
      readonly method: 'sweep';
      readonly experiment: ExperimentResult;
      readonly checkpoint: null;
      readonly recording: null;
      readonly seconds: number;
    };

const methodOf = (config: unknown): RunMethod => {
  const method = typeof config === 'object' && config !== null ? (config as { method?: unknown }).method : undefined;
  if (typeof method === 'string' && (RUN_METHODS as readonly string[]).includes(method)) return method as RunMethod;
  const message =
    typeof config !== 'object' || config === null || Array.isArray(config)
      ? `expected a config object with a "method" field, got ` +
        `${Array.isArray(config) ? 'an array' : JSON.stringify(config)}`
      : `expected one of ${RUN_METHODS.map((m) => `"${m}"`).join(' | ')}, got ` +
        `${method === undefined ? 'nothing' : JSON.stringify(method)}`;
  throw new ConfigError('run config', [{ path: 'method', message }]);
};

export const runConfig = async (config: unknown, options: RunOptions = {}): Promise<RunResult> => {
  const method = methodOf(config);
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  if (method === 'teacher') {
    const teacher = await runTeacher(config, options);
    return { method, teacher, checkpoint: teacher.checkpoint, recording: teacher.recording, seconds: seconds() };
  }
  if (method === 'experiment' || method === 'sweep') {
    const outDir = options.outDir;
    if (outDir === undefined)
      throw new ConfigError('run config', [
        {
          path: 'method',
          message: `${method === 'sweep' ? 'a sweep' : 'an experiment'} needs an output directory (outDir)`,
        },
      ]);
    // it records each (seed, method) run in its own directory and reuses the finished ones
    const run = method === 'sweep' ? runSweep : runExperiment;
    const experiment = await withRunLock(outDir, () =>
      run(config, {
        outDir,
        log: options.log,
        metricLog: options.metricLog,
        onStep: options.onStep,
        onRun: options.onRun,
        // the teachers it trains checkpoint at the teacher runs' interval
        ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
      }),
    );
    return { method, experiment, checkpoint: null, recording: null, seconds: seconds() };
  }
  const distill = await runDistill(config, options);
  return { method, distill, checkpoint: distill.checkpoint, recording: distill.recording, seconds: seconds() };
};

/** Frees the models a run returned (the teacher, or the teacher and the student's experts). */
export const disposeRun = (r: RunResult): void => {
  if (r.method === 'teacher') r.teacher.model.dispose();
  else if (r.method === 'experiment' || r.method === 'sweep')
    return; // they free their models as they go
  else {
    r.distill.experts.forEach((e) => e.expert.dispose());
    r.distill.teacher.dispose();
  }
};
