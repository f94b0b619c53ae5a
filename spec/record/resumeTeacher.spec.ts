/**
 * Exact resume: a teacher run in its own process is SIGKILLed at three seeded random
 * points and resumed each time; its final checkpoint must equal an uninterrupted run's
 * bit for bit (weights and Adam state), its recording must hold the uninterrupted run's
 * losses exactly, and a different config must be refused unless forced.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { loadCheckpoint, CheckpointData } from '../../lib/checkpoint/format';
import { uniformStream } from '../../lib/random/seed';
import { runTeacher, TEACHER_CHECKPOINT, RECORDING_FILE } from '../../lib/train/teacher';
import { summariseRecording } from '../../lib/record/summary';
import { ResumeError } from '../../lib/train/errors';
import { loadTeacher } from '../../pipelines/teacher';

const STEPS = 240;
const EVERY = 10;
const config = { method: 'teacher', data: { kind: 'mixture', name: 'ring8' }, model: { kind: 'mlp', hidden: [16, 16], timeEmbedDim: 8 }, steps: STEPS, batchSize: 16, logEvery: 1000 };

const tsx = path.resolve(__dirname, '../../node_modules/.bin/tsx');
const script = path.resolve(__dirname, 'fixtures/train-teacher.ts');

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resume-'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Attempt {
  readonly lastStep: number;
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly output: string;
}

/** Runs the fixture; SIGKILLs it (the tsx wrapper and the node process it runs) as soon as it reports a step ≥ killAt. */
const attempt = (outDir: string, killAt: number | null): Promise<Attempt> =>
  new Promise((resolve, reject) => {
    // tsx runs the script in a child node process: kill the whole process group
    const child = spawn(tsx, [script, path.join(dir, 'config.json'), outDir, String(EVERY)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let killed = false;
    let output = '';
    let lastStep = -1;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of chunk.toString().matchAll(/step (\d+)/g)) lastStep = Math.max(lastStep, Number(m[1]));
      if (killAt !== null && lastStep >= killAt && !killed && child.pid !== undefined) {
        killed = true;
        process.kill(-child.pid, 'SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ lastStep, signal, code, output }));
  });

const bytes = (data: CheckpointData, prefix: string): Map<string, Buffer> =>
  new Map(data.tensors.filter((t) => t.name.startsWith(prefix)).map((t) => [t.name, Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength)]));

const load = (file: string): CheckpointData => {
  const r = loadCheckpoint(file);
  if (E.isLeft(r)) throw r.left;
  return r.right;
};

test('SIGKILL at three random points, resumed each time: final weights and Adam state equal an uninterrupted run bit for bit', async () => {
  // the reference runs in the same kind of process: wasm kernels inside jest's workers
  // round some matMuls differently from a plain node process (last bits), so bit-exact
  // comparisons stay within one environment
  const reference = path.join(dir, 'reference');
  const ref = await attempt(reference, null);
  expect(ref.code).toBe(0);
  const refSummary = summariseRecording(path.join(reference, RECORDING_FILE));
  if (E.isLeft(refSummary)) throw refSummary.left;
  const refSeries = refSummary.right.series[0];
  const refLosses = refSeries.step.map((s, i) => [s, refSeries.loss[i], refSeries.gradNorm[i]]);
  expect(refLosses).toHaveLength(STEPS);

  // three kill points, seeded, increasing, each past the previous one's resume point
  const u = uniformStream(20260101);
  const kills = [0, 1, 2].map((i) => Math.floor(((i + u()) / 3) * (STEPS - 30)) + 5);
  const outDir = path.join(dir, 'killed');
  for (const killAt of kills) {
    const a = await attempt(outDir, killAt);
    expect({ killAt, signal: a.signal }).toEqual({ killAt, signal: 'SIGKILL' });
    // whatever the kill interrupted, the checkpoint on disk is whole and loadable
    const teacher = loadTeacher(path.join(outDir, TEACHER_CHECKPOINT));
    if (E.isLeft(teacher)) throw teacher.left;
    teacher.right.model.dispose();
  }
  const last = await attempt(outDir, null);
  expect(last.code).toBe(0);
  expect(last.output).toMatch(/done from \d+/);

  const a = load(path.join(reference, TEACHER_CHECKPOINT));
  const b = load(path.join(outDir, TEACHER_CHECKPOINT));
  expect(b.meta.step).toBe(STEPS);
  for (const prefix of ['teacher/', 'opt/teacher/']) {
    const x = bytes(a, prefix);
    const y = bytes(b, prefix);
    expect([...y.keys()]).toEqual([...x.keys()]);
    expect(x.size).toBeGreaterThan(0);
    for (const [name, buf] of x) if (!buf.equals(y.get(name)!)) throw new Error(`${name} differs after resume`);
  }

  // the recording, superseded attempts dropped, holds exactly the uninterrupted run's numbers
  const summary = summariseRecording(path.join(outDir, RECORDING_FILE), { onIssue: () => undefined });
  if (E.isLeft(summary)) throw summary.left;
  expect(summary.right.status).toBe('complete');
  expect(summary.right.resumes).toBe(3);
  const [series] = summary.right.series;
  expect(series.step.map((s, i) => [s, series.loss[i], series.gradNorm[i]])).toEqual(refLosses);
});

test('resuming with a different config is refused unless forced', async () => {
  const outDir = path.join(dir, 'mismatch');
  const short = { ...config, steps: 20 };
  (await runTeacher(short, { outDir, checkpointEvery: EVERY, log: () => undefined })).model.dispose();
  const before = fs.readFileSync(path.join(outDir, TEACHER_CHECKPOINT));
  const longer = { ...config, steps: 30 };
  await expect(runTeacher(longer, { outDir, resume: true, log: () => undefined })).rejects.toThrow(ResumeError);
  await expect(runTeacher(longer, { outDir, resume: true, log: () => undefined })).rejects.toThrow(/config hash mismatch/);
  // starting over without resume or overwrite is refused too: nothing is clobbered
  await expect(runTeacher(short, { outDir, log: () => undefined })).rejects.toThrow(/already exists: pass resume/);
  expect(fs.readFileSync(path.join(outDir, TEACHER_CHECKPOINT)).equals(before)).toBe(true);

  const forced = await runTeacher(longer, { outDir, resume: true, force: true, checkpointEvery: EVERY, log: () => undefined });
  expect(forced.from).toBe(20);
  expect(forced.metrics.map((m) => m.key.step)).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
  forced.model.dispose();
});
