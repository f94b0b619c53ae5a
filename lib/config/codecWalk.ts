/**
 * Walking io-ts codecs by their structure (`_tag`, `props`, `types`, `type`): which fields
 * an object codec declares, how a codec reads as a type, and which fields of a value no
 * codec declares (io-ts ignores unknown keys, so a misspelt `iteratons` would silently
 * fall back to a default; the CLI refuses it instead).
 */
import * as t from 'io-ts';
import { ConfigIssue, formatPath } from './report';

type Any = t.Mixed & {
  _tag?: string;
  props?: t.Props;
  types?: t.Mixed[];
  type?: t.Mixed;
  value?: unknown;
  keys?: Record<string, unknown>;
  domain?: t.Mixed;
  codomain?: t.Mixed;
};

/**
 * A custom codec (no `_tag`) that accepts the values of a structural codec, with checks
 * of its own: marked with its shape so walkers (docs, unknown-field checks) read the shape.
 */
export const withShape = <C extends t.Mixed>(codec: C, shape: t.Mixed): C => Object.assign(codec, { shape });

/** The structural codec of a custom codec made by `withShape`. */
export const shapeOf = (c: t.Mixed): t.Mixed | undefined => (c as { shape?: t.Mixed }).shape;

export const tagOf = (c: t.Mixed): string | undefined => (c as Any)._tag;

/** Strips wrappers that do not change the shape: refinements/brands, exact, readonly, known custom codecs. */
export const unwrap = (c: t.Mixed): t.Mixed => {
  const a = c as Any;
  const structure = shapeOf(c);
  if (structure !== undefined) return unwrap(structure);
  if ((a._tag === 'ExactType' || a._tag === 'ReadonlyType' || a._tag === 'StrictType') && a.type) return unwrap(a.type);
  if (a._tag === 'RefinementType' && a.type) return unwrap(a.type);
  return c;
};

export interface Prop {
  readonly key: string;
  readonly codec: t.Mixed;
  readonly required: boolean;
}

/**
 * The fields of an object codec (through intersections), or null when `c` is not an object codec. Open: true when it
 * also accepts other keys.
 */
export const objectProps = (c: t.Mixed): { props: Prop[]; open: boolean } | null => {
  const u = unwrap(c) as Any;
  if ((u._tag === 'InterfaceType' || u._tag === 'PartialType') && u.props)
    return {
      props: Object.entries(u.props).map(([key, codec]) => ({ key, codec, required: u._tag === 'InterfaceType' })),
      open: false,
    };
  if (u._tag === 'IntersectionType' && u.types) {
    const parts = u.types.map(objectProps);
    if (parts.every((p) => p === null)) return null;
    return { props: parts.flatMap((p) => p?.props ?? []), open: parts.some((p) => p === null) };
  }
  return null;
};

export const unionMembers = (c: t.Mixed): t.Mixed[] | null => {
  const u = unwrap(c) as Any;
  return u._tag === 'UnionType' && u.types ? u.types : null;
};

/** The literal value of a field shared by every member of an object union (e.g. `kind`), if any. */
export const discriminant = (members: readonly t.Mixed[]): string | null => {
  const literalKeys = members.map(
    (m) =>
      new Set(
        (objectProps(m)?.props ?? []).filter((p) => (unwrap(p.codec) as Any)._tag === 'LiteralType').map((p) => p.key),
      ),
  );
  if (literalKeys.some((s) => s.size === 0)) return null;
  return [...literalKeys[0]].find((k) => literalKeys.every((s) => s.has(k))) ?? null;
};

export const literalOf = (c: t.Mixed): unknown => (unwrap(c) as Any).value;

const levenshtein = (a: string, b: string): number => {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length];
};

