/**
 * `phased-dmd`: the command line. One module per subcommand; this file dispatches,
 * prints help, and turns errors into exit codes (0 ok, 1 bad input or a diverged run, 2 internal).
 */
import { Command, commandHelp, Io, processIo, PROGRAM } from './command';
import { parseCommandArgs, UsageError } from './args';
import { exitCodeOf, formatError, EXIT_BAD_INPUT } from './errors';
import { COMMANDS } from './commands';
import { packageVersion } from '../lib/util/packageRoot';

const VERSION = packageVersion();

export const mainHelp = (): string => {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Phased DMD: distil a many-step flow-matching teacher into a few-step generator.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    `Run '${PROGRAM} <command> --help' for a command's options.`,
    'Exit codes: 0 success, 1 bad input (config, data, checkpoint, flags) or a diverged run (non-finite loss), 2 ' +
      'internal failure.',
    '',
  ].join('\n');
};

/** Runs the CLI on argv (without `node script`); returns the exit code. */
export const main = async (argv: readonly string[], io: Io = processIo()): Promise<number> => {
  const verbose = argv.includes('--verbose');
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.stdout(target ? commandHelp(target as Command) : mainHelp());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name) as Command | undefined;
  if (command === undefined) {
    io.stderr(
      formatError(
        new UsageError(
          `unknown command ${JSON.stringify(name)}; expected one of ${COMMANDS.map((c) => c.name).join(', ')}`,
        ),
        verbose,
      ),
    );
    return EXIT_BAD_INPUT;
  }
  try {
    const parsed = parseCommandArgs(command.name, command.options, rest, command.positionals);
    if (parsed.options.help) {
      io.stdout(commandHelp(command));
      return 0;
    }
    return await command.run(parsed, io);
  } catch (err) {
    io.stderr(formatError(err, verbose, command.name));
    return exitCodeOf(err);
  }
};

/** `phased-dmd … | head`: a closed stdout ends the program quietly, as Unix tools do. */
export const quietOnEpipe = (): void => {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
};

if (require.main === module) {
  quietOnEpipe();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(formatError(err, process.argv.includes('--verbose')));
      process.exitCode = exitCodeOf(err);
    },
  );
}
