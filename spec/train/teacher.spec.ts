/**
 * Exact resume of a teacher run: the run, in its own process, is SIGKILLed at three
 * seeded random points and resumed each time; its final checkpoint must equal an
 * uninterrupted run's bit for bit (weights and Adam state), its recording must hold the
 * uninterrupted run's losses exactly, and a different config must be refused unless forced.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { uniformStream } from '../../lib/random/seed';
import { runTeacher, TEACHER_CHECKPOINT, RECORDING_FILE } from '../../lib/train/teacher';
import { summariseRecording } from '../../lib/record/summary';
import { ResumeError } from '../../lib/train/errors';
import { loadTeacher } from '../../lib/teacher/teacher';
import { attempt, load, expectSameBits } from './killer';

const STEPS = 240;
const EVERY = 10;
const config = {
  method: 'teacher',
  data: { kind: 'mixture', name: 'ring8' },
  model: { kind: 'mlp', hidden: [16, 16], timeEmbedDim: 8 },
  steps: STEPS,
  batchSize: 16,
  logEvery: 1000,
};
const script = path.resolve(__dirname, 'fixtures/train-teacher.ts');
const stepOf = (line: string): number | null => (/^step (\d+)$/.exec(line) ? Number(line.slice(5)) : null);

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resume-teacher-'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (outDir: string, killAt: number | null) =>
  attempt(script, [path.join(dir, 'config.json'), outDir, String(EVERY)], stepOf, killAt);

const lossesOf = (file: string): Array<[number, number | null, number | null]> => {
  const s = summariseRecording(file, { onIssue: () => undefined });
  if (E.isLeft(s)) throw s.left;
  expect(s.right.status).toBe('complete');
  const [series] = s.right.series;
  return series.step.map((step, i) => [step, series.loss[i], series.gradNorm[i]]);
};

test(
  'SIGKILL at three random points, resumed each time: final weights and Adam state equal an uninterrupted run ' +
    'bit for bit',
  async () => {
    // the reference runs in the same kind of process: wasm kernels inside jest's workers
    // round some matMuls differently from a plain node process (last bits), so bit-exact
    // comparisons stay within one environment
    const reference = path.join(dir, 'reference');
    expect((await run(reference, null)).code).toBe(0);
    const refLosses = lossesOf(path.join(reference, RECORDING_FILE));
    expect(refLosses).toHaveLength(STEPS);

    // three kill points, seeded, one in each third of the first 60% of the run (the rest is
    // slack, so a kill always lands before the run ends, even on a loaded machine)
    const u = uniformStream(20260101);
    const kills = [0, 1, 2].map((i) => Math.floor(((i + u()) / 3) * 0.6 * STEPS) + 5);
    const outDir = path.join(dir, 'killed');
    for (const killAt of kills) {
      const a = await run(outDir, killAt);
      expect({ killAt, signal: a.signal, tail: a.signal === 'SIGKILL' ? '' : a.output.slice(-300) }).toEqual({
        killAt,
        signal: 'SIGKILL',
        tail: '',
      });
      // whatever the kill interrupted, the checkpoint on disk is whole and loadable
      const teacher = loadTeacher(path.join(outDir, TEACHER_CHECKPOINT));
      if (E.isLeft(teacher)) throw teacher.left;
      teacher.right.model.dispose();
    }
    const last = await run(outDir, null);
    expect(last.code).toBe(0);
    expect(last.output).toMatch(/done from \d+/);
    // only the run's own files remain (temp files of writes a kill interrupted are cleared on resume)
    expect(fs.readdirSync(outDir).sort()).toEqual([RECORDING_FILE, TEACHER_CHECKPOINT]);

    const a = load(path.join(reference, TEACHER_CHECKPOINT));
    const b = load(path.join(outDir, TEACHER_CHECKPOINT));
    expect(b.meta.step).toBe(STEPS);
    expect(expectSameBits(a, b, 'teacher/')).toBeGreaterThan(0);
    expect(expectSameBits(a, b, 'opt/teacher/')).toBeGreaterThan(0);

    // the recording, superseded attempts dropped, holds exactly the uninterrupted run's numbers
    const summary = summariseRecording(path.join(outDir, RECORDING_FILE), { onIssue: () => undefined });
    if (E.isLeft(summary)) throw summary.left;
    expect(summary.right.resumes).toBe(3);
    expect(lossesOf(path.join(outDir, RECORDING_FILE))).toEqual(refLosses);
  },
);

test('resuming with a different config is refused unless forced', async () => {
  const outDir = path.join(dir, 'mismatch');
  const short = { ...config, steps: 20 };
  (await runTeacher(short, { outDir, checkpointEvery: EVERY, log: () => undefined })).model.dispose();
  const before = fs.readFileSync(path.join(outDir, TEACHER_CHECKPOINT));
  const longer = { ...config, steps: 30 };
  await expect(runTeacher(longer, { outDir, resume: true, log: () => undefined })).rejects.toThrow(ResumeError);
  await expect(runTeacher(longer, { outDir, resume: true, log: () => undefined })).rejects.toThrow(
    new RegExp(
      /config hash mismatch: .* \(resume anyway with --force \(force: true\), /.source +
        /or start over with --overwrite \(overwrite: true\)\)$/.source,
    ),
  );
  // starting over without resume or overwrite is refused too: nothing is clobbered
  await expect(runTeacher(short, { outDir, log: () => undefined })).rejects.toThrow(
    new RegExp(
      /already exists: resume that run with --resume \(resume: true\), /.source +
        /or start over with --overwrite \(overwrite: true\)$/.source,
    ),
  );
  expect(fs.readFileSync(path.join(outDir, TEACHER_CHECKPOINT)).equals(before)).toBe(true);

  const forced = await runTeacher(longer, {
    outDir,
    resume: true,
    force: true,
    checkpointEvery: EVERY,
    log: () => undefined,
  });
  expect(forced.from).toBe(20);
  expect(forced.metrics.map((m) => m.key.step)).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
  forced.model.dispose();
});
