/** `phased-dmd worker --queue redis://host:port`: run queued experiment jobs on this machine. */
import * as path from 'path';
import { packageRoot } from '../lib/util/packageRoot';
import * as E from 'fp-ts/Either';
import { defineCommand } from './command';
import { int, str, UsageError } from './args';
import { openQueueConnection, masked } from '../lib/queue/connection';
import { startWorker, WORKER_DEFAULTS, workerName } from '../lib/queue/worker';
import { ExperimentJobData, describeNode } from '../pipelines/queue/experimentJobs';

/** The job process's entry (BullMQ loads it in a child process), in the package's pipelines/queue/. */
const PROCESSOR = path.join(packageRoot(), 'pipelines', 'queue', 'processor.cjs');

const positive = (name: string, v: number | undefined): number | undefined => {
  if (v !== undefined && !(v > 0)) throw new UsageError(`--${name}: expected a positive integer, got ${v}`, 'worker');
  return v;
};

export const workerCommand = defineCommand({
  name: 'worker',
  summary:
    'Run jobs of queued experiments (`run --queue`) on this machine until stopped; it must share the run directories.',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {
    queue: str('the queue’s Redis server', 'redis://host:port', { required: true }),
    concurrency: int(`jobs at once, each in its own process (default ${WORKER_DEFAULTS.concurrency})`),
    'lock-ms': int(
      `a job whose worker stops renewing its lock this long goes to another worker (default ${WORKER_DEFAULTS.lockMs})`,
    ),
    'stalled-check-ms': int(`how often to look for such jobs (default ${WORKER_DEFAULTS.stalledCheckMs})`),
  },
  description:
    'Every worker must see each run directory at the path it was enqueued with (a shared file system: NFS, ' +
    'a cluster file system, or one machine). Jobs run in child processes; Ctrl-C (or SIGTERM) lets the running ' +
    'jobs finish, then stops; a second one stops at once. A killed worker loses nothing: its job is retried by ' +
    'another worker and continues from the checkpoints in the run directory (docs/distributed.md).',
  examples: [
    'phased-dmd worker --queue redis://10.0.0.5:6379',
    'phased-dmd worker --queue redis://127.0.0.1:6379 --concurrency 2',
  ],
  run: async ({ options: o }, io) => {
    const concurrency = positive('concurrency', o.concurrency);
    const lockMs = positive('lock-ms', o['lock-ms']);
    const stalledCheckMs = positive('stalled-check-ms', o['stalled-check-ms']);
    const conn = await openQueueConnection(o.queue);
    if (E.isLeft(conn)) throw new UsageError(conn.left, 'worker');
    const describe = (job: { id?: string; name: string; data: unknown }): string => {
      const d = ExperimentJobData.decode(job.data);
      return E.isRight(d) ? `${describeNode(d.right.node)} of ${d.right.runDir}` : (job.id ?? job.name);
    };
    const worker = startWorker(conn.right, {
      processor: PROCESSOR,
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(lockMs !== undefined ? { lockMs } : {}),
      ...(stalledCheckMs !== undefined ? { stalledCheckMs } : {}),
      onEvent: (line) => io.stderr(`${new Date().toISOString().slice(11, 19)} worker ${workerName()}: ${line}\n`),
      describe,
    });
    io.stderr(`worker ${workerName()} on ${masked(o.queue)}: waiting for jobs (Ctrl-C stops)\n`);
    await io.interrupted();
    io.stderr(`worker ${workerName()}: stopping after the running jobs (interrupt again to stop at once)\n`);
    const forced = io.interrupted().then(() => 'forced' as const);
    if ((await Promise.race([worker.close().then(() => 'closed' as const), forced])) === 'forced') {
      io.stderr(`worker ${workerName()}: stopped without waiting\n`);
      await worker.close(true).catch(() => undefined);
      return 130;
    }
    return 0;
  },
});
