/**
 * Which codec decodes a pipeline config: chosen by its `method` field, so a typo in one
 * field of a distill config reports that field, not "matches none of 5 union members".
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { ConfigIssue, decodeWith } from '../lib/config/report';
import { TeacherConfig, TEACHER_DEFAULTS } from '../lib/teacher/teacher';
import { DistillConfig, scheduleFor } from '../lib/distill/distill';
import { resolveSchedule } from '../lib/phases/resolve';
import { ExperimentConfig } from '../pipelines/experiment';
import { SweepConfig } from '../pipelines/sweep';

export const PIPELINE_CODECS: Readonly<Record<string, { readonly kind: string; readonly codec: t.Mixed }>> = {
  teacher: { kind: 'teacher', codec: TeacherConfig },
  dmd: { kind: 'distill', codec: DistillConfig },
  vanilla: { kind: 'distill', codec: DistillConfig },
  sgts: { kind: 'distill', codec: DistillConfig },
  phased: { kind: 'distill', codec: DistillConfig },
  experiment: { kind: 'experiment', codec: ExperimentConfig },
  sweep: { kind: 'experiment', codec: SweepConfig },
};

export const PIPELINE_METHODS = Object.keys(PIPELINE_CODECS);

export const codecOfMethod = (method: unknown): t.Mixed | undefined => (typeof method === 'string' ? PIPELINE_CODECS[method]?.codec : undefined);

export interface DecodedPipeline {
  /** teacher | distill | … */
  readonly kind: string;
  readonly method: string;
  readonly config: unknown;
}

export const decodePipelineConfig = (input: unknown): E.Either<ConfigIssue[], DecodedPipeline> => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return E.left([{ path: '(root)', message: `expected an object with a "method" field, got ${JSON.stringify(input)}` }]);
  const method = (input as { method?: unknown }).method;
  const entry = typeof method === 'string' ? PIPELINE_CODECS[method] : undefined;
  if (entry === undefined)
    return E.left([{ path: 'method', message: `expected one of ${PIPELINE_METHODS.map((m) => JSON.stringify(m)).join(', ')}, got ${method === undefined ? 'nothing' : JSON.stringify(method)}` }]);
  return E.map((config: unknown) => ({ kind: entry.kind, method: method as string, config }))(decodeWith(entry.codec)(input));
};

/** Iterations of each phase of a decoded config: the progress bars' totals. */
export const phaseTotals = (decoded: DecodedPipeline): number[] => {
  if (decoded.kind === 'experiment') return []; // many runs, each with its own phases: shown by log lines
  if (decoded.kind === 'teacher') return [(decoded.config as { steps?: number }).steps ?? TEACHER_DEFAULTS.steps];
  return resolveSchedule(scheduleFor(decoded.config as DistillConfig)).map((p) => p.iterations);
};
