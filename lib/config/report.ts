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
  segments.reduce<string>(
    (acc, s) =>
      typeof s === 'number' || /^\d+$/.test(String(s)) ? `${acc}[${s}]` : acc === '' ? String(s) : `${acc}.${s}`,
    '',
  );

const show = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v); // NaN, Infinity: JSON would say null
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
};

type Tagged = t.Decoder<unknown, unknown> & { readonly _tag?: string; readonly name: string };
const tagOf = (c: t.ContextEntry): string | undefined => (c.type as Tagged)._tag;
const isMemberTag = (tag: string | undefined): boolean => tag === 'IntersectionType' || tag === 'UnionType';
const isIndexKey = (key: string): boolean => /^\d+$/.test(key);

/**
 * Whether context entry i is a union/intersection member rather than a step into the data.
 * io-ts names members "0", "1", … and hands them the parent's value; a codec that
 * delegates without its own entry (a custom t.Type around an intersection) leaves only
 * that second sign, so both are checked.
 */
const isMemberEntry = (ctx: t.Context, i: number): boolean =>
  isIndexKey(ctx[i].key) &&
  (isMemberTag(tagOf(ctx[i - 1])) || (ctx[i].actual !== undefined && ctx[i].actual === ctx[i - 1].actual));

/** The data path of an error: property names and array indices, no member indices. */
const pathOf = (ctx: t.Context): Array<string | number> => {
  const segments: Array<string | number> = [];
  for (let i = 1; i < ctx.length; i++) {
    if (ctx[i].key === '' || isMemberEntry(ctx, i)) continue;
    segments.push(isIndexKey(ctx[i].key) ? Number(ctx[i].key) : ctx[i].key);
  }
  return segments;
};

/** The values a codec allows for a discriminant key (`kind: "mlp"`), looking through intersections and wrappers. */
const tagValues = (type: unknown, tag: string): string[] => {
  const c = type as {
    _tag?: string;
    props?: Record<string, unknown>;
    types?: unknown[];
    type?: unknown;
    value?: unknown;
    keys?: Record<string, unknown>;
  };
  if (c.props !== undefined && tag in c.props) {
    const p = c.props[tag] as typeof c;
    if (p._tag === 'LiteralType') return [JSON.stringify(p.value)];
    if (p._tag === 'KeyofType') return Object.keys(p.keys ?? {}).map((k) => JSON.stringify(k));
  }
  if (c._tag === 'IntersectionType' || c._tag === 'UnionType') return (c.types ?? []).flatMap((m) => tagValues(m, tag));
  if (c.type !== undefined) return tagValues(c.type, tag);
  return [];
};

/** A discriminated union's tag key, when io-ts recognised one. */
const unionTag = (type: unknown): string | undefined => {
  const tag = (type as { tag?: unknown }).tag;
  return typeof tag === 'string' ? tag : undefined;
};

/** A codec's name, or what it is when the name is too long to read. */
const describe = (type: Tagged): string => {
  if (type.name.length <= 60) return type.name;
  const tag = unionTag(type);
  if (tag !== undefined) return `an object with ${tag}: ${tagValues(type, tag).join(' | ')}`;
  switch (type._tag) {
    case 'ArrayType':
    case 'ReadonlyArrayType':
      return 'an array';
    case 'InterfaceType':
    case 'PartialType':
    case 'StrictType':
    case 'ExactType':
    case 'IntersectionType':
      return 'an object';
    default:
      return `${type.name.slice(0, 57)}...`;
  }
};

/** A discriminated union given an object with an unknown tag fails as a whole: point at the tag instead. */
const unknownTag = (e: t.ValidationError): t.ValidationError => {
  const last = e.context[e.context.length - 1];
  const tag = last === undefined ? undefined : unionTag(last.type);
  if (tag === undefined || typeof e.value !== 'object' || e.value === null) return e;
  const got = (e.value as Record<string, unknown>)[tag];
  return {
    value: got,
    context: [...e.context, { key: tag, type: t.unknown, actual: got }],
    message: `expected ${tagValues(last.type, tag).join(' or ')}, got ${show(got)}`,
  };
};

