/** `phased-dmd status <run-dir> [--queue redis://host:port]`: the jobs of a queued run. */
import * as E from 'fp-ts/Either';
import { defineCommand } from './command';
import { flag, num, str, UsageError } from './args';
import { readQueuedRun } from '../lib/queue/runFile';
import { openQueueConnection } from '../lib/queue/connection';
import { formatStatus, readRun, watchRun, finishedRun } from './queueStatus';

export const statusCommand = defineCommand({
  name: 'status',
  summary:
    'Show the jobs of an experiment run on a queue: each queued, running, done or failed, with attempts and errors.',
  args: '<run-dir>',
  positionals: { min: 1, max: 1 },
  options: {
    queue: str(
      'the queue’s Redis server (default: the one the run was enqueued on, from <run-dir>/queue.json)',
      'redis://host:port',
    ),
    watch: flag('redraw until the run is done or has failed (Ctrl-C stops watching, not the run)'),
    every: num('with --watch: seconds between redraws (default 2)', 's'),
  },
  description:
    'A failed job names its run directory and its error. ' +
    'Exit code: 0 when the run is done or still going, 1 when a job has failed for good.',
  examples: ['phased-dmd status runs/grid25 --queue redis://10.0.0.5:6379', 'phased-dmd status runs/grid25 --watch'],
  run: async ({ options: o, positionals }, io) => {
    const run = readQueuedRun(positionals[0]);
    if (E.isLeft(run)) throw new UsageError(run.left, 'status');
    if (o.every !== undefined && !(o.every > 0))
      throw new UsageError(`--every: expected a positive number of seconds, got ${o.every}`, 'status');
    const conn = await openQueueConnection(o.queue ?? run.right.queue);
    if (E.isLeft(conn)) throw new UsageError(conn.left, 'status');
    if (o.watch) return (await watchRun(conn.right, run.right, io, (o.every ?? 2) * 1000)) === 'failed' ? 1 : 0;
    const rows = await readRun(conn.right, run.right);
    io.stdout(formatStatus(run.right, rows));
    return finishedRun(rows) === 'failed' ? 1 : 0;
  },
});
