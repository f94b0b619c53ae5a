/**
 * `<run-dir>/queue.json`: which queued run a run directory belongs to (its id and the
 * queue's address), written when the run is enqueued, read by `status` and the workers'
 * users. Written atomically; decoded once where it is read.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { writeFileAtomic } from '../util/atomicWrite';
import { decodeWith, formatIssues } from '../config/report';

export const QUEUE_FILE = 'queue.json';

export const QueuedRun = t.type({
  runId: t.string,
  /** The queue's address as given to `run --queue`. */
  queue: t.string,
  /** The root job's id (the flow's last job). */
  root: t.string,
  /** Jobs the run has once every step job has added its children. */
  jobs: t.number,
  enqueuedAt: t.string,
});
export type QueuedRun = t.TypeOf<typeof QueuedRun>;

export const writeQueuedRun = (runDir: string, run: QueuedRun): void =>
  writeFileAtomic(path.join(runDir, QUEUE_FILE), `${JSON.stringify(run, null, 2)}\n`);

/** The run's queue record, or what is wrong (missing, not JSON, a field). */
export const readQueuedRun = (runDir: string): E.Either<string, QueuedRun> => {
  const file = path.join(runDir, QUEUE_FILE);
  if (!fs.existsSync(file)) return E.left(`${file}: missing (this run directory was not enqueued with run --queue)`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return E.left(`${file}: not JSON (${(err as Error).message})`);
  }
  const decoded = decodeWith(QueuedRun)(raw);
  return E.isLeft(decoded) ? E.left(`${file}: ${formatIssues(decoded.left)}`) : decoded;
};
