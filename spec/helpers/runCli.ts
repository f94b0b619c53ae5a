/** Runs the command line in-process with captured output (a test helper, not a spec). */
import { main } from '../../cli/main';
import type { Io } from '../../cli/command';

export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** `phased-dmd <argv…>` as a pipe would see it: not a TTY, 100 columns, never interrupted. */
export const runCli = async (...argv: string[]): Promise<CliResult> => {
  let out = '';
  let err = '';
  const io: Io = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    stderrIsTTY: false,
    columns: 100,
    interrupted: () => new Promise(() => undefined),
  };
  const code = await main(argv, io);
  return { code, out, err };
};
