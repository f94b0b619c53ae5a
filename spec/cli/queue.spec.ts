/**
 * An experiment on the job queue, end to end, with real processes: `run --queue`
 * enqueues a tiny 2-D experiment, two `worker` processes run it, one of them is killed
 * (SIGKILL) while it distils a student. The other worker takes the job over once its
 * lock expires and continues it from the student's last progress checkpoint (the teacher
 * is not retrained); the killed worker's job process exits by itself. The results match
 * a single-process run bit for bit (samples, teacher and student weights, every metric).
 * `status` and the live page show the lost worker's retry. A sweep runs on the queue too, its
 * cells and report equal to a single process's.
 *
 * Needs a Redis server: $PHASED_DMD_REDIS, else redis://127.0.0.1:6379/15 (.ci/run starts
 * one on a loopback port). Without one the suite is skipped, and its title says why (unless
 * PHASED_DMD_REQUIRE_REDIS=1, as on CI: then it fails).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync, ChildProcess } from 'child_process';
import * as E from 'fp-ts/Either';
import { Job, Queue } from 'bullmq';
import { parseQueueUrl, bullConnection, QueueConnection } from '../../lib/queue/connection';
import { readFlow, JobRow } from '../../lib/queue/status';
import { readQueuedRun, QueuedRun } from '../../lib/queue/runFile';
import { QUEUE_NAME } from '../../lib/queue/flow';
import { loadCheckpoint } from '../../lib/checkpoint/format';
import { summariseRecording } from '../../lib/record/summary';
import { startServer } from '../../lib/serve/server';
import { budgetSamples } from '../../pipelines/sweep';
import { methodDir } from '../../pipelines/experiment';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'phased-dmd.js');
const REDIS = process.env.PHASED_DMD_REDIS ?? 'redis://127.0.0.1:6379/15';

/** A PING from a child process: the suite decides whether to run before any test starts. */
const redisAnswers = (url: string): boolean => {
  const c = parseQueueUrl(url);
  if (E.isLeft(c)) return false;
  const script =
    `const s=require('net').connect(${c.right.port},${JSON.stringify(c.right.host)});` +
    `s.setTimeout(2000,()=>process.exit(1));s.on('connect',()=>s.write('PING\\r\\n'));` +
    `s.on('data',(b)=>process.exit(String(b).startsWith('+PONG')?0:1));s.on('error',()=>process.exit(1));`;
  return spawnSync(process.execPath, ['-e', script], { timeout: 5000 }).status === 0;
};
const reachable = redisAnswers(REDIS);
if (!reachable && process.env.PHASED_DMD_REQUIRE_REDIS === '1')
  throw new Error(`PHASED_DMD_REQUIRE_REDIS=1 but no Redis server answers at ${REDIS}`);
const suite = reachable ? describe : describe.skip;
const why = ` — skipped: no Redis server answers at ${REDIS} (.ci/run starts one; or set PHASED_DMD_REDIS)`;
const title = `run --queue with two workers and one killed${reachable ? '' : why}`;

const TINY = {
  method: 'experiment',
  task: 'ring8',
  seeds: [0],
  methods: ['teacher', 'dmd', 'sgts'],
  model: { kind: 'mlp', hidden: [32, 32], timeEmbedDim: 8 },
  // 160 updates: a progress checkpoint at 100 (checkpointEvery), 60 more to redo after the kill
  budget: { teacherSteps: 60, teacherBatchSize: 64, iterations: 160, batchSize: 64 },
  distill: { regression: { weight: 4, warmup: 4 } },
  samples: 100,
  evalPoints: 100,
  logEvery: 1000,
};

/** A sweep as small: one seed, SGTS along one run and Phased 4×2 one run per budget. */
const TINY_SWEEP = {
  method: 'sweep',
  task: 'ring8',
  seeds: [0],
  methods: ['sgts', 'phased-4x2'],
  budgets: [2, 4],
  budget: { teacherSteps: 30, teacherBatchSize: 64, batchSize: 16 },
  samples: 48,
  model: { kind: 'mlp', hidden: [16, 16], timeEmbedDim: 8 },
  distill: { updateRatio: 1 },
  logEvery: 1000,
};

const cli = (args: string[]): ChildProcess =>
  spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
const exited = (p: ChildProcess): Promise<number | null> =>
  p.exitCode !== null || p.signalCode !== null
    ? Promise.resolve(p.exitCode)
    : new Promise((resolve) => p.once('exit', (code) => resolve(code)));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const collect = (p: ChildProcess): { text: () => string } => {
  let out = '';
  p.stdout?.on('data', (b) => (out += b));
  p.stderr?.on('data', (b) => (out += b));
  return { text: () => out };
};

