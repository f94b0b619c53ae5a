/**
 * Every example in a help text is a command the CLI accepts: it names its own command,
 * its options parse, and each file it reads is in the repository or written by another
 * example (the examples form one walk-through: a teacher, a student, samples, metrics).
 */
import * as fs from 'fs';
import * as path from 'path';
import { COMMANDS } from '../../cli/commands';
import { parseCommandArgs } from '../../cli/args';

const ROOT = path.resolve(__dirname, '../..');

/** Shell words up to a pipe: spaces split, single quotes group. */
const words = (line: string): string[] => {
  const all = [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
  return all.includes('|') ? all.slice(0, all.indexOf('|')) : all;
};

const examples = COMMANDS.flatMap((c) => (c.examples ?? []).map((line) => ({ command: c, line, argv: words(line) })));

/** What an example writes: --out, --labels-out, and (a run directory) everything under it. */
const written = examples.flatMap(({ argv }) =>
  argv.flatMap((w, i) => (argv[i - 1] === '--out' || argv[i - 1] === '--labels-out' ? [w] : [])),
);
const isWritten = (file: string): boolean => written.some((w) => file === w || file.startsWith(`${w}/`));

/** The files an example reads: positionals and the values of file-taking options. */
const READ_OPTIONS = new Set([
  '--data',
  '--labels',
  '--teacher',
  '--model',
  '--samples',
  '--reference',
  '--classifier',
]);
const reads = (command: string, argv: readonly string[], positionals: readonly string[]): string[] => [
  ...argv.filter((_, i) => READ_OPTIONS.has(argv[i - 1] ?? '')),
  ...(['run', 'validate', 'replay', 'report', 'serve'].includes(command) ? positionals : []),
];

describe('help examples', () => {
  it('every command shows at least one', () => {
    for (const c of COMMANDS)
      expect({ command: c.name, examples: (c.examples ?? []).length > 0 }).toEqual({ command: c.name, examples: true });
  });

  it.each(examples.map((e) => [e.line, e]))('%s', (_, { command, argv }) => {
    expect(argv.slice(0, 2)).toEqual(['phased-dmd', command.name]);
    const parsed = parseCommandArgs(command.name, command.options, argv.slice(2), command.positionals);
    for (const file of reads(command.name, argv, parsed.positionals)) {
      const known = fs.existsSync(path.join(ROOT, file)) || isWritten(file);
      expect({ file, known }).toEqual({ file, known: true });
    }
  });
});
