/** `replay --verify`: re-execute a recorded run and check every recorded number (lib/train/verify). */
import * as E from 'fp-ts/Either';
import type { Io } from './command';
import { verifyRecording, formatDivergence } from '../lib/train/verify';
import { EXIT_BAD_INPUT } from './errors';

export const verifyReplay = async (file: string, io: Io): Promise<number> => {
  io.stderr(`re-executing ${file} from its config…\n`);
  const r = await verifyRecording(file, {
    onIssue: (i) => io.stderr(`warning: recording ${i.file}, line ${i.line}: ${i.message}\n`),
  });
  if (E.isLeft(r)) {
    const failure = r.left;
    // a divergence is a finding, not a crash: report it and exit 1
    if ('_tag' in failure && failure._tag === 'Divergence') {
      io.stderr(`phased-dmd: NOT reproduced: ${formatDivergence(failure)}\n`);
      return EXIT_BAD_INPUT;
    }
    throw failure;
  }
  const s = r.right;
  io.stdout(
    `reproduced: ${s.updates} updates and ${s.phaseEnds} phase ends match the recording exactly on ` +
      `${s.backend}${s.complete ? '' : ' (the recording is incomplete: its prefix was verified)'}\n`,
  );
  return 0;
};