/** Child processes of a pid (Linux /proc). */
const childrenOf = (pid: number): number[] =>
  fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => {
      try {
        return Number(fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === pid;
      } catch {
        return false;
      }
    });
const alive = (pid: number): boolean => fs.existsSync(`/proc/${pid}`);

const until = async <A>(what: string, f: () => Promise<A | null>, timeoutMs: number, everyMs = 100): Promise<A> => {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const a = await f();
    if (a !== null) return a;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
};

const methodOf = (row: JobRow): string => (row.data as { node: { method: string } }).node.method;

const files = (dir: string): string[] =>
  fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => fs.statSync(path.join(dir, f)).isFile())
        .sort()
    : [];
const same = (a: string, b: string): boolean => fs.readFileSync(a).equals(fs.readFileSync(b));

suite(title, () => {
  let tmp: string;
  let conn: QueueConnection;
  const workers: ChildProcess[] = [];

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-'));
    conn = E.getOrElseW(() => {
      throw new Error('bad address');
    })(parseQueueUrl(REDIS));
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
    await Promise.all(workers.map(exited));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** `run <config> --queue`: its jobs enqueued, the run's record read back. */
  const enqueue = (config: string, out: string, jobs: number): QueuedRun => {
    const r = spawnSync(process.execPath, [BIN, 'run', config, '--out', out, '--queue', REDIS], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.stderr).toMatch(new RegExp(`enqueued ${jobs} jobs`));
    expect(r.status).toBe(0);
    return E.getOrElseW((e: string) => {
      throw new Error(e);
    })(readQueuedRun(out));
  };
  /** Waits for every one of the run's `jobs` jobs to be done (a failed one fails the spec, with the logs). */
  const finished = (run: QueuedRun, jobs: number, logs: () => string): Promise<JobRow[]> =>
    until(
      'the run to finish',
      async () => {
        const r = (await readFlow(conn, run.root)) ?? [];
        if (r.some((x) => x.state === 'failed')) throw new Error(`a job failed:\n${logs()}`);
        return r.length === jobs && r.every((x) => x.state === 'done' && !x.waitingForChildren) ? r : null;
      },
      240_000,
      250,
    );
  /** The run's jobs leave the queue with the spec. */
  const removeRun = async (run: QueuedRun): Promise<void> => {
    const queue = new Queue(QUEUE_NAME, { connection: bullConnection(conn) });
    await (await Job.fromId(queue, run.root))?.remove();
    await queue.close();
  };

  it('a killed worker’s job goes on elsewhere from its last checkpoint; results equal one process’s', async () => {
    const config = path.join(tmp, 'tiny.json');
    fs.writeFileSync(config, JSON.stringify(TINY));
    const single = path.join(tmp, 'single');
    const queued = path.join(tmp, 'queued');
    // the single-process run goes on beside the queued one (only the time is shared)
    const baseline = cli(['run', config, '--out', single]);
    const baselineLog = collect(baseline);

    // short locks: a lost worker's job is handed on within seconds
    const workerArgs = ['worker', '--queue', REDIS, '--lock-ms', '2000', '--stalled-check-ms', '1000'];
    for (let i = 0; i < 2; i++) workers.push(cli(workerArgs));
    const logs = workers.map(collect);
    const workerLogs = (): string => logs.map((l) => l.text()).join('\n');
    const run = enqueue(config, queued, 4);

    // a student past its first progress checkpoint, on a worker of ours
    const victim = await until(
      'a student past its progress checkpoint',
      async () => {
        const rows = (await readFlow(conn, run.root)) ?? [];
        const progressed = (r: JobRow): boolean => fs.existsSync(path.join(queued, 'seed-0', methodOf(r), 'last.ckpt'));
        const busy = (r: JobRow): boolean => r.name === 'student' && r.state === 'running' && r.worker !== undefined;
        return rows.find((r) => busy(r) && progressed(r)) ?? null;
      },
      240_000,
      50,
    );
    const pid = Number(victim.worker!.split(':').pop());
    const killed = workers.find((w) => w.pid === pid)!;
    expect(killed).toBeDefined();
    const jobProcesses = childrenOf(pid);
    expect(jobProcesses.length).toBeGreaterThan(0);
    killed.kill('SIGKILL');
    await exited(killed);
    // the job process notices its worker is gone and stops writing the run directory
    await until(
      'the killed worker’s job process to exit',
      async () => (jobProcesses.some(alive) ? null : true),
      20_000,
    );

    const rows = await finished(run, 4, workerLogs);
    const again: JobRow = rows.find((r) => r.id === victim.id)!;
    expect(again.attempts).toBeGreaterThanOrEqual(2);
    expect(again.stalled).toBeGreaterThanOrEqual(1);
    expect(again.worker).not.toBe(victim.worker);
    // the teacher was trained once: the retry started from its checkpoint
    expect(rows.find((r) => r.name === 'teacher')!.attempts).toBe(1);
    // the student went on from its progress checkpoint (step 100), in the same recording
    const rec = summariseRecording(path.join(queued, 'seed-0', methodOf(victim), 'recording.ndjson'));
    expect(E.isRight(rec) && rec.right.resumes).toBe(1);
    expect(workerLogs()).toMatch(new RegExp(`distilling ${methodOf(victim)} .*, resumed at phase 1 step 100`));
    expect(files(queued).filter((f) => f.includes('.replaced-') || f.endsWith('last.ckpt'))).toEqual([]);

    const status = spawnSync(process.execPath, [BIN, 'status', queued], { cwd: ROOT, encoding: 'utf8' });
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/4 done, 0 running, 0 queued, 0 failed \(4 jobs\)/);
    expect(status.stdout).toMatch(/seed 0 \S+ +done +attempts \d, \d retr(y|ies), worker lost 1×/);

    // the live page lists the same jobs
    const server = await startServer({ runDir: queued, port: 0 });
    try {
      type View = { counts: Record<string, number>; rows: Array<{ label: string; state: string; stalled: number }> };
      const view = (await (await fetch(`${server.url}jobs`)).json()) as View;
      expect(view.counts).toEqual({ queued: 0, running: 0, done: 4, failed: 0 });
      const row = view.rows.find((r) => r.label === `seed 0 ${methodOf(victim)}`);
      expect(row).toMatchObject({ state: 'done', stalled: 1 });
      expect(await (await fetch(server.url)).text()).toContain('id="jobs"');
    } finally {
      await server.close();
    }

    expect(await exited(baseline)).toBe(0);
    expect(baselineLog.text()).not.toMatch(/error/i);
    // samples, as the report writes them, and every metric
    const npy = files(path.join(single, 'samples'));
    expect(npy.length).toBe(8);
    expect(files(path.join(queued, 'samples'))).toEqual(npy);
    for (const f of npy) expect(same(path.join(queued, 'samples', f), path.join(single, 'samples', f))).toBe(true);
    const metrics = (dir: string): unknown => {
      type Results = { runs: Array<Record<string, unknown>>; problems: unknown };
      const r = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as Results;
      return { runs: r.runs.map(({ trainingSeconds: _s, ...rest }) => rest), problems: r.problems };
    };
    expect(metrics(queued)).toEqual(metrics(single));
    // weights: the teacher byte for byte; a student's tensors (its metadata names its own run's teacher path)
    const teacher = files(path.join(single, 'teachers')).find((f) => f.endsWith('teacher.ckpt'))!;
    expect(same(path.join(queued, 'teachers', teacher), path.join(single, 'teachers', teacher))).toBe(true);
    for (const m of ['dmd', 'sgts']) {
      const [a, b] = [single, queued].map((d) => loadCheckpoint(path.join(d, 'seed-0', m, 'student.ckpt')));
      if (E.isLeft(a) || E.isLeft(b)) throw new Error('student checkpoint unreadable');
      expect(b.right.tensors.map((t) => t.name)).toEqual(a.right.tensors.map((t) => t.name));
      const bytes = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      b.right.tensors.forEach((t, i) => expect(bytes(t.values).equals(bytes(a.right.tensors[i].values))).toBe(true));
    }

    await removeRun(run);
  }, 300_000);

  it('a sweep on the queue draws every cell and its report, equal to one process’s', async () => {
    const config = path.join(tmp, 'tiny-sweep.json');
    fs.writeFileSync(config, JSON.stringify(TINY_SWEEP));
    const single = path.join(tmp, 'sweep-single');
    const queued = path.join(tmp, 'sweep-queued');
    const baseline = cli(['run', config, '--out', single]);
    const worker = cli(['worker', '--queue', REDIS]);
    workers.push(worker);
    const log = collect(worker);
    // the report, the teacher, and one student job per (seed, method) drawing every budget
    const run = enqueue(config, queued, 4);
    await finished(run, 4, log.text);
    expect(await exited(baseline)).toBe(0);
    for (const m of ['sgts', 'phased-4x2'])
      for (const b of [2, 4]) {
        const cell = (dir: string) => budgetSamples(methodDir(dir, 0, m as 'sgts'), b);
        expect(same(cell(queued), cell(single))).toBe(true);
      }
    const rows = (dir: string): unknown => {
      type Results = { rows: Array<Record<string, unknown>> };
      const r = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as Results;
      return r.rows.map(({ trainingSeconds: _s, ...rest }) => rest);
    };
    expect(rows(queued)).toEqual(rows(single));
    expect(fs.readFileSync(path.join(queued, 'report.md'), 'utf8')).toContain('# Budget sweep: ring8');

    await removeRun(run);
  }, 300_000);
});
