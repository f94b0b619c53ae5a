/**
 * A worker: takes jobs from the queue and runs each in a child process (BullMQ's
 * sandboxed processor), so the worker itself stays responsive while a job trains —
 * it keeps renewing the job's lock, and a worker that stops renewing it (killed, its
 * machine gone) has its job handed to another worker once the lock expires.
 */
import * as os from 'os';
import { Worker, Job } from 'bullmq';
import { bullConnection, QueueConnection } from './connection';
import { QUEUE_NAME, Staged } from './flow';

export interface WorkerOptions {
  /** The processor module (a file BullMQ's child process loads). */
  readonly processor: string;
  /** Jobs at once (one child process each). */
  readonly concurrency?: number;
  /** How long a job's lock lasts without renewal: a dead worker's job is retried after about this long. */
  readonly lockMs?: number;
  /** How often to look for jobs whose lock expired. */
  readonly stalledCheckMs?: number;
  /** Restarts of a stalled job before it counts as failed. */
  readonly maxStalled?: number;
  readonly onEvent?: (line: string) => void;
  /** Names a job in the event lines. */
  readonly describe?: (job: Job) => string;
}

export const WORKER_DEFAULTS = { concurrency: 1, lockMs: 15_000, stalledCheckMs: 5_000, maxStalled: 2 };

/** This worker's name in the queue (a job records which worker ran it). */
export const workerName = (): string => `${os.hostname()}:${process.pid}`;

/** Starts a worker; `close()` lets the running jobs finish, then stops. */
export const startWorker = (c: QueueConnection, o: WorkerOptions): Worker => {
  const lockMs = o.lockMs ?? WORKER_DEFAULTS.lockMs;
  const worker = new Worker(QUEUE_NAME, o.processor, {
    connection: bullConnection(c),
    name: workerName(),
    concurrency: o.concurrency ?? WORKER_DEFAULTS.concurrency,
    lockDuration: lockMs,
    stalledInterval: o.stalledCheckMs ?? WORKER_DEFAULTS.stalledCheckMs,
    maxStalledCount: o.maxStalled ?? WORKER_DEFAULTS.maxStalled,
    useWorkerThreads: false,
  });
  const name = (job: Job | undefined): string =>
    job === undefined ? 'a job' : (o.describe?.(job) ?? job.id ?? job.name);
  worker.on('active', (job) =>
    o.onEvent?.(
      (job.data as Staged | undefined)?.stage === 'children'
        ? `closing ${name(job)}: its children are done`
        : `started ${name(job)} (attempt ${job.attemptsStarted})`,
    ),
  );
  worker.on('completed', (job) => o.onEvent?.(`done ${name(job)}`));
  worker.on('failed', (job, err) => {
    if (err.name !== 'WaitingChildrenError') o.onEvent?.(`failed ${name(job)}: ${err.message}`);
  });
  // a lost Redis connection repeats its error many times a second: say each once a minute
  const said = new Map<string, number>();
  worker.on('error', (err) => {
    if (Date.now() - (said.get(err.message) ?? -Infinity) < 60_000) return;
    said.set(err.message, Date.now());
    o.onEvent?.(`worker error: ${err.message}`);
  });
  return worker;
};
