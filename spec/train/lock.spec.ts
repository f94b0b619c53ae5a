/**
 * Run directory locks (lib/train/lock.ts): a second process writing the same run
 * directory is refused with the lock file and the holder's pid named; a lock whose
 * process died (or whose pid now names another process) is taken over; runners release
 * their lock however they end.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { useBackend } from '../../lib/backend';
import { acquireRunLock, LOCK_FILE, RunLockedError } from '../../lib/train/lock';
import { runTeacher } from '../../lib/train/teacher';
import { ResumeError } from '../../lib/train/errors';
import { exitCodeOf } from '../../cli/errors';
import { processStartTime } from '../../lib/util/process';
import { tsx } from './killer';

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-lock-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const quiet = { log: () => undefined };
const config = {
  method: 'teacher',
  data: { kind: 'mixture', name: 'ring8' },
  model: { kind: 'mlp', hidden: [8], timeEmbedDim: 4 },
  steps: 150,
  batchSize: 8,
};
const deadPid = (): number =>
  Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
const writeLock = (d: string, o: object): string => {
  fs.mkdirSync(d, { recursive: true });
  const file = path.join(d, LOCK_FILE);
  fs.writeFileSync(
    file,
    JSON.stringify({ host: os.hostname(), since: '2026-01-01T00:00:00.000Z', token: 't', start: null, ...o }),
  );
  return file;
};

test(
  'a second process writing the run directory is refused (lock and pid named); once the first is killed, its ' +
    'stale lock is taken over',
  async () => {
    const outDir = path.join(dir, 'two-processes');
    const configFile = path.join(dir, 'teacher.json');
    fs.writeFileSync(configFile, JSON.stringify(config));
    const child = spawn(tsx, [path.resolve(__dirname, 'fixtures/train-teacher.ts'), configFile, outDir, '10'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, STEP_DELAY_MS: '20' },
    });
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        output += b.toString();
        if (/^step 12$/m.test(output)) resolve(); // past its first checkpoint (every 10 steps)
      });
      child.stderr.on('data', (b: Buffer) => (output += b.toString()));
      child.on('close', () => reject(new Error(`the training process ended before step 12:\n${output}`)));
    });
    try {
      const lock = path.join(outDir, LOCK_FILE);
      const holder = JSON.parse(fs.readFileSync(lock, 'utf8')) as { pid: number };
      expect(holder.pid).not.toBe(process.pid);
      const err = await runTeacher(config, { outDir, resume: true, record: true, ...quiet }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RunLockedError);
      expect((err as Error).message).toContain(
        `${outDir} is being written by another run: ${lock} is held by process ${holder.pid} since `,
      );
      expect(exitCodeOf(err)).toBe(1);
      // the refusal left the holder's lock alone
      expect(JSON.parse(fs.readFileSync(lock, 'utf8')).pid).toBe(holder.pid);
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
      await closed;
    }
    // the killed run's lock is stale: the resumed run takes it over and releases it at the end
    expect(fs.existsSync(path.join(outDir, LOCK_FILE))).toBe(true);
    const r = await runTeacher(config, { outDir, resume: true, record: true, ...quiet });
    r.model.dispose();
    expect(r.from).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(outDir, LOCK_FILE))).toBe(false);
  },
  60000,
);

describe('acquireRunLock', () => {
  it('is held until released, also against this process; release is idempotent', () => {
    const d = path.join(dir, 'same-process');
    const a = acquireRunLock(d);
    expect(JSON.parse(fs.readFileSync(a.file, 'utf8'))).toMatchObject({
      pid: process.pid,
      host: os.hostname(),
      start: processStartTime(process.pid),
    });
    expect(() => acquireRunLock(d)).toThrow(new RegExp(`is held by process ${process.pid} \\(this process\\) since`));
    a.release();
    a.release();
    expect(fs.readdirSync(d)).toEqual([]);
    const b = acquireRunLock(d);
    b.release();
    expect(fs.readdirSync(d)).toEqual([]);
  });

  it('takes over the lock of a dead process, and of a pid that now names another process', () => {
    for (const [name, holder] of [
      ['dead', { pid: deadPid() }],
      ['reused', { pid: process.pid, start: 'another process' }],
    ] as const) {
      const d = path.join(dir, name);
      writeLock(d, holder);
      const lock = acquireRunLock(d);
      expect(JSON.parse(fs.readFileSync(lock.file, 'utf8')).pid).toBe(process.pid);
      lock.release();
      expect({ name, files: fs.readdirSync(d) }).toEqual({ name, files: [] });
    }
  });

  it('refuses a lock held on another host (its process cannot be checked from here)', () => {
    const file = writeLock(path.join(dir, 'other-host'), { pid: deadPid(), host: 'elsewhere.example' });
    expect(() => acquireRunLock(path.dirname(file))).toThrow(RunLockedError);
    expect(() => acquireRunLock(path.dirname(file))).toThrow(
      / on host elsewhere\.example since 2026-01-01T00:00:00\.000Z/,
    );
    expect(fs.existsSync(file)).toBe(true);
  });
});

test('a runner releases its lock when it refuses to start and when it finishes', async () => {
  const outDir = path.join(dir, 'released');
  const short = { ...config, steps: 3 };
  (await runTeacher(short, { outDir, record: true, ...quiet })).model.dispose();
  expect(fs.existsSync(path.join(outDir, LOCK_FILE))).toBe(false);
  await expect(runTeacher(short, { outDir, record: true, ...quiet })).rejects.toThrow(ResumeError);
  expect(fs.existsSync(path.join(outDir, LOCK_FILE))).toBe(false);
});
