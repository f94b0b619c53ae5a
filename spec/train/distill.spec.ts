/**
 * Exact resume of a Phased DMD run (2 phases): SIGKILLed at three seeded random points
 * across both phases and resumed each time (lib/train/distill.ts over the Phased
 * pipeline's progress checkpoints); the student's experts must equal an uninterrupted
 * run's bit for bit, and the recording must hold the uninterrupted run's numbers.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { uniformStream } from '../../lib/random/seed';
import { runTeacher, RECORDING_FILE } from '../../lib/train/teacher';
import { runDistill, STUDENT_CHECKPOINT, PROGRESS_CHECKPOINT } from '../../lib/train/distill';
import { summariseRecording, LossSeries } from '../../lib/record/summary';
import { loadDistillState } from '../../lib/distill/checkpoint';
import { attempt, load, expectSameBits } from './killer';

const PER_PHASE = 20;
const script = path.resolve(__dirname, 'fixtures/train-distill.ts');
/** "step <phase>:<iteration>" → a global generator-update index. */
const positionOf = (line: string): number | null => {
  const m = /^step (\d+):(\d+)$/.exec(line);
  return m === null ? null : Number(m[1]) * PER_PHASE + Number(m[2]);
};

let dir: string;
let config: object;
beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resume-distill-'));
  const teacher = await runTeacher(
    {
      method: 'teacher',
      data: { kind: 'mixture', name: 'ring8' },
      model: { kind: 'mlp', hidden: [16, 16], timeEmbedDim: 8 },
      steps: 60,
      batchSize: 32,
    },
    { outDir: dir, log: () => undefined },
  );
  teacher.model.dispose();
  config = {
    method: 'phased',
    teacher: path.join(dir, 'teacher.ckpt'),
    steps: 2,
    iterations: 2 * PER_PHASE,
    batchSize: 16,
    updateRatio: 2,
    checkpointEvery: 5,
    logEvery: 1000,
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (outDir: string, killAt: number | null) =>
  attempt(script, [path.join(dir, 'config.json'), outDir], positionOf, killAt);

const numbers = (file: string): Array<[string, number, number[], Array<number | null>, Array<number | null>]> => {
  const s = summariseRecording(file, { onIssue: () => undefined });
  if (E.isLeft(s)) throw s.left;
  expect(s.right.status).toBe('complete');
  return s.right.series.map((x: LossSeries) => [x.role, x.phase, x.step, x.loss, x.gradNorm]);
};

test(
  'SIGKILL at three random points across phases, resumed each time: the student equals an uninterrupted run bit ' +
    'for bit',
  async () => {
    const reference = path.join(dir, 'reference');
    expect((await run(reference, null)).code).toBe(0);

    const u = uniformStream(7);
    const total = 2 * PER_PHASE;
    // one kill in each third of the first 70% (the rest is slack: a kill always lands before the run ends)
    const kills = [0, 1, 2].map((i) => Math.floor(((i + u()) / 3) * 0.7 * total) + 3);
    const outDir = path.join(dir, 'killed');
    for (const killAt of kills) {
      const a = await run(outDir, killAt);
      expect({ killAt, signal: a.signal, tail: a.signal === 'SIGKILL' ? '' : a.output.slice(-300) }).toEqual({
        killAt,
        signal: 'SIGKILL',
        tail: '',
      });
      // a kill before the first checkpoint leaves none (the next attempt starts over); any other leaves a whole one
      const file = path.join(outDir, PROGRESS_CHECKPOINT);
      if (fs.existsSync(file) || killAt >= 5) {
        const saved = loadDistillState(file);
        if (E.isLeft(saved)) throw saved.left;
      }
    }
    const last = await run(outDir, null);
    expect(last.code).toBe(0);

    const a = load(path.join(reference, STUDENT_CHECKPOINT));
    const b = load(path.join(outDir, STUDENT_CHECKPOINT));
    expect(expectSameBits(a, b, 'expert0/')).toBeGreaterThan(0);
    expect(expectSameBits(a, b, 'expert1/')).toBeGreaterThan(0);

    const ref = numbers(path.join(reference, RECORDING_FILE));
    expect(ref.map(([role, phase, steps]) => [role, phase, steps.length])).toEqual([
      ['fake', 0, 2 * PER_PHASE],
      ['generator', 0, PER_PHASE],
      ['fake', 1, 2 * PER_PHASE],
      ['generator', 1, PER_PHASE],
    ]);
    expect(numbers(path.join(outDir, RECORDING_FILE))).toEqual(ref);
  },
);

test('an existing run is not overwritten: starting without resume is refused', async () => {
  const outDir = path.join(dir, 'killed');
  const before = fs.readFileSync(path.join(outDir, PROGRESS_CHECKPOINT));
  await expect(runDistill(config, { outDir, log: () => undefined })).rejects.toThrow(
    new RegExp(
      /last\.ckpt already exists: resume that run with --resume \(resume: /.source +
        /true\), or start over with --overwrite \(overwrite: true\)$/.source,
    ),
  );
  expect(fs.readFileSync(path.join(outDir, PROGRESS_CHECKPOINT)).equals(before)).toBe(true);
  // and a finished run (student written, recording complete) is not trained again by a resume
  await expect(runDistill(config, { outDir, resume: true, record: true, log: () => undefined })).rejects.toThrow(
    new RegExp(
      /the run is already complete \(student\.ckpt written, its recording ends "complete"\); /.source +
        /train again with --overwrite \(overwrite: true\)$/.source,
    ),
  );
  expect(fs.readFileSync(path.join(outDir, PROGRESS_CHECKPOINT)).equals(before)).toBe(true);
});

test(
  'the recording names exactly the progress checkpoints written: every checkpointEvery-th update and inner phase ' +
    'ends, none for concurrent phases',
  async () => {
    const checkpoints = async (name: string, extra: object): Promise<Array<[number, number, string]>> => {
      const outDir = path.join(dir, name);
      const r = await runDistill(
        { ...config, iterations: 8, ...extra },
        { outDir, record: true, log: () => undefined },
      );
      r.experts.forEach((e) => e.expert.dispose());
      r.teacher.dispose();
      return fs
        .readFileSync(path.join(outDir, RECORDING_FILE), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; phase: number; step: number; file: string })
        .filter((e) => e.type === 'checkpoint')
        .map((e) => [e.phase, e.step, path.basename(e.file)]);
    };
    // 4 updates per phase, checkpointEvery 3 (phase 0: after 3, phase end; phase 1: after 3), then the student
    const sequential: Array<[number, number, string]> = [
      [0, 3, PROGRESS_CHECKPOINT],
      [1, 0, PROGRESS_CHECKPOINT],
      [1, 3, PROGRESS_CHECKPOINT],
      [1, 4, STUDENT_CHECKPOINT],
    ];
    expect(await checkpoints('sequential', { checkpointEvery: 3 })).toEqual(sequential);
    expect(await checkpoints('concurrent', { checkpointEvery: 3, phasing: 'concurrent' })).toEqual([
      [1, 4, STUDENT_CHECKPOINT],
    ]);
  },
);
