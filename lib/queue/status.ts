/**
 * What a queued run's jobs are doing, read from the queue (BullMQ's flow tree, children
 * added by step jobs included): each job queued, running, done or failed, with its
 * attempts, and the error of a failed one.
 */
import { FlowProducer, JobNode } from 'bullmq';
import { bullConnection, QueueConnection } from './connection';
import { QUEUE_NAME, Staged } from './flow';

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface JobRow {
  readonly id: string;
  readonly name: string;
  /** 0 for the root, 1 for its children… */
  readonly depth: number;
  readonly state: JobState;
  /** BullMQ's own state (waiting, active, waiting-children, completed, failed, delayed…). */
  readonly queueState: string;
  /** Times a worker started it (a retry after a failure or a lost worker adds one; a step job's return is not one). */
  readonly attempts: number;
  /** The worker that ran it last (`host:pid`). */
  readonly worker?: string;
  /** Times its worker was lost (the lock expired) and the job was handed on. */
  readonly stalled: number;
  readonly data: unknown;
  readonly failedReason?: string;
  /** A step job whose own work is done and that waits for the children it added. */
  readonly waitingForChildren: boolean;
}

/**
 * Our four states from BullMQ's: a step job parked after its own work counts as done
 * (its children show what is left), a parent not yet started as queued.
 */
export const stateOf = (queueState: string, staged: boolean): JobState =>
  queueState === 'active'
    ? 'running'
    : queueState === 'completed'
      ? 'done'
      : queueState === 'failed'
        ? 'failed'
        : queueState === 'waiting-children' && staged
          ? 'done'
          : 'queued';

const flatten = async (node: JobNode, depth: number, out: JobRow[]): Promise<void> => {
  const job = node.job;
  const queueState = await job.getState();
  const staged = (job.data as Staged | undefined)?.stage === 'children';
  out.push({
    id: job.id ?? '?',
    name: job.name,
    depth,
    state: stateOf(queueState, staged),
    queueState,
    // a step job is started once more when its children are done: that is no retry
    attempts: Math.max(0, (job.attemptsStarted ?? 0) - (staged && queueState !== 'waiting-children' ? 1 : 0)),
    ...(job.processedBy ? { worker: job.processedBy } : {}),
    stalled: job.stalledCounter ?? 0,
    data: job.data,
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
    waitingForChildren: queueState === 'waiting-children',
  });
  const children = [...(node.children ?? [])].sort((a, b) => String(a.job.id).localeCompare(String(b.job.id)));
  for (const child of children) await flatten(child, depth + 1, out);
};

/** The jobs of the flow rooted at `rootId`, parents before children; null when the queue has no such job. */
export const readFlow = async (c: QueueConnection, rootId: string): Promise<JobRow[] | null> => {
  const producer = new FlowProducer({ connection: bullConnection(c) });
  try {
    const tree = await producer.getFlow({ queueName: QUEUE_NAME, id: rootId, depth: 16, maxChildren: 10_000 });
    if (tree === undefined || tree === null || tree.job === undefined || tree.job === null) return null;
    const rows: JobRow[] = [];
    await flatten(tree, 0, rows);
    return rows;
  } finally {
    await producer.close();
  }
};

/** Counts per state. */
export const tally = (rows: readonly JobRow[]): Record<JobState, number> => {
  const t: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0 };
  rows.forEach((r) => t[r.state]++);
  return t;
};
