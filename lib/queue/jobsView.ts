/**
 * A queued run's jobs as JSON for the live page (`GET /jobs` of `phased-dmd serve`):
 * the run directory's queue.json says which run and which queue; null when the
 * directory was not enqueued. Each row carries what the page shows.
 */
import * as E from 'fp-ts/Either';
import { readQueuedRun } from './runFile';
import { masked, parseQueueUrl, pingRedis } from './connection';
import { readFlow, tally, JobState } from './status';

export interface JobsView {
  readonly runId: string;
  readonly queue: string;
  readonly counts: Record<JobState, number>;
  /** Jobs the run has once every teacher has added its students. */
  readonly jobs: number;
  readonly rows: ReadonlyArray<{
    readonly label: string;
    readonly depth: number;
    readonly state: JobState;
    readonly attempts: number;
    readonly stalled: number;
    readonly worker: string | null;
    readonly error: string | null;
  }>;
}

/** The view, null when the directory has no queue.json; Left when the queue cannot be read. */
export const jobsView = async (runDir: string): Promise<E.Either<string, JobsView | null>> => {
  const run = readQueuedRun(runDir);
  if (E.isLeft(run)) return E.right(null);
  const conn = parseQueueUrl(run.right.queue);
  if (E.isLeft(conn)) return conn;
  // BullMQ's client waits for an unreachable server forever: ask first
  const up = await pingRedis(conn.right, 1000);
  if (E.isLeft(up)) return up;
  try {
    const rows = (await readFlow(conn.right, run.right.root)) ?? [];
    return E.right({
      runId: run.right.runId,
      queue: masked(run.right.queue),
      counts: tally(rows),
      jobs: run.right.jobs,
      rows: rows.map((r) => ({
        label: (r.data as { label?: unknown } | null)?.label?.toString() ?? r.id,
        depth: r.depth,
        state: r.state,
        attempts: r.attempts,
        stalled: r.stalled,
        worker: r.worker ?? null,
        error: r.failedReason ?? null,
      })),
    });
  } catch (err) {
    return E.left(`${masked(run.right.queue)}: ${(err as Error).message}`);
  }
};
