/**
 * Nothing is lost on a full disk. On a small tmpfs mounted here (which needs root, as CI
 * runs; elsewhere these specs are skipped and say why): an atomic write that does not
 * fit fails with the path and ENOSPC and keeps the previous file bit for bit; a recording
 * append that does not fit leaves whole lines only; `run` stops with exit 1 and the last
 * good checkpoint (which then resumes), and `sample --n` never leaves a short .npy.
 */
import { runCli } from '../helpers/runCli';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as E from 'fp-ts/Either';
import { writeFileAtomic, FileWriteError, makeDir } from '../../lib/util/atomicWrite';
import { RecordingWriter, makeHeader } from '../../lib/record/writer';
import { readRecording } from '../../lib/record/reader';
import { loadCheckpoint } from '../../lib/checkpoint/format';
import { readNpy } from '../../lib/data/npy';
import { useBackend } from '../../lib/backend';

const MiB = 1 << 20;

/** Mounts a tmpfs of `bytes` at a fresh directory; null and the reason where that is not possible. */
const mountTmpfs = (bytes: number): { dir: string } | { reason: string } => {
  if (process.platform !== 'linux') return { reason: `a tmpfs needs Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { reason: 'mounting a tmpfs needs root (CI runs as root)' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'full-disk-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmdirSync(dir);
    return { reason: `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}` };
  }
  return { dir };
};

const mounted = mountTmpfs(4 * MiB);
const disk = 'dir' in mounted ? mounted.dir : '';
const onTmpfs = 'dir' in mounted ? describe : describe.skip;
if (!('dir' in mounted)) process.stderr.write(`spec/util/atomicWrite: full-disk specs skipped: ${mounted.reason}\n`);

afterAll(() => {
  if (disk === '') return;
  spawnSync('umount', [disk]);
  fs.rmSync(disk, { recursive: true, force: true });
});

/** A fresh directory on the tmpfs with about `free` bytes left on it (a filler takes the rest). */
let cases = 0;
const leaving = (free: number): string => {
  for (const d of fs.readdirSync(disk)) fs.rmSync(path.join(disk, d), { recursive: true, force: true });
  const dir = path.join(disk, `case${cases++}`);
  fs.mkdirSync(dir);
  const avail = fs.statfsSync(disk).bavail * fs.statfsSync(disk).bsize;
  if (avail > free) fs.writeFileSync(path.join(disk, 'filler'), Buffer.alloc(avail - free));
  return dir;
};

const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);
const temps = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));

const run = runCli;

test('the full-disk specs run where a tmpfs can be mounted, and say why not elsewhere', () => {
  if ('reason' in mounted) expect(mounted.reason).toMatch(/root|Linux|mount/);
  else expect(fs.statfsSync(disk).blocks * fs.statfsSync(disk).bsize).toBe(4 * MiB);
});

onTmpfs('on a read-only file system', () => {
  test('creating a directory names EROFS (mkdir -p alone says ENOENT), and `run --out` says so', async () => {
    const ro = path.join(disk, 'ro');
    fs.mkdirSync(ro, { recursive: true });
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', ro]).status).toBe(0);
    try {
      const out = path.join(ro, 'runs', 'a');
      expect(() => makeDir(out)).toThrow(`cannot write ${out}: read-only file system (EROFS)`);
      expect(() => writeFileAtomic(path.join(ro, 'x.json'), '{}')).toThrow(
        `cannot write ${path.join(ro, 'x.json')}: read-only file system (EROFS)`,
      );
      const config = path.join(os.tmpdir(), `ro-teacher-${process.pid}.json`);
      fs.writeFileSync(
        config,
        JSON.stringify({ method: 'teacher', data: { kind: 'mixture', name: 'ring8' }, steps: 1 }),
      );
      try {
        expect(await run('run', config, '--out', out)).toMatchObject({
          code: 1,
          err: `phased-dmd: cannot write ${out}: read-only file system (EROFS)\n`,
        });
      } finally {
        fs.rmSync(config, { force: true });
      }
    } finally {
      spawnSync('umount', [ro]);
    }
  });
});

onTmpfs('on a full disk', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  test('an atomic write that does not fit throws the path and ENOSPC, and keeps the previous file bit for bit', () => {
    const dir = leaving(256 * 1024);
    const file = path.join(dir, 'model.ckpt');
    writeFileAtomic(file, bytes(100 * 1024, 1));
    let err: unknown;
    try {
      writeFileAtomic(file, bytes(1 * MiB, 2));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileWriteError);
    expect((err as FileWriteError).code).toBe('ENOSPC');
    expect((err as Error).message).toBe(
      `cannot write ${file}: no space left on device (ENOSPC); the previous file is kept unchanged`,
    );
    expect(fs.readFileSync(file).equals(bytes(100 * 1024, 1))).toBe(true);
    expect(temps(dir)).toEqual([]);
  });

  test('a new file that does not fit is not created at all', () => {
    const dir = leaving(64 * 1024);
    const file = path.join(dir, 'new.bin');
    expect(() => writeFileAtomic(file, bytes(MiB, 3))).toThrow(
      `cannot write ${file}: no space left on device (ENOSPC)`,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a recording append that does not fit throws, leaves whole lines only, and later appends are ignored', () => {
    const dir = leaving(128 * 1024);
    const file = path.join(dir, 'recording.ndjson');
    const w = RecordingWriter.create(file, makeHeader({ config: { method: 'teacher' }, seed: 0, backend: 'wasm' }), {
      fsyncEvery: 1,
    });
    if (E.isLeft(w)) throw w.left;
    const big = (i: number) => ({ type: 'phaseEnd' as const, phase: i, summary: { pad: 'x'.repeat(40 * 1024) } });
    let thrown: unknown = null;
    let appended = 0;
    for (let i = 0; i < 10 && thrown === null; i++) {
      try {
        w.right.append(big(i));
        appended++;
      } catch (e) {
        thrown = e;
      }
    }
    expect(thrown).toBeInstanceOf(FileWriteError);
    expect((thrown as Error).message).toBe(
      `cannot write ${file}: no space left on device (ENOSPC); the recording ends at its last whole line`,
    );
    w.right.append(big(99)); // ignored: the run is already stopping with the error above
    w.right.close();
    const r = readRecording(file, {
      onIssue: (i) => {
        throw new Error(`unexpected issue: ${i.message}`);
      },
    });
    if (E.isLeft(r)) throw r.left;
    expect(r.right.events.map((e) => (e.type === 'phaseEnd' ? e.phase : -1))).toEqual([...Array(appended).keys()]);
  });

  test(
    '`run` stops with exit 1 naming the checkpoint and ENOSPC, keeps the last good one, and resumes once there ' +
      'is room',
    async () => {
      const config = path.join(os.tmpdir(), `full-disk-teacher-${process.pid}.json`);
      fs.writeFileSync(
        config,
        JSON.stringify({
          method: 'teacher',
          data: { kind: 'mixture', name: 'ring8' },
          model: { kind: 'mlp', hidden: [96, 96], timeEmbedDim: 8 },
          steps: 150,
          batchSize: 32,
          logEvery: 50,
        }),
      );
      try {
        // the size of one checkpoint and of the recording, from the same run on a roomy disk
        const roomy = fs.mkdtempSync(path.join(os.tmpdir(), 'full-disk-ref-'));
        expect((await run('run', config, '--out', roomy, '--no-report')).code).toBe(0);
        const ckptBytes = fs.statSync(path.join(roomy, 'teacher.ckpt')).size;
        const recBytes = fs.statSync(path.join(roomy, 'recording.ndjson')).size;
        fs.rmSync(roomy, { recursive: true, force: true });
        // room for the step-100 checkpoint and the recording, not for a second checkpoint beside the first
        const out = path.join(leaving(Math.round(1.5 * ckptBytes) + recBytes + 16 * 1024), 'run');
        const r = await run('run', config, '--out', out, '--no-report');
        const ckpt = path.join(out, 'teacher.ckpt');
        expect(r.code).toBe(1);
        expect(r.err).toContain(
          `cannot write ${ckpt}: no space left on device (ENOSPC); the previous file is kept unchanged`,
        );
        expect(r.err).toContain(`the last good checkpoint is kept: ${ckpt} (phase 1, step 100)`);
        expect(r.err).not.toMatch(/internal error|\n\s+at /);
        const kept = loadCheckpoint(ckpt);
        if (E.isLeft(kept)) throw kept.left;
        expect(kept.right.meta.step).toBe(100);
        expect(temps(out)).toEqual([]);
        // with room again, the run resumes from step 100 and completes
        fs.rmSync(path.join(disk, 'filler'));
        const resumed = await run('run', config, '--out', out, '--resume', '--no-report');
        expect([resumed.code, resumed.err]).toEqual([0, expect.stringContaining('resumed at step 100')]);
        const done = loadCheckpoint(ckpt);
        expect(E.isRight(done) && done.right.meta.step).toBe(150);
      } finally {
        fs.rmSync(config, { force: true });
      }
    },
    120_000,
  );

  test('`sample --n` into a full disk exits 1 naming the .npy and ENOSPC, and never leaves a short file', async () => {
    const model = path.join(os.tmpdir(), `full-disk-model-${process.pid}`);
    const config = `${model}.json`;
    fs.writeFileSync(
      config,
      JSON.stringify({
        method: 'teacher',
        data: { kind: 'mixture', name: 'ring8' },
        model: { kind: 'mlp', hidden: [16], timeEmbedDim: 4 },
        steps: 2,
        batchSize: 8,
      }),
    );
    try {
      expect((await run('run', config, '--out', model, '--no-report')).code).toBe(0);
      const dir = leaving(200 * 1024);
      const out = path.join(dir, 's.npy');
      // 40 000 samples × 2 × 4 bytes = 320 kB: more than is left
      const r = await run(
        'sample',
        '--model',
        path.join(model, 'teacher.ckpt'),
        '--n',
        '40000',
        '--steps',
        '2',
        '--out',
        out,
      );
      expect([r.code, r.err]).toEqual([1, `phased-dmd: cannot write ${out}: no space left on device (ENOSPC)\n`]);
      expect(fs.readdirSync(dir)).toEqual([]);
      // a smaller earlier output is kept as it was
      expect(
        (await run('sample', '--model', path.join(model, 'teacher.ckpt'), '--n', '1000', '--steps', '2', '--out', out))
          .code,
      ).toBe(0);
      const before = fs.readFileSync(out);
      expect(
        (await run('sample', '--model', path.join(model, 'teacher.ckpt'), '--n', '40000', '--steps', '2', '--out', out))
          .code,
      ).toBe(1);
      expect(fs.readFileSync(out).equals(before)).toBe(true);
      expect(E.isRight(readNpy(out))).toBe(true);
    } finally {
      fs.rmSync(model, { recursive: true, force: true });
      fs.rmSync(config, { force: true });
    }
  }, 120_000);
});