const suggest = (key: string, known: readonly string[]): string => {
  const best = known.map((k) => ({ k, d: levenshtein(key, k) })).sort((x, y) => x.d - y.d)[0];
  if (best !== undefined && best.d <= Math.max(1, Math.floor(key.length / 3)))
    return `unknown field; did you mean "${best.k}"?`;
  return `unknown field; expected one of ${known.join(', ')}`;
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fields of `value` that `codec` does not declare, each with its path. */
export const unknownFields = (
  codec: t.Mixed,
  value: unknown,
  path: ReadonlyArray<string | number> = [],
): ConfigIssue[] => {
  const u = unwrap(codec) as Any;
  const obj = objectProps(codec);
  if (obj !== null) {
    if (!isRecord(value)) return [];
    const known = [...new Set(obj.props.map((p) => p.key))];
    const out: ConfigIssue[] = [];
    if (!obj.open)
      for (const key of Object.keys(value))
        if (!known.includes(key)) out.push({ path: formatPath([...path, key]), message: suggest(key, known) });
    for (const p of obj.props)
      if (value[p.key] !== undefined) out.push(...unknownFields(p.codec, value[p.key], [...path, p.key]));
    return dedupe(out);
  }
  const members = unionMembers(codec);
  if (members !== null) {
    // the member that accepts the value; else the one its discriminant names (so a typo inside a failing variant is
    // still named)
    const accepting = members.find((m) => m.is(value) || m.decode(value)._tag === 'Right');
    const tag = discriminant(members);
    const named =
      tag !== null && isRecord(value)
        ? members.find((m) => objectProps(m)?.props.some((p) => p.key === tag && literalOf(p.codec) === value[tag]))
        : undefined;
    const chosen = accepting ?? named;
    return chosen === undefined ? [] : unknownFields(chosen, value, path);
  }
  if ((u._tag === 'ArrayType' || u._tag === 'ReadonlyArrayType') && u.type && Array.isArray(value))
    return value.flatMap((v, i) => unknownFields(u.type!, v, [...path, i]));
  if (u._tag === 'TupleType' && u.types && Array.isArray(value))
    return u.types.flatMap((c, i) => unknownFields(c, value[i], [...path, i]));
  if (u._tag === 'DictionaryType' && u.codomain && isRecord(value))
    return Object.entries(value).flatMap(([k, v]) => unknownFields(u.codomain!, v, [...path, k]));
  return [];
};

const dedupe = (issues: ConfigIssue[]): ConfigIssue[] => [
  ...new Map(issues.map((i) => [`${i.path}\n${i.message}`, i])).values(),
];

/** How a codec reads as a type in docs and messages: `PositiveInt`, `"euler" | "heun"`, `number[]`, `object`. */
export const describeCodec = (c: t.Mixed, names: ReadonlyMap<t.Mixed, string> = new Map()): string => {
  const named = names.get(c);
  if (named !== undefined) return named;
  const a = c as Any;
  if (shapeOf(c) !== undefined) return 'object';
  switch (a._tag) {
    case 'RefinementType':
      return a.name;
    case 'LiteralType':
      return JSON.stringify(a.value);
    case 'KeyofType':
      return Object.keys(a.keys ?? {})
        .map((k) => JSON.stringify(k))
        .join(' \\| ');
    case 'StringType':
    case 'NumberType':
    case 'BooleanType':
    case 'NullType':
    case 'UnknownType':
      return a.name;
    case 'ArrayType':
    case 'ReadonlyArrayType': {
      const inner = describeCodec(a.type!, names);
      return inner.includes(' ') ? `(${inner})[]` : `${inner}[]`;
    }
    case 'TupleType':
      return `[${a.types!.map((x) => describeCodec(x, names)).join(', ')}]`;
    case 'DictionaryType':
      return `Record<${describeCodec(a.domain!, names)}, ${describeCodec(a.codomain!, names)}>`;
    case 'UnionType':
      return a.types!.map((x) => describeInline(x, names)).join(' \\| ');
    case 'ExactType':
    case 'ReadonlyType':
      return describeCodec(a.type!, names);
    default:
      return objectProps(c) !== null ? 'object' : a.name;
  }
};

/** Small objects inside unions read inline: `{ time: UnitInterval }`. */
const describeInline = (c: t.Mixed, names: ReadonlyMap<t.Mixed, string>): string => {
  if (names.has(c)) return names.get(c)!;
  const o = objectProps(c);
  if (o !== null && o.props.length <= 2)
    return `{ ${o.props.map((p) => `${p.key}${p.required ? '' : '?'}: ${describeCodec(p.codec, names)}`).join(', ')} }`;
  return describeCodec(c, names);
};
