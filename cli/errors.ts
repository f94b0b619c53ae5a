/**
 * Exit codes and error messages at the program edge: 0 success, 1 bad input (a config,
 * data file, checkpoint, recording or flag the user gave) or a run that diverged, 2
 * internal failure. Messages go to stderr without stack traces unless --verbose.
 */
import { PROGRAM } from './command';

export const EXIT_OK = 0;
export const EXIT_BAD_INPUT = 1;
export const EXIT_INTERNAL = 2;

/** Errors that mean "the input is wrong", by class name (the classes live in their own modules). */
export const BAD_INPUT_ERRORS: ReadonlySet<string> = new Set([
  'UsageError',
  'ConfigError',
  'DataError',
  'CheckpointError',
  'ShapeError',
  'RecordingError',
  'MetricError',
  'ResumeError',
  'RunLockedError',
  'BackendError',
  'FileWriteError',
]);

/**
 * A run that diverged (a loss or a weight turned non-finite): neither our crash nor a
 * malformed file, but the run's numbers (learning rates, guidance, data scale), so exit 1
 * with the runner's one line: what diverged, at which phase and step, and where the last
 * good checkpoint is (lib/train/errors.ts TrainingStoppedError).
 */
export const DIVERGED_ERRORS: ReadonlySet<string> = new Set(['NonFiniteLossError', 'NonFiniteWeightsError']);

/** File-system errors about a path the user named. */
const BAD_PATH_CODES: ReadonlySet<string> = new Set([
  'ENOENT',
  'EACCES',
  'EISDIR',
  'ENOTDIR',
  'EEXIST',
  'EROFS',
  'ENOSPC',
  'EDQUOT',
  'EFBIG',
]);

export const exitCodeOf = (err: unknown): number => {
  if (!(err instanceof Error)) return EXIT_INTERNAL;
  // a run stopped by an error keeps its last good checkpoint; the code is the cause's
  if (err.name === 'TrainingStoppedError' && 'reason' in err) return exitCodeOf((err as { reason: unknown }).reason);
  if (BAD_INPUT_ERRORS.has(err.name) || DIVERGED_ERRORS.has(err.name)) return EXIT_BAD_INPUT;
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined && BAD_PATH_CODES.has(code) ? EXIT_BAD_INPUT : EXIT_INTERNAL;
};

/** The stderr text for an error. */
export const formatError = (err: unknown, verbose: boolean, command?: string): string => {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = exitCodeOf(e);
  const head = code === EXIT_INTERNAL ? `${PROGRAM}: internal error: ${e.message}` : `${PROGRAM}: ${e.message}`;
  const lines = [verbose && e.stack ? `${head}\n${e.stack.split('\n').slice(1).join('\n')}` : head];
  if (e.name === 'UsageError') lines.push(`Run '${PROGRAM}${command ? ` ${command}` : ''} --help' for usage.`);
  else if (code === EXIT_INTERNAL && !verbose) lines.push('(run again with --verbose for the stack trace)');
  return `${lines.join('\n')}\n`;
};
