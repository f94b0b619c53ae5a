/**
 * Readable io-ts error reports: one line per violation, `path: expected X, got Y`.
 * Decode at the edge, report with paths, trust the types inside.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';

export interface ConfigIssue {
  /** Dotted path with array indices: `phases[1].interval.end`. */
  readonly path: string;
  readonly message: string;
}

export const formatPath = (segments: ReadonlyArray<string | number>): string =>
  segments.reduce<string>((acc, s) => (typeof s === 'number' || /^\d+$/.test(String(s)) ? `${acc}[${s}]` : acc === '' ? String(s) : `${acc}.${s}`), '');

const show = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
};

/** io-ts reports a failing union once per member; keep the deepest path per location. */
export const issuesOf = (errors: t.Errors): ConfigIssue[] => {
  const out = new Map<string, ConfigIssue>();
  for (const e of errors) {
    // io-ts names intersection/union members "0", "1", …: they are not part of the path
    const segments: Array<string | number> = [];
    for (let i = 1; i < e.context.length; i++) {
      const parent = e.context[i - 1].type as t.Mixed & { _tag?: string };
      const key = e.context[i].key;
      if (parent._tag === 'IntersectionType' || parent._tag === 'UnionType') continue;
      segments.push(/^\d+$/.test(key) && (parent._tag === 'ArrayType' || parent._tag === 'ReadonlyArrayType' || parent._tag === 'TupleType') ? Number(key) : key);
    }
    const last = e.context[e.context.length - 1];
    const path = formatPath(segments) || '(root)';
    const message = e.message ?? `expected ${last?.type.name ?? 'a value'}, got ${show(e.value)}`;
    const prev = out.get(path);
    out.set(path, prev === undefined ? { path, message } : mergeExpectations(prev, message));
  }
  return [...out.values()];
};

const mergeExpectations = (prev: ConfigIssue, message: string): ConfigIssue => {
  if (prev.message === message) return prev;
  const a = /^expected (.*), got (.*)$/.exec(prev.message);
  const b = /^expected (.*), got (.*)$/.exec(message);
  if (a && b && a[2] === b[2]) return { path: prev.path, message: `expected ${a[1]} or ${b[1]}, got ${a[2]}` };
  return { path: prev.path, message: `${prev.message}; ${message}` };
};

export const formatIssues = (issues: readonly ConfigIssue[]): string => issues.map((i) => `${i.path}: ${i.message}`).join('\n');

/** Decodes `input` with `codec`, errors as a list of issues. */
export const decodeWith = <A, O>(codec: t.Type<A, O, unknown>) => (input: unknown): E.Either<ConfigIssue[], A> =>
  pipe(codec.decode(input), E.mapLeft(issuesOf));

/** Program edge: decode or throw one Error listing every issue. */
export const decodeOrThrow = <A, O>(codec: t.Type<A, O, unknown>, input: unknown, what = 'config'): A =>
  pipe(
    decodeWith(codec)(input),
    E.getOrElseW((issues) => {
      throw new ConfigError(what, issues);
    }),
  );

export class ConfigError extends Error {
  constructor(readonly what: string, readonly issues: readonly ConfigIssue[]) {
    super(`invalid ${what}:\n${formatIssues(issues)}`);
    this.name = 'ConfigError';
  }
}