/** The codec the value at an error's path failed: the innermost entry that is not a union/intersection member. */
const expectedOf = (ctx: t.Context): Tagged => {
  let i = ctx.length - 1;
  while (i > 0 && (ctx[i].key === '' || isMemberEntry(ctx, i))) {
    // a member failing on the whole value: name the member itself, unless it is an intersection's part
    if (tagOf(ctx[i - 1]) === 'UnionType') break;
    i--;
  }
  return ctx[i].type as Tagged;
};

/**
 * io-ts reports a failing union once per member. Keep the members the value plausibly
 * meant — those that failed only inside properties it has (no missing key, no wrong
 * literal tag); if none, report the tag mismatch, or else the union as a whole.
 */
const collapseUnions = (errors: readonly t.ValidationError[], from = 0): t.ValidationError[] => {
  // slots keep the input order: an error, or a union group at the place of its first error
  const slots: Array<t.ValidationError | { at: number; errors: t.ValidationError[] }> = [];
  const groups = new Map<string, { at: number; errors: t.ValidationError[] }>();
  for (const e of errors) {
    const at = e.context.findIndex((c, i) => i >= from && i + 1 < e.context.length && tagOf(c) === 'UnionType');
    if (at < 0) {
      slots.push(e);
      continue;
    }
    const id = e.context
      .slice(0, at + 1)
      .map((c) => c.key)
      .join('\u0000');
    let g = groups.get(id);
    if (g === undefined) {
      g = { at, errors: [] };
      groups.set(id, g);
      slots.push(g);
    }
    g.errors.push(e);
  }
  return slots.flatMap((slot) => ('context' in slot ? [slot] : collapseUnion(slot.at, slot.errors)));
};

/** The errors of one failing union (entry `at` of their context), reduced to what the value plausibly meant. */
const collapseUnion = (at: number, group: t.ValidationError[]): t.ValidationError[] => {
  const byMember = new Map<string, t.ValidationError[]>();
  for (const e of group) byMember.set(e.context[at + 1].key, [...(byMember.get(e.context[at + 1].key) ?? []), e]);
  // a discriminated union validated one member only: its errors are the ones that count
  if (byMember.size === 1) return collapseUnions(group, at + 1);
  const plausible = [...byMember.values()].filter((es) =>
    es.every(
      (e) =>
        e.context.length > at + 2 && e.value !== undefined && tagOf(e.context[e.context.length - 1]) !== 'LiteralType',
    ),
  );
  if (plausible.length > 0) return collapseUnions(plausible.flat(), at + 1);
  const tagErrors = group.filter(
    (e) => e.context.length > at + 2 && tagOf(e.context[e.context.length - 1]) === 'LiteralType',
  );
  if (tagErrors.length > 0) return tagErrors;
  const union = group[0].context.slice(0, at + 1);
  const members = ((union[at].type as unknown as { types?: Tagged[] }).types ?? []).map(describe);
  const actual = union[at].actual;
  return [
    {
      value: actual,
      context: union,
      message:
        `expected ${members.length > 0 ? members.join(' or ') : describe(union[at].type as Tagged)}, got ` +
        `${show(actual)}`,
    },
  ];
};

/** One issue per path: `path: expected X, got Y` (or a codec's own message). */
export const issuesOf = (errors: t.Errors): ConfigIssue[] => {
  const out = new Map<string, ConfigIssue>();
  for (const e of collapseUnions(errors.map(unknownTag))) {
    const path = formatPath(pathOf(e.context)) || '(root)';
    const message = e.message ?? `expected ${describe(expectedOf(e.context))}, got ${show(e.value)}`;
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

export const formatIssues = (issues: readonly ConfigIssue[]): string =>
  issues.map((i) => `${i.path}: ${i.message}`).join('\n');

/** Decodes `input` with `codec`, errors as a list of issues. */
export const decodeWith =
  <A, O>(codec: t.Type<A, O, unknown>) =>
  (input: unknown): E.Either<ConfigIssue[], A> =>
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
  constructor(
    readonly what: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(`invalid ${what}:\n${formatIssues(issues)}`);
    this.name = 'ConfigError';
  }
}
