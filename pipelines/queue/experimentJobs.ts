/**
 * An experiment or a sweep as a job tree (lib/queue): every node is one of the in-process
 * pipeline's own steps (pipelines/experiment.ts, pipelines/sweep.ts), run on whichever
 * worker takes it, reading and writing the shared run directory:
 *
 *   report                     the metrics and report, from the recordings (root: runs last)
 *   ├─ classifier              image tasks: the feature classifier of the image metrics
 *   └─ teacher (per teacher)   trains it, draws each of its seeds' reference and evaluation
 *      │                       sets, then adds its students as children (a step job)
 *      └─ student (seed, method)  distils, saves, draws its evaluation set (a sweep: every
 *                                 budget's cell of that seed and method)
 *
 * A node finished in the run directory is reused, as in-process: a retried job (its
 * worker was killed) starts again from the checkpoints already written.
 */
import * as path from 'path';
import * as t from 'io-ts';
import type { JobSpec } from '../../lib/queue/flow';
import { decodeOrThrow } from '../../lib/config/report';
import {
  ResolvedExperiment,
  StudentMethod,
  EXPERIMENT_FILE,
  teacherKey,
  teacherDir,
  methodDir,
  isImageTask,
} from '../experiment';
import { SWEEP_FILE } from '../sweep';

const StudentMethodCodec = t.keyof({ dmd: null, vanilla: null, sgts: null, 'phased-4x2': null, 'phased-4x4': null });

/** What one job does. */
export const ExperimentNode = t.union([
  t.type({ kind: t.literal('report') }),
  t.type({ kind: t.literal('classifier') }),
  t.type({ kind: t.literal('teacher'), key: t.string, seeds: t.array(t.number) }),
  t.type({ kind: t.literal('student'), key: t.string, seed: t.number, method: StudentMethodCodec }),
]);
export type ExperimentNode = t.TypeOf<typeof ExperimentNode>;

/** A job's data: the node, and where and how every job of the run works. */
export const ExperimentJobData = t.intersection([
  t.type({
    /** Absolute; the same path on every worker's machine (a shared file system). */
    runDir: t.string,
    runId: t.string,
    backend: t.keyof({ wasm: null, cpu: null, tensorflow: null }),
    /** The queue's address, for the jobs a step job adds. */
    queue: t.string,
    node: ExperimentNode,
  }),
  t.partial({
    /** Which pipeline the run is (absent: an experiment); a sweep's students draw every budget's cell. */
    pipeline: t.keyof({ experiment: null, sweep: null }),
    stage: t.literal('children'),
    /** The node in words, for views that do not know experiments (the live page). */
    label: t.string,
  }),
]);
export type ExperimentJobData = t.TypeOf<typeof ExperimentJobData>;

/** Decodes job data at the worker's edge; errors name the field. */
export const decodeJobData = (u: unknown): ExperimentJobData => decodeOrThrow(ExperimentJobData, u, 'job data');

type Common = Omit<ExperimentJobData, 'node' | 'stage' | 'label'>;

/** Job ids: the run's id, then the node (BullMQ refuses ':' in ids). */
export const jobId = (runId: string, node: ExperimentNode): string =>
  node.kind === 'teacher'
    ? `${runId}.teacher-${node.key}`
    : node.kind === 'student'
      ? `${runId}.seed-${node.seed}.${node.method}`
      : `${runId}.${node.kind}`;

/** A job's node, in words (status lines, logs). */
export const describeNode = (node: ExperimentNode): string =>
  node.kind === 'teacher'
    ? `teacher ${node.key.slice(0, 8)} (seed ${node.seeds.join(', ')})`
    : node.kind === 'student'
      ? `seed ${node.seed} ${node.method}`
      : node.kind;

/** The directory a node writes (a failed job names it). */
export const nodeDir = (runDir: string, node: ExperimentNode): string =>
  node.kind === 'teacher'
    ? teacherDir(runDir, node.key)
    : node.kind === 'student'
      ? methodDir(runDir, node.seed, node.method)
      : node.kind === 'classifier'
        ? path.join(runDir, 'classifier')
        : runDir;

type Job = JobSpec<ExperimentJobData>;

const spec = (c: Common, node: ExperimentNode, children?: readonly Job[]): Job => ({
  name: node.kind,
  id: jobId(c.runId, node),
  data: { ...c, node, label: describeNode(node) },
  ...(children ? { children } : {}),
});

/** Seeds grouped by the teacher they distil from (one group per seed, unless `teacher.seed` shares one). */
export const teacherGroups = (r: ResolvedExperiment): Array<{ key: string; seeds: number[] }> => {
  const groups = new Map<string, number[]>();
  for (const seed of r.seeds) groups.set(teacherKey(r, seed), [...(groups.get(teacherKey(r, seed)) ?? []), seed]);
  return [...groups].map(([key, seeds]) => ({ key, seeds }));
};

/** The students a teacher job adds once its teacher is trained. */
export const studentJobs = (r: ResolvedExperiment, c: Common, key: string, seeds: readonly number[]): Job[] =>
  seeds.flatMap((seed) => r.students.map((method: StudentMethod) => spec(c, { kind: 'student', key, seed, method })));

/** An image task trains its feature classifier once per run directory, unless a saved one is given. */
const needsClassifier = (r: ResolvedExperiment): boolean => isImageTask(r.task) && r.classifier.path === undefined;

/** The job tree an experiment starts as (students join when their teacher is done). */
export const experimentFlow = (r: ResolvedExperiment, c: Common): Job =>
  spec(c, { kind: 'report' }, [
    ...(needsClassifier(r) ? [spec(c, { kind: 'classifier' })] : []),
    ...teacherGroups(r).map((g) => spec(c, { kind: 'teacher', key: g.key, seeds: g.seeds })),
  ]);

/** Every job an experiment runs, students included: what `status` expects to find. */
export const experimentJobCount = (r: ResolvedExperiment): number =>
  1 + (needsClassifier(r) ? 1 : 0) + teacherGroups(r).length + r.seeds.length * r.students.length;

/** The config every worker reads: the experiment's, or the sweep's. */
export const manifestOf = (runDir: string, pipeline: 'experiment' | 'sweep' = 'experiment'): string =>
  path.join(runDir, pipeline === 'sweep' ? SWEEP_FILE : EXPERIMENT_FILE);
