/**
 * Command-line arguments: declarative option specs parsed by Node's own `util.parseArgs`
 * (strict: unknown flags are errors), then typed and checked here (numbers, choices,
 * required positionals). Help text is generated from the same specs, so it cannot drift.
 */
import { parseArgs } from 'util';

export type OptionKind = 'string' | 'number' | 'int' | 'boolean' | 'list';

export interface OptionSpec {
  readonly kind: OptionKind;
  readonly help: string;
  /** Shown in help after the flag: `--out <dir>`. */
  readonly arg?: string;
  readonly choices?: readonly string[];
  readonly short?: string;
  readonly required?: boolean;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type BaseValue<S extends OptionSpec> = S['kind'] extends 'boolean'
  ? boolean
  : S['kind'] extends 'list'
    ? string[]
    : S['kind'] extends 'number' | 'int'
      ? number
      : string;
type ValueOf<S extends OptionSpec> = S['kind'] extends 'boolean' | 'list'
  ? BaseValue<S>
  : S extends { required: true }
    ? BaseValue<S>
    : BaseValue<S> | undefined;

export type OptionValues<O extends OptionSpecs> = { -readonly [K in keyof O]: ValueOf<O[K]> };

export interface Parsed<O extends OptionSpecs> {
  readonly options: OptionValues<O>;
  readonly positionals: readonly string[];
}

/** Bad command-line input: exit code 1, with a pointer to the command's help. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

type Extra<R extends boolean> = Omit<Partial<OptionSpec>, 'kind' | 'required'> & { required?: R };
type Spec<K extends OptionKind, R extends boolean> = OptionSpec & { kind: K; required: R };

const make = <K extends OptionKind, R extends boolean>(
  kind: K,
  help: string,
  arg: string | undefined,
  extra?: Extra<R>,
): Spec<K, R> => ({
  kind,
  help,
  ...(arg !== undefined ? { arg } : {}),
  ...extra,
  required: (extra?.required ?? false) as R,
});

export const str = <R extends boolean = false>(help: string, arg = 'value', extra?: Extra<R>) =>
  make('string', help, arg, extra);
export const num = <R extends boolean = false>(help: string, arg = 'x', extra?: Extra<R>) =>
  make('number', help, arg, extra);
export const int = <R extends boolean = false>(help: string, arg = 'n', extra?: Extra<R>) =>
  make('int', help, arg, extra);
export const flag = (help: string, extra?: Extra<false>) => make('boolean', help, undefined, extra);
export const list = (help: string, arg = 'value', extra?: Extra<false>) => make('list', help, arg, extra);
export const choice = <R extends boolean = false>(help: string, choices: readonly string[], extra?: Extra<R>) =>
  make('string', help, choices.join('|'), { ...extra, choices } as Extra<R>);

/** Options every command takes. */
export const COMMON_OPTIONS = {
  help: flag('show this help', { short: 'h' }),
  verbose: flag('print stack traces of errors'),
} as const satisfies OptionSpecs;

const toNumber = (name: string, raw: string, integer: boolean, command: string): number => {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)))
    throw new UsageError(
      `--${name}: expected ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`,
      command,
    );
  return v;
};

/** Parses argv (after the command name) against the command's options. */
export const parseCommandArgs = <O extends OptionSpecs>(
  command: string,
  specs: O,
  argv: readonly string[],
  positionals: { min: number; max: number },
): Parsed<O & typeof COMMON_OPTIONS> => {
  const all: OptionSpecs = { ...COMMON_OPTIONS, ...specs };
  const config: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, s] of Object.entries(all))
    config[name] = {
      type: s.kind === 'boolean' ? 'boolean' : 'string',
      ...(s.kind === 'list' ? { multiple: true } : {}),
      ...(s.short ? { short: s.short } : {}),
    };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: config, allowPositionals: true, strict: true });
  } catch (err) {
    // Node's messages are clear ("Unknown option '--x'"); drop its hint about '--' which confuses more than it helps
    // here
    throw new UsageError(
      String((err as Error).message)
        .split('. To specify a positional')[0]
        .replace(/\.$/, ''),
      command,
    );
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(all)) {
    const raw = values[name];
    if (s.kind === 'boolean') out[name] = raw === true;
    else if (s.kind === 'list') out[name] = (raw as string[] | undefined) ?? [];
    else if (raw === undefined) out[name] = undefined;
    else if (s.kind === 'number' || s.kind === 'int')
      out[name] = toNumber(name, raw as string, s.kind === 'int', command);
    else {
      if (s.choices !== undefined && !s.choices.includes(raw as string))
        throw new UsageError(`--${name}: expected one of ${s.choices.join(', ')}, got ${JSON.stringify(raw)}`, command);
      out[name] = raw;
    }
  }
  if (out.help === true)
    return { options: out as OptionValues<O & typeof COMMON_OPTIONS>, positionals: parsed.positionals };
  for (const [name, s] of Object.entries(all))
    if (s.required && out[name] === undefined) throw new UsageError(`--${name} is required`, command);
  const n = parsed.positionals.length;
  if (n < positionals.min)
    throw new UsageError(
      `expected ${positionals.min === positionals.max ? positionals.min : `at least ${positionals.min}`} ` +
        `argument${positionals.min === 1 ? '' : 's'}, got ${n}`,
      command,
    );
  if (n > positionals.max)
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[positionals.max])}`, command);
  return { options: out as OptionValues<O & typeof COMMON_OPTIONS>, positionals: parsed.positionals };
};

/** The options section of a help text. */
export const formatOptions = (specs: OptionSpecs): string => {
  const rows = Object.entries({ ...specs, ...COMMON_OPTIONS } as OptionSpecs).map(([name, s]) => {
    const flagName = `${s.short ? `-${s.short}, ` : '    '}--${name}`;
    const left = `${flagName}${s.kind === 'boolean' ? '' : ` <${s.arg ?? 'value'}>`}`;
    const notes = [s.required ? 'required' : '', s.kind === 'list' ? 'repeatable' : '']
      .filter((x) => x !== '')
      .join(', ');
    return [left, `${s.help}${notes ? ` (${notes})` : ''}`] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`).join('\n');
};
