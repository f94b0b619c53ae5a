/**
 * A queued run's jobs as text: one line per job (indented under its parent), its state,
 * attempts, and for a failed job its run directory and error; and a watch loop that
 * redraws it until the run is done or has failed (the terminal's live view).
 */
import * as E from 'fp-ts/Either';
import { readFlow, tally, JobRow } from '../lib/queue/status';
import { masked, QueueConnection } from '../lib/queue/connection';
import type { QueuedRun } from '../lib/queue/runFile';
import { ExperimentJobData, describeNode, nodeDir } from '../pipelines/queue/experimentJobs';
import type { Io } from './command';

const dataOf = (row: JobRow): ExperimentJobData | null => {
  const d = ExperimentJobData.decode(row.data);
  return E.isRight(d) ? d.right : null;
};

const label = (row: JobRow): string => {
  const d = dataOf(row);
  return d === null ? row.id : describeNode(d.node);
};

const retries = (row: JobRow): string => {
  const again = Math.max(0, row.attempts - 1);
  const parts = [
    `attempt${row.attempts === 1 ? '' : 's'} ${row.attempts}`,
    ...(again > 0 ? [`${again} retr${again === 1 ? 'y' : 'ies'}`] : []),
    ...(row.stalled > 0 ? [`worker lost ${row.stalled}×`] : []),
  ];
  return row.attempts === 0 ? '' : parts.join(', ');
};

/** The status table of a queued run. */
export const formatStatus = (run: QueuedRun, rows: readonly JobRow[]): string => {
  const t = tally(rows);
  const width = Math.max(...rows.map((r) => 2 * r.depth + label(r).length)) + 2;
  const lines = rows.map((r) => {
    const note = r.state === 'done' && r.waitingForChildren ? ' (waiting for its children)' : '';
    return `  ${`${'  '.repeat(r.depth)}${label(r)}`.padEnd(width)}${r.state.padEnd(8)}${retries(r)}${note}`;
  });
  const failed = rows
    .filter((r) => r.state === 'failed')
    .map((r) => {
      const d = dataOf(r);
      const dir = d === null ? '' : `${nodeDir(d.runDir, d.node)}: `;
      const reason = r.failedReason ?? 'no error recorded';
      return `  ✗ ${label(r)}: ${reason.startsWith(dir) ? reason : `${dir}${reason}`}`;
    });
  const pending = Math.max(0, run.jobs - rows.length);
  return [
    `run ${run.runId} on ${masked(run.queue)}: ` +
      `${t.done} done, ${t.running} running, ${t.queued + pending} queued, ${t.failed} failed (${run.jobs} jobs)`,
    ...lines,
    ...(pending > 0 ? [`  (${pending} more join when their teacher is trained)`] : []),
    ...(failed.length > 0 ? ['failed:', ...failed] : []),
    '',
  ].join('\n');
};

/** The run is over: its root job finished or failed. */
export const finishedRun = (rows: readonly JobRow[]): 'done' | 'failed' | null =>
  rows[0]?.state === 'done' && !rows[0].waitingForChildren ? 'done' : rows[0]?.state === 'failed' ? 'failed' : null;

/** Reads the run's jobs; a run the queue does not know is an error naming the queue. */
export const readRun = async (c: QueueConnection, run: QueuedRun): Promise<JobRow[]> => {
  const rows = await readFlow(c, run.root);
  if (rows === null)
    throw new Error(
      `${masked(c.url)} has no job ${run.root} ` +
        '(the queue was emptied, or this is not the Redis server the run was enqueued on)',
    );
  return rows;
};

/**
 * Redraws the status every `everyMs` until the run is over (or the user interrupts);
 * on a terminal in place, else a new block only when something changed.
 */
export const watchRun = async (
  c: QueueConnection,
  run: QueuedRun,
  io: Io,
  everyMs: number,
): Promise<'done' | 'failed' | 'interrupted'> => {
  let stop = false;
  void io.interrupted().then(() => (stop = true));
  let shown = '';
  let lines = 0;
  for (;;) {
    const rows = await readRun(c, run);
    const text = formatStatus(run, rows);
    if (text !== shown) {
      io.stdout(io.stderrIsTTY && lines > 0 ? `\x1b[${lines}A\x1b[0J${text}` : text);
      shown = text;
      lines = text.split('\n').length - 1;
    }
    const over = finishedRun(rows);
    if (over !== null) return over;
    if (stop) return 'interrupted';
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
};
