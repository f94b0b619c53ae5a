/**
 * `phased-dmd replay <recording>`: a recorded run streamed again — instantly or at a
 * chosen speed — into the progress display (as if it trained now), or as NDJSON lines
 * on stdout for another tool; `--verify` re-executes the run and checks every recorded
 * number is reproduced.
 */
import { filter, lastValueFrom, map, Subject, tap } from 'rxjs';
import { defineCommand, Io } from './command';
import { flag, num, UsageError } from './args';
import { replay, Replayed } from '../lib/record/replay';
import { openRecordingReader } from '../lib/record/reader';
import type { StepMetrics } from '../lib/stream/types';
import { progress } from './progress';
import { backendOption, startBackend } from './backend';
import { verifyReplay } from './verify';
import { decodePipelineConfig, phaseTotals } from './pipelineConfig';
import * as E from 'fp-ts/Either';
import { phaseLabel } from '../lib/phases/label';

/** An event as a JSON line: tensors as {dtype, shape} (their values stay in the recording). */
const jsonOf = (e: Replayed): string => {
  const v = e.value as unknown as Record<string, unknown>;
  const describe = (x: unknown): unknown =>
    x !== null &&
    typeof x === 'object' &&
    'shape' in x &&
    'dtype' in x &&
    typeof (x as { dispose?: unknown }).dispose === 'function'
      ? { dtype: (x as { dtype: string }).dtype, shape: (x as { shape: number[] }).shape }
      : x;
  const value = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, describe(x)]));
  return JSON.stringify({ type: e.type, at: e.at, ...(e.tap ? { tap: e.tap } : {}), value });
};

/** Frees the tensors a replayed event owns (samples, batches). */
const disposeEvent = (e: Replayed): void => {
  for (const x of Object.values(e.value as unknown as Record<string, unknown>))
    if (x !== null && typeof x === 'object' && typeof (x as { dispose?: unknown }).dispose === 'function')
      (x as { dispose: () => void }).dispose();
};

const describeEvent = (e: Replayed): string | null => {
  switch (e.type) {
    case 'checkpoint':
      return `checkpoint at ${phaseLabel(e.value.phase)}, step ${e.value.step}: ${e.value.file}`;
    case 'resume':
      return `resumed at ${phaseLabel(e.value.phase)}, step ${e.value.step}`;
    case 'sample':
      return (
        `samples "${e.value.name}" at ${phaseLabel(e.value.phase)}, step ${e.value.step}: ` +
        `[${e.value.x.shape.join(', ')}]`
      );
    case 'end':
      return `run ${e.value.status}${e.value.message ? `: ${e.value.message}` : ''}`;
    default:
      return null;
  }
};

const watch = async (file: string, speed: number | 'instant', json: boolean, io: Io): Promise<void> => {
  const header = openRecordingReader(file);
  if (E.isLeft(header)) throw header.left;
  const h = header.right.header;
  io.stderr(
    `replaying ${file}: ${h.kind ?? (h.config as { method?: string })?.method ?? 'run'}, seed ${h.seed}, recorded ` +
      `on ${h.backend} at ${h.createdAt}${speed === 'instant' ? '' : `, ${speed}× speed`}\n`,
  );
  const metrics = new Subject<StepMetrics>();
  const decoded = decodePipelineConfig(h.config);
  const totals = E.isRight(decoded) ? phaseTotals(decoded.right) : undefined;
  // instantly: a line per phase start and end; timed: the live display
  const shown = json
    ? null
    : metrics
        .pipe(
          progress({
            write: io.stderr,
            tty: io.stderrIsTTY,
            columns: io.columns,
            totals,
            intervalMs: speed === 'instant' ? Infinity : 2000,
          }),
        )
        .subscribe({ error: () => undefined });
  try {
    await lastValueFrom(
      replay(file, {
        speed,
        types: ['metrics', 'phaseEnd', 'sample', 'checkpoint', 'resume', 'end'],
        onIssue: (i) => io.stderr(`warning: recording ${i.file}, line ${i.line}: ${i.message}\n`),
      }).pipe(
        tap((e) => {
          try {
            if (json) io.stdout(`${jsonOf(e)}\n`);
            else if (e.type === 'metrics') metrics.next(e.value);
            else if (e.type !== 'phaseEnd') {
              if (e.type === 'end') metrics.complete(); // closes the last phase's line first
              const line = describeEvent(e);
              if (line !== null) io.stderr(`${io.stderrIsTTY ? '\r\x1b[2K' : ''}${line}\n`);
            }
          } finally {
            disposeEvent(e);
          }
        }),
        filter(() => false),
        map(() => undefined),
      ),
      { defaultValue: undefined },
    );
    metrics.complete();
  } finally {
    shown?.unsubscribe();
  }
};

export const replayCommand = defineCommand({
  name: 'replay',
  summary:
    'Stream a recorded run again (instantly or at a chosen speed) into the progress display or as JSON lines; ' +
    '--verify re-executes it and checks every number.',
  args: '<recording>',
  positionals: { min: 1, max: 1 },
  options: {
    speed: num('replay at this factor of recorded time (2 = twice as fast); default: instantly', 'x'),
    json: flag('write every event as a JSON line on stdout (tensors as {dtype, shape})'),
    verify: flag(
      're-run the training from the recording’s config and check every recorded loss and metric is reproduced ' +
        'exactly (same backend); exit 1 at the first difference',
    ),
    backend: backendOption(),
  },
  description:
    'A torn last line (a crash mid-append) is reported and skipped; a corrupt line stops the replay with its line ' +
    'number.',
  examples: [
    'phased-dmd replay runs/phased/recording.ndjson --speed 20',
    'phased-dmd replay runs/phased/recording.ndjson --json | jq .type',
    'phased-dmd replay runs/phased/recording.ndjson --verify',
  ],
  run: async ({ options: o, positionals }, io) => {
    const file = positionals[0];
    if (o.speed !== undefined && !(o.speed > 0))
      throw new UsageError(`--speed: expected a positive factor, got ${o.speed}`);
    if (o.verify) {
      if (o.speed !== undefined || o.json)
        throw new UsageError('--verify re-executes the run; it takes no --speed or --json');
      await startBackend(o.backend);
      return verifyReplay(file, io);
    }
    await startBackend(o.backend); // replayed samples are tensors again
    await watch(file, o.speed ?? 'instant', o.json, io);
    return 0;
  },
});
