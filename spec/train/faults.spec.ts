/**
 * Faults: a loss that turns non-finite stops the run and keeps the last good checkpoint
 * (bit-identical to a clean run stopped there) and the recording says why; corrupt
 * checkpoints and recordings are refused on resume with their file named and are left
 * as they were; the command line reports bad input in one line, without a stack trace.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { runTeacher, TEACHER_CHECKPOINT, RECORDING_FILE } from '../../lib/train/teacher';
import { runDistill, PROGRESS_CHECKPOINT } from '../../lib/train/distill';
import { TrainingStoppedError, ResumeError, removeStaleTemps } from '../../lib/train/errors';
import { NonFiniteLossError } from '../../lib/operators/optimise/optimise';
import { CheckpointError } from '../../lib/checkpoint/format';
import { RecordingError } from '../../lib/record/reader';
import { summariseRecording } from '../../lib/record/summary';
import { writeNpy } from '../../lib/data/npy';
import { uniformStream } from '../../lib/random/seed';
import { load, expectSameBits } from './killer';
import { runCli } from '../helpers/runCli';
import { exitCodeOf } from '../../cli/errors';
import { NonFiniteWeightsError } from '../../lib/distill/checkpoint';

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const quiet = { log: () => undefined };
const mlp = { kind: 'mlp', hidden: [16, 16], timeEmbedDim: 8 };
const snapshot = (d: string): Map<string, Buffer> =>
  new Map(fs.readdirSync(d).map((f) => [f, fs.readFileSync(path.join(d, f))]));
const expectUnchanged = (d: string, before: Map<string, Buffer>): void => {
  expect([...snapshot(d).keys()].sort()).toEqual([...before.keys()].sort());
  for (const [f, b] of snapshot(d)) if (!b.equals(before.get(f)!)) throw new Error(`${f} was modified`);
};

test('a non-finite loss stops the run, keeps the last good checkpoint and records why', async () => {
  // 64 points, one of them at 1e20: (ε − x0)² overflows float32 at the first step that draws it
  const u = uniformStream(1);
  const values = Float32Array.from({ length: 128 }, () => u() * 2 - 1);
  values.set([1e20, -1e20], 2 * 37);
  const data = path.join(dir, 'outlier.npy');
  writeNpy(data, values, [64, 2]);
  const config = {
    method: 'teacher',
    data: { kind: 'npy', path: data },
    model: mlp,
    steps: 200,
    batchSize: 8,
    seed: 0,
  };
  const outDir = path.join(dir, 'nonfinite');
  const err = await runTeacher(config, { outDir, record: true, checkpointEvery: 5, ...quiet }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TrainingStoppedError);
  const stopped = err as TrainingStoppedError;
  expect(stopped.reason).toBeInstanceOf(NonFiniteLossError);
  const at = (stopped.reason as NonFiniteLossError).key.step;
  expect(at).toBeGreaterThanOrEqual(6); // this seed draws the outlier after a checkpoint or more
  const lastGood = Math.floor(at / 5) * 5;
  const file = path.join(outDir, TEACHER_CHECKPOINT);
  expect(stopped.lastGood).toEqual({ file, phase: 0, step: lastGood });
  expect(stopped.message).toMatch(
    new RegExp(
      `non-finite loss \\(\\S+\\) for role "teacher" at phase 1, step ${at}: training stopped; the last good ` +
        `checkpoint is kept: .*teacher\\.ckpt \\(phase 1, step ${lastGood}\\)`,
    ),
  );

  // the kept checkpoint is exactly a clean run's at that step
  const kept = load(file);
  expect(kept.meta.step).toBe(lastGood);
  const clean = path.join(dir, 'clean');
  (await runTeacher({ ...config, steps: lastGood }, { outDir: clean, checkpointEvery: 5, ...quiet })).model.dispose();
  expect(expectSameBits(load(path.join(clean, TEACHER_CHECKPOINT)), kept, 'teacher/')).toBeGreaterThan(0);
  expect(expectSameBits(load(path.join(clean, TEACHER_CHECKPOINT)), kept, 'opt/teacher/')).toBeGreaterThan(0);

  const summary = summariseRecording(path.join(outDir, RECORDING_FILE));
  if (E.isLeft(summary)) throw summary.left;
  expect(summary.right.status).toBe('failed');
  expect(summary.right.message).toMatch(/non-finite loss/);
  expect(summary.right.last).toEqual({ phase: 0, step: at });
  expect(summary.right.checkpoints.at(-1)?.step).toBe(lastGood);
});

test(
  'on the command line a diverging run exits 1 with one line: what diverged, at which step, and the last good ' +
    'checkpoint',
  async () => {
    // 1024 points, one at 1e20: with this seed the first batch that draws it is past the first checkpoint (every 100
    // steps)
    const u = uniformStream(1);
    const values = Float32Array.from({ length: 2048 }, () => u() * 2 - 1);
    values.set([1e20, -1e20], 2 * 5);
    const data = path.join(dir, 'outlier-late.npy');
    writeNpy(data, values, [1024, 2]);
    const configFile = path.join(dir, 'diverging.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        method: 'teacher',
        data: { kind: 'npy', path: data },
        model: mlp,
        steps: 400,
        batchSize: 8,
        seed: 0,
      }),
    );
    const out = path.join(dir, 'cli-diverging');
    const { code, err: stderr } = await runCli('run', configFile, '--out', out, '--no-report');
    expect(code).toBe(1);
    const ckpt = path.join(out, TEACHER_CHECKPOINT);
    const last = stderr.trimEnd().split('\n').at(-1)!;
    const m = new RegExp(
      `^phased-dmd: non-finite loss \\(\\S+\\) for role "teacher" at phase 1, step (\\d+): training stopped; the ` +
        `last ` +
        `good checkpoint is kept: ${ckpt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(phase 1, step (\\d+)\\)$`,
    ).exec(last);
    expect({ last, matches: m !== null }).toEqual({ last, matches: true });
    const [at, kept] = [Number(m![1]), Number(m![2])];
    expect(at).toBeGreaterThanOrEqual(100);
    expect(kept).toBe(Math.floor(at / 100) * 100);
    expect(load(ckpt).meta.step).toBe(kept);
    // not an internal error: no stack trace, no --verbose hint
    expect(stderr).not.toMatch(/internal error|--verbose|\n\s+at /);
    // the causes map to 1 on their own too (a run stopped before it was wrapped)
    expect(exitCodeOf(new NonFiniteLossError({ seed: 1, phase: 0, step: 3 }, 'teacher', 'loss', NaN))).toBe(1);
    expect(exitCodeOf(new NonFiniteWeightsError('teacher/dense0.W', 0, NaN))).toBe(1);
  },
  60000,
);

describe('corrupt files are refused on resume and left as they were', () => {
  const config = { method: 'teacher', data: { kind: 'mixture', name: 'ring8' }, model: mlp, steps: 20, batchSize: 8 };
  const fresh = async (name: string): Promise<string> => {
    const outDir = path.join(dir, name);
    (await runTeacher(config, { outDir, record: true, checkpointEvery: 5, ...quiet })).model.dispose();
    return outDir;
  };

  it('a truncated teacher checkpoint', async () => {
    const outDir = await fresh('truncated-ckpt');
    const file = path.join(outDir, TEACHER_CHECKPOINT);
    fs.truncateSync(file, fs.statSync(file).size - 7);
    const before = snapshot(outDir);
    const err = await runTeacher(config, { outDir, resume: true, record: true, ...quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    const cut = /^checkpoint (.*): truncated or padded: the tensors cover (\d+) bytes of data, the file holds (\d+)$/;
    const m = cut.exec((err as Error).message);
    expect(m?.[1]).toBe(file);
    expect(Number(m?.[2]) - Number(m?.[3])).toBe(7);
    expectUnchanged(outDir, before);
  });

  it('a checkpoint with a flipped byte', async () => {
    const outDir = await fresh('flipped-ckpt');
    const file = path.join(outDir, TEACHER_CHECKPOINT);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 3] ^= 0x40;
    fs.writeFileSync(file, bytes);
    const before = snapshot(outDir);
    await expect(runTeacher(config, { outDir, resume: true, record: true, ...quiet })).rejects.toThrow(
      `checkpoint ${file}: checksum mismatch: the file is corrupt`,
    );
    expectUnchanged(outDir, before);
  });

  it('a checkpoint of another kind where the teacher checkpoint should be', async () => {
    const outDir = await fresh('other-kind');
    fs.copyFileSync(
      path.resolve(__dirname, '../fixtures/bad-files/truncated.npy'),
      path.join(outDir, TEACHER_CHECKPOINT),
    );
    const before = snapshot(outDir);
    const refused = /teacher\.ckpt: not a checkpoint: the file is corrupt or of another kind/;
    await expect(runTeacher(config, { outDir, resume: true, record: true, ...quiet })).rejects.toThrow(refused);
    expectUnchanged(outDir, before);
  });

  it('a recording whose header is corrupt', async () => {
    const outDir = await fresh('corrupt-recording');
    const file = path.join(outDir, RECORDING_FILE);
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace('"format":"phased-dmd-recording"', '"format":"phased-dmd-rec0rding"'));
    const before = snapshot(outDir);
    const err = await runTeacher(config, { outDir, resume: true, record: true, ...quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordingError);
    expect((err as Error).message).toBe(
      `recording ${file}, line 1: not a phased-dmd-recording file: header.format expected "phased-dmd-recording", ` +
        `got "phased-dmd-rec0rding"`,
    );
    expectUnchanged(outDir, before);
  });

  it('a distillation progress checkpoint cut short', async () => {
    const outDir = path.join(dir, 'distill-cut');
    const teacherDir = await fresh('distill-teacher');
    const cfg = {
      method: 'dmd',
      teacher: path.join(teacherDir, TEACHER_CHECKPOINT),
      iterations: 6,
      batchSize: 8,
      updateRatio: 1,
      checkpointEvery: 2,
    };
    const r = await runDistill(cfg, { outDir, record: true, ...quiet });
    r.experts.forEach((e) => e.expert.dispose());
    r.teacher.dispose();
    const file = path.join(outDir, PROGRESS_CHECKPOINT);
    fs.truncateSync(file, fs.statSync(file).size - 9);
    const before = snapshot(outDir);
    const err = await runDistill(cfg, { outDir, resume: true, record: true, ...quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResumeError);
    const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const cut =
      `cannot resume: checkpoint ${escaped}: truncated or padded: ` +
      'the tensors cover \\d+ bytes of data, the file holds \\d+';
    expect((err as Error).message).toMatch(new RegExp(cut));
    expectUnchanged(outDir, before);
  });
});

test(
  'temp files of atomic writes a killed process left behind are removed on resume, those of a live writer ' + 'are not',
  () => {
    const d = fs.mkdtempSync(path.join(dir, 'temps-'));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    const stale = `.teacher.ckpt.${dead}.1700000000000.tmp`;
    const live = `.teacher.ckpt.${process.pid}.1700000000000.tmp`;
    for (const f of [stale, live, 'teacher.ckpt', 'notes.tmp']) fs.writeFileSync(path.join(d, f), 'x');
    expect(removeStaleTemps(d)).toEqual([stale]);
    expect(fs.readdirSync(d).sort()).toEqual([live, 'notes.tmp', 'teacher.ckpt'].sort());
  },
);

test('the command line reports bad input in one line, exit code 1, no stack trace, nothing written', () => {
  const root = path.resolve(__dirname, '../..');
  const cases = [
    ['run', 'spec/fixtures/bad-configs/schedule-overlap.json'],
    ['run', 'spec/fixtures/bad-configs/npy-truncated.json'],
  ];
  for (const [cmd, file] of cases) {
    const out = path.join(dir, `cli-${path.basename(file, '.json')}`);
    const r = spawnSync(
      process.execPath,
      [path.join(root, 'bin/phased-dmd.js'), cmd, file, '--out', out, '--no-report'],
      { cwd: root, encoding: 'utf8', timeout: 60000 },
    );
    expect({ file, status: r.status }).toEqual({ file, status: 1 });
    expect(r.stderr).toMatch(/^phased-dmd: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(out) ? fs.readdirSync(out) : []).toEqual([]);
  }
}, 120000);
