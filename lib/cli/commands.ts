/** The subcommands, in the order `--help` lists them. */
import type { Command } from './command';
import { validateCommand } from './validate';
import { sampleCommand } from './sample';
import { evalCommand } from './eval';

export const COMMANDS: readonly Command[] = [validateCommand, sampleCommand, evalCommand] as unknown as readonly Command[];
