/**
 * Config files and `--set` overrides, before decoding: JSON or YAML text → a plain value;
 * `--set path=value` edits it (dotted paths, `[i]` or `.i` for array items, the value
 * parsed as JSON when it is JSON, else taken as a string). The result is then decoded by
 * the pipeline's codec like any file, so an override is validated exactly like the file.
 */
import * as path from 'path';
import * as E from 'fp-ts/Either';
import * as YAML from 'yaml';
import { ConfigError, ConfigIssue, formatPath } from '../lib/config/report';
import { readRegularFile } from '../lib/util/readFile';

/** The largest config file read (configs are a few kB; a bigger file is not a config). */
export const MAX_CONFIG_BYTES = 1 << 20;

const syntaxError = (file: string, message: string): ConfigError =>
  new ConfigError(`config file ${file}`, [{ path: '(file)', message }]);

/** Parses config text; `.json` files as strict JSON, anything else as YAML (a superset of JSON). */
export const parseConfigText = (text: string, file: string): unknown => {
  if (path.extname(file).toLowerCase() === '.json') {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw syntaxError(file, `not valid JSON: ${(err as Error).message}`);
    }
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const where = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : '';
    throw syntaxError(file, `not valid YAML: ${where}${e.message.split('\n')[0]}`);
  }
  try {
    // an alias bomb (aliases of aliases) expands past maxAliasCount: refused before it fills memory
    return doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw syntaxError(file, `not valid YAML: ${(err as Error).message}`);
  }
};

export const readConfigFile = (file: string): unknown => {
  const bytes = readRegularFile(file, MAX_CONFIG_BYTES);
  if (E.isLeft(bytes))
    throw syntaxError(
      file,
      bytes.left === 'is a directory, expected a file' ? 'is a directory, expected a JSON or YAML file' : bytes.left,
    );
  return parseConfigText(bytes.right.toString('utf8'), file);
};

export interface Override {
  /** As given: `phases[1].iterations=50`. */
  readonly source: string;
  readonly path: ReadonlyArray<string | number>;
  readonly value: unknown;
}

const overrideError = (source: string, message: string): ConfigError =>
  new ConfigError('--set override', [{ path: source, message }]);

/** `a.b[0].c` or `a.b.0.c` → ['a', 'b', 0, 'c']. */
export const parsePath = (text: string, source: string): Array<string | number> => {
  const out: Array<string | number> = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const between = text.slice(last, m.index);
    if (between !== '' && between !== '.') throw overrideError(source, `malformed key "${text}"`);
    out.push(m[2] !== undefined ? Number(m[2]) : /^\d+$/.test(m[1]) ? Number(m[1]) : m[1]);
    last = re.lastIndex;
  }
  if (out.length === 0 || last !== text.length)
    throw overrideError(
      source,
      `malformed key "${text}": expected a dotted path like lr.generator or phases[0].iterations`,
    );
  return out;
};

/** `key=value`: the value as JSON when it parses, else the raw string. */
export const parseOverride = (source: string): Override => {
  const eq = source.indexOf('=');
  if (eq <= 0) throw overrideError(source, 'expected key=value (for example lr.generator=1e-4)');
  const raw = source.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a bare string: a path, a method name, …
  }
  return { source, path: parsePath(source.slice(0, eq).trim(), source), value };
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of `config` with the override applied; intermediate objects are created as needed. */
export const applyOverride = (config: unknown, o: Override): unknown => {
  const set = (node: unknown, i: number): unknown => {
    if (i === o.path.length) return o.value;
    const key = o.path[i];
    const here = formatPath(o.path.slice(0, i)) || '(root)';
    if (typeof key === 'number') {
      if (!Array.isArray(node))
        throw overrideError(
          o.source,
          `${here} is ${node === undefined ? 'not set' : `not an array (it is ${JSON.stringify(node)})`}, cannot ` +
            `set item [${key}]`,
        );
      if (key > node.length)
        throw overrideError(o.source, `${here} has ${node.length} items, cannot set item [${key}]`);
      const copy = [...node];
      copy[key] = set(node[key], i + 1);
      return copy;
    }
    if (node !== undefined && !isRecord(node))
      throw overrideError(o.source, `${here} is ${JSON.stringify(node)}, not an object, so it has no field "${key}"`);
    const obj = node ?? {};
    return { ...obj, [key]: set(obj[key], i + 1) };
  };
  return set(config, 0);
};

export const applyOverrides = (config: unknown, sets: readonly string[]): unknown =>
  sets.map(parseOverride).reduce(applyOverride, config);

/** Marks issues at (or under) an overridden path, so the user sees the --set caused it. */
export const attributeIssues = (issues: readonly ConfigIssue[], sets: readonly string[]): ConfigIssue[] => {
  const paths = sets.map((s) => ({ s, p: formatPath(parseOverride(s).path) }));
  return issues.map((i) => {
    const hit = paths.find(({ p }) => i.path === p || i.path.startsWith(`${p}.`) || i.path.startsWith(`${p}[`));
    return hit === undefined ? i : { ...i, message: `${i.message} (from --set ${hit.s})` };
  });
};
