/**
 * `run <experiment|sweep> --queue redis://host:port`: the experiment or sweep enqueued as a
 * job tree (pipelines/queue/experimentJobs.ts) instead of run here. The run directory gets
 * the config (experiment.json or sweep.json, what every worker reads) and queue.json (the
 * run's id and the queue's address, what `status` reads); workers fill in the rest.
 */
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { UsageError } from './args';
import { defaultBackend, isBackendName } from '../lib/backend';
import { openQueueConnection, masked } from '../lib/queue/connection';
import { enqueueFlow } from '../lib/queue/flow';
import { writeQueuedRun, QueuedRun } from '../lib/queue/runFile';
import { decodeExperiment, writeManifest, EXPERIMENT_FILE } from '../pipelines/experiment';
import { resolveSweep, SWEEP_FILE } from '../pipelines/sweep';
import { experimentFlow, experimentJobCount } from '../pipelines/queue/experimentJobs';
import { watchRun } from './queueStatus';
import type { LoadedConfig } from './loadConfig';
import type { Io } from './command';

export interface QueueRunOptions {
  readonly outDir: string;
  readonly queue: string;
  readonly backend?: string;
  /** Follow the run's status until it is done or has failed. */
  readonly wait?: boolean;
}

/** A run id: the directory's name and the time, so enqueuing the same directory again starts a new run. */
const newRunId = (outDir: string): string =>
  `${path.basename(path.resolve(outDir)).replace(/[^A-Za-z0-9_-]+/g, '-')}-${Date.now().toString(36)}`;

export const enqueueExperiment = async (loaded: LoadedConfig, o: QueueRunOptions, io: Io): Promise<number> => {
  if (loaded.kind !== 'experiment')
    throw new UsageError(
      `--queue: runs experiments and sweeps (method "experiment" or "sweep"); this is a ${loaded.method} config, ` +
        'run it without --queue',
      'run',
    );
  const backend = o.backend ?? defaultBackend();
  if (!isBackendName(backend)) throw new UsageError(`--backend: unknown backend ${JSON.stringify(backend)}`, 'run');
  const sweep = loaded.method === 'sweep';
  const r = sweep ? resolveSweep(loaded.input).experiment : decodeExperiment(loaded.input);
  const conn = await openQueueConnection(o.queue);
  if (E.isLeft(conn)) throw new UsageError(conn.left, 'run');
  const runDir = path.resolve(o.outDir);
  writeManifest(loaded.input, runDir, sweep ? SWEEP_FILE : EXPERIMENT_FILE);
  const runId = newRunId(runDir);
  const root = experimentFlow(r, { runDir, runId, backend, queue: o.queue, ...(sweep ? { pipeline: 'sweep' } : {}) });
  const run: QueuedRun = {
    runId,
    queue: o.queue,
    root: root.id,
    jobs: experimentJobCount(r),
    enqueuedAt: new Date().toISOString(),
  };
  // the record first: a run whose jobs are in the queue always has one
  writeQueuedRun(runDir, run);
  await enqueueFlow(conn.right, root);
  io.stderr(`enqueued ${run.jobs} jobs on ${masked(o.queue)} as run ${runId}; finished runs in ${runDir} are reused\n`);
  io.stderr(`start workers (sharing ${runDir}): phased-dmd worker --queue ${masked(o.queue)}\n`);
  io.stdout(`status:     phased-dmd status ${o.outDir}\n`);
  if (!o.wait) return 0;
  const end = await watchRun(conn.right, run, io, 2000);
  if (end === 'done') io.stdout(`report:     ${path.join(o.outDir, 'report.md')}\n`);
  return end === 'failed' ? 1 : 0;
};
