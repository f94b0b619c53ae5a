/**
 * Which codec decodes a run config: chosen by its `method` field, so a typo in one field
 * of a distill config reports that field, not "matches none of 5 union members". The
 * runners here take teacher and distillation configs; the command line adds the
 * experiment and sweep codecs on top (pipelines/preflight.ts).
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { ConfigIssue, decodeWith, formatPath } from '../config/report';
import { unknownFields } from '../config/codecWalk';
import { resolveSchedule } from '../phases/resolve';
import { TeacherConfig, TEACHER_DEFAULTS } from '../teacher/teacher';
import { DistillConfig, scheduleFor } from '../distill/distill';

export type CodecTable = Readonly<Record<string, { readonly kind: string; readonly codec: t.Mixed }>>;

export const RUN_CODECS: CodecTable = {
  teacher: { kind: 'teacher', codec: TeacherConfig },
  dmd: { kind: 'distill', codec: DistillConfig },
  vanilla: { kind: 'distill', codec: DistillConfig },
  sgts: { kind: 'distill', codec: DistillConfig },
  phased: { kind: 'distill', codec: DistillConfig },
};

export interface DecodedConfig {
  /** teacher | distill | … */
  readonly kind: string;
  readonly method: string;
  readonly config: unknown;
}

export const decodeRunConfig = (
  input: unknown,
  codecs: CodecTable = RUN_CODECS,
): E.Either<ConfigIssue[], DecodedConfig> => {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return E.left([
      { path: '(root)', message: `expected an object with a "method" field, got ${JSON.stringify(input)}` },
    ]);
  const method = (input as { method?: unknown }).method;
  const entry = typeof method === 'string' ? codecs[method] : undefined;
  if (entry === undefined) {
    const names = Object.keys(codecs)
      .map((m) => JSON.stringify(m))
      .join(', ');
    const got = method === undefined ? 'nothing' : JSON.stringify(method);
    return E.left([{ path: 'method', message: `expected one of ${names}, got ${got}` }]);
  }
  return E.map((config: unknown) => ({ kind: entry.kind, method: method as string, config }))(
    decodeWith(entry.codec)(input),
  );
};

/**
 * Every NaN or ±Infinity anywhere in a config (YAML spells them .nan and .inf; JSON cannot
 * hold them, but a config built in code can): no field takes one, and a codec would see
 * only "a number", so they are named here, at their paths.
 */
export const nonFiniteIssues = (value: unknown, at: ReadonlyArray<string | number> = []): ConfigIssue[] => {
  if (typeof value === 'number')
    return Number.isFinite(value)
      ? []
      : [
          {
            path: formatPath(at) || '(root)',
            message: `expected a finite number, got ${String(value)} (NaN and Infinity are refused everywhere)`,
          },
        ];
  if (Array.isArray(value)) return value.flatMap((v, i) => nonFiniteIssues(v, [...at, i]));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([k, v]) => nonFiniteIssues(v, [...at, k]));
  return [];
};

/**
 * Every issue of a run config: non-finite numbers, what its method's codec refuses, and the fields no codec declares.
 */
export const runConfigIssues = (
  input: unknown,
  codecs: CodecTable = RUN_CODECS,
): E.Either<ConfigIssue[], DecodedConfig> => {
  const decoded = decodeRunConfig(input, codecs);
  const method = (input as { method?: unknown } | null)?.method;
  const codec = typeof method === 'string' ? codecs[method]?.codec : undefined;
  const unknown = codec === undefined ? [] : unknownFields(codec, input);
  const nonFinite = nonFiniteIssues(input);
  if (nonFinite.length === 0 && E.isRight(decoded) && unknown.length === 0) return decoded;
  // a non-finite number is named as such, not as whatever the field's codec expected
  const named = new Set(nonFinite.map((i) => i.path));
  const rest = [...(E.isLeft(decoded) ? decoded.left : []), ...unknown].filter((i) => !named.has(i.path));
  return E.left([...nonFinite, ...rest]);
};

/** Iterations of each phase of a decoded config: the progress bars' totals. */
export const phaseTotals = (decoded: DecodedConfig): number[] => {
  if (decoded.kind === 'teacher') return [(decoded.config as { steps?: number }).steps ?? TEACHER_DEFAULTS.steps];
  if (decoded.kind === 'distill')
    return resolveSchedule(scheduleFor(decoded.config as DistillConfig)).map((p) => p.iterations);
  return []; // an experiment: many runs, each with its own phases, shown by log lines
};
