/** What a subcommand is: its options (typed), help text, and a run function returning an exit code. */
import { COMMON_OPTIONS, formatOptions, OptionSpecs, Parsed } from './args';

/** Where a command writes; injectable so specs run commands in-process. */
export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** True when stderr is a terminal (progress bars redraw in place). */
  readonly stderrIsTTY: boolean;
  readonly columns: number;
  /**
   * Resolves when the user interrupts (Ctrl-C); a long-running command (serve) that calls
   * it stops cleanly then. Others never call it, so Ctrl-C ends them as usual (checkpoint
   * and recording writes are atomic / line-atomic, nothing saved is lost).
   */
  readonly interrupted: () => Promise<void>;
}

export const processIo = (): Io => ({
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  stderrIsTTY: process.stderr.isTTY === true,
  columns: process.stderr.columns || 100, // 0 when the terminal reports no size
  interrupted: () =>
    new Promise((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
});

export interface Command<O extends OptionSpecs = OptionSpecs> {
  readonly name: string;
  /** One line, for the command list. */
  readonly summary: string;
  /** The positional part of the usage line: `<config>`. */
  readonly args: string;
  readonly positionals: { readonly min: number; readonly max: number };
  readonly options: O;
  /** A paragraph or two after the usage line. */
  readonly description?: string;
  readonly examples?: readonly string[];
  run(parsed: Parsed<O & typeof COMMON_OPTIONS>, io: Io): Promise<number>;
}

/** Keeps the option types of a command literal. */
export const defineCommand = <O extends OptionSpecs>(c: Command<O>): Command<O> => c;

export const PROGRAM = 'phased-dmd';

export const commandHelp = (c: Command): string =>
  [
    `Usage: ${PROGRAM} ${c.name}${c.args ? ` ${c.args}` : ''} [options]`,
    '',
    c.summary,
    ...(c.description ? ['', c.description] : []),
    '',
    'Options:',
    formatOptions(c.options),
    ...(c.examples && c.examples.length > 0 ? ['', 'Examples:', ...c.examples.map((e) => `  ${e}`)] : []),
    '',
  ].join('\n');
