/**
 * Runs one experiment or sweep job in a worker's job process (BullMQ's sandbox): decodes the job,
 * starts the tensor backend once per process, and runs the node with the in-process
 * experiment's own functions. A failure names the node's run directory.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { fanOut, StepJob } from '../../lib/queue/flow';
import { parseQueueUrl } from '../../lib/queue/connection';
import { exitIfOrphaned } from '../../lib/queue/orphan';
import {
  decodeExperiment,
  ensureClassifier,
  ensureTeacher,
  experimentDataset,
  ExperimentOptions,
  ResolvedExperiment,
  runStudent,
  teacherDir,
  teacherSamples,
} from '../experiment';
import { resolveSweep, runSweepStudent, ResolvedSweep } from '../sweep';
import { loadTeacher } from '../../lib/teacher/teacher';
import { decodeJobData, describeNode, jobId, manifestOf, nodeDir, studentJobs } from './experimentJobs';
import type { ExperimentJobData, ExperimentNode } from './experimentJobs';

/** The job as the sandbox hands it over (data already parsed from JSON). */
export interface SandboxJob extends StepJob<ExperimentJobData> {
  log(line: string): Promise<void>;
}

/** What a finished job returns (kept by BullMQ as its return value). */
export interface JobResult {
  readonly node: string;
  /** Found finished in the run directory (a rerun or a retry), not computed again. */
  readonly reused: boolean;
  readonly seconds: number;
  readonly report?: string;
}

let backend: Promise<unknown> | null = null;

/** The run's config as every worker reads it: the experiment, or the sweep with its experiment. */
type Run = { experiment: ResolvedExperiment; sweep: ResolvedSweep | null };

const readRun = (runDir: string, pipeline: 'experiment' | 'sweep'): Run => {
  const manifest = manifestOf(runDir, pipeline);
  if (!fs.existsSync(manifest))
    throw new Error(`${manifest}: missing (is the run directory on a file system this worker shares, same path?)`);
  const input: unknown = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  if (pipeline === 'experiment')
    return { experiment: decodeExperiment(input, `experiment config ${manifest}`), sweep: null };
  const sweep = resolveSweep(input, `sweep config ${manifest}`);
  return { experiment: sweep.experiment, sweep };
};

type NodeResult = Omit<JobResult, 'node' | 'seconds'>;

const runNode = async (
  job: SandboxJob,
  token: string,
  d: ExperimentJobData,
  o: ExperimentOptions,
): Promise<NodeResult> => {
  const run = readRun(d.runDir, d.pipeline ?? 'experiment');
  const r = run.experiment;
  const node: ExperimentNode = d.node;
  if (node.kind === 'classifier') {
    ensureClassifier(r, d.runDir, o.log).dispose();
    return { reused: false };
  }
  if (node.kind === 'teacher') {
    const teacher = await ensureTeacher(r, node.seeds[0], experimentDataset(r), o);
    let sampled = true;
    try {
      for (const seed of node.seeds) sampled = teacherSamples(r, seed, teacher, o) && sampled;
    } finally {
      teacher.model.dispose();
    }
    const conn = parseQueueUrl(d.queue);
    if (E.isLeft(conn)) throw new Error(conn.left);
    const { node: _n, stage: _s, label: _l, ...common } = d;
    await fanOut(conn.right, job, token, studentJobs(r, common, node.key, node.seeds));
    return { reused: teacher.reused && sampled };
  }
  if (node.kind === 'student') {
    const file = path.join(teacherDir(d.runDir, node.key), 'teacher.ckpt');
    const teacher = loadTeacher(file);
    if (E.isLeft(teacher)) throw teacher.left;
    try {
      const t = { ...teacher.right, file };
      return {
        reused:
          run.sweep === null
            ? await runStudent(r, node.seed, node.method, t, o)
            : await runSweepStudent(run.sweep, node.seed, node.method, t, o),
      };
    } finally {
      teacher.right.model.dispose();
    }
  }
  if (run.sweep !== null) {
    const { buildSweepReport } = await import('../sweepReport');
    return { reused: false, report: (await buildSweepReport(d.runDir, { log: o.log })).report };
  }
  const { buildExperimentReport } = await import('../experimentReport');
  const report = await buildExperimentReport(d.runDir, { log: o.log });
  return { reused: false, report: report.report };
};

/** The sandbox's processor: one job, start to end (or to its fan-out). */
export const processExperimentJob = async (job: SandboxJob, token: string): Promise<JobResult> => {
  const started = performance.now();
  const d = decodeJobData(job.data);
  const name = describeNode(d.node);
  const seconds = (): number => (performance.now() - started) / 1000;
  // second run of a step job: its children have finished, its own work was done before
  if (d.stage === 'children') return { node: name, reused: true, seconds: seconds() };
  const id = jobId(d.runId, d.node);
  const log = (line: string): void => {
    exitIfOrphaned();
    process.stderr.write(`[${id}] ${line}\n`);
    job.log(line).catch(() => undefined);
  };
  backend ??= useBackend(d.backend);
  await backend;
  try {
    const done = await runNode(job, token, d, { outDir: d.runDir, log, onStep: exitIfOrphaned });
    return { node: name, ...done, seconds: seconds() };
  } catch (err) {
    const e = err as Error;
    if (e.name === 'WaitingChildrenError') throw e;
    const wrapped = new Error(`${nodeDir(d.runDir, d.node)}: ${e.message}`);
    wrapped.name = e.name;
    wrapped.stack = e.stack;
    throw wrapped;
  }
};
