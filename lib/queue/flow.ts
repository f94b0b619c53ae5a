/**
 * Jobs as BullMQ flows. A run is a tree of jobs (a parent runs after its children); a
 * job whose followers are only known once it has run (a teacher's students) adds them
 * as its own children and waits for them: BullMQ's step-job pattern (`fanOut`), so
 * every dependency is kept by BullMQ, none by this code.
 *
 * Every job is retried (`attempts`) and fails its parent when it finally fails, so a
 * failed node stops the run where it happened and `status` shows the chain.
 */
import { FlowProducer, FlowJob, Queue, WaitingChildrenError, JobsOptions } from 'bullmq';
import { bullConnection, QueueConnection } from './connection';

/** The one queue every run's jobs go to; runs are told apart by their job ids. */
export const QUEUE_NAME = 'phased-dmd';

/** A job and the jobs that must finish before it. */
export interface JobSpec<D> {
  readonly name: string;
  /** Unique in the queue (no ':'): adding a job whose id exists adds nothing. */
  readonly id: string;
  readonly data: D;
  readonly children?: readonly JobSpec<D>[];
}

/** Job data of a step job that has added its children and waits for them. */
export interface Staged {
  readonly stage?: 'children';
}

export const JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'fixed', delay: 2000 },
  failParentOnFailure: true,
  removeOnComplete: false,
  removeOnFail: false,
};

const toFlowJob = <D>(s: JobSpec<D>): FlowJob => ({
  name: s.name,
  queueName: QUEUE_NAME,
  data: s.data,
  opts: { ...JOB_OPTIONS, jobId: s.id },
  ...(s.children && s.children.length > 0 ? { children: s.children.map(toFlowJob) } : {}),
});

/** Adds a job tree to the queue. */
export const enqueueFlow = async <D>(c: QueueConnection, root: JobSpec<D>): Promise<void> => {
  const producer = new FlowProducer({ connection: bullConnection(c) });
  try {
    await producer.add(toFlowJob(root));
  } finally {
    await producer.close();
  }
};

/** The running job as a step job sees it (a sandboxed job has the same methods). */
export interface StepJob<D> {
  readonly id?: string;
  readonly data: D;
  readonly queueQualifiedName: string;
  updateData(data: D): Promise<void>;
  moveToWaitingChildren(token: string): Promise<boolean>;
}

/**
 * Adds `children` to the running job and parks it until they have finished; BullMQ runs
 * it again then (its data says `stage: 'children'`: the caller returns at once). Safe to
 * repeat after a crash: children keep their ids, so none is added twice.
 */
export const fanOut = async <D extends Staged>(
  c: QueueConnection,
  job: StepJob<D>,
  token: string,
  children: ReadonlyArray<Omit<JobSpec<unknown>, 'children'>>,
): Promise<void> => {
  if (children.length === 0) return;
  await job.updateData({ ...job.data, stage: 'children' });
  const queue = new Queue(QUEUE_NAME, { connection: bullConnection(c) });
  try {
    const parent = { id: job.id!, queue: job.queueQualifiedName };
    const opts = (id: string): JobsOptions => ({ ...JOB_OPTIONS, jobId: id, parent });
    await queue.addBulk(children.map((s) => ({ name: s.name, data: s.data, opts: opts(s.id) })));
  } finally {
    await queue.close();
  }
  // false: the children have all finished already, the job goes on
  if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
};
