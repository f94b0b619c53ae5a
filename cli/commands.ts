/** The subcommands, in the order `--help` lists them. */
import type { Command } from './command';
import { runCommand } from './run';
import { validateCommand } from './validate';
import { trainCommand } from './train';
import { sampleCommand } from './sample';
import { evalCommand } from './eval';
import { reportCommand } from './report';
import { replayCommand } from './replay';
import { serveCommand } from './serve';
import { exportCommand } from './export';
import { workerCommand } from './worker';
import { statusCommand } from './status';

export const COMMANDS: readonly Command[] = [
  runCommand,
  validateCommand,
  trainCommand,
  sampleCommand,
  evalCommand,
  replayCommand,
  reportCommand,
  exportCommand,
  serveCommand,
  workerCommand,
  statusCommand,
] as unknown as readonly Command[];
