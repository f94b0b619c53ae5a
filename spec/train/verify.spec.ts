/**
 * Use (b): re-execute a training run from its recording's header config and check every
 * recorded loss, gradient norm, extra and phase-end digest is reproduced exactly; a
 * tampered number is found at its update and field.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { runTeacher, RECORDING_FILE } from '../../lib/train/teacher';
import { runDistill } from '../../lib/train/distill';
import { verifyRecording, Divergence, VerifySummary, VerifyFailure } from '../../lib/train/verify';
import { RecordingError } from '../../lib/record/reader';
import { summariseRecording } from '../../lib/record/summary';
import { sealLine, storedSum } from '../../lib/record/chain';

let dir: string;
let teacherRec: string;
let distillRec: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-'));
  const t = await runTeacher(
    {
      method: 'teacher',
      data: { kind: 'mixture', name: 'ring8' },
      model: { kind: 'mlp', hidden: [16, 16], timeEmbedDim: 8 },
      steps: 30,
      batchSize: 16,
    },
    { outDir: path.join(dir, 't'), record: true, checkpointEvery: 10, log: () => undefined },
  );
  t.model.dispose();
  teacherRec = path.join(dir, 't', RECORDING_FILE);
  const d = await runDistill(
    {
      method: 'phased',
      teacher: path.join(dir, 't', 'teacher.ckpt'),
      steps: 2,
      iterations: 8,
      batchSize: 16,
      updateRatio: 2,
      checkpointEvery: 2,
    },
    { outDir: path.join(dir, 'd'), record: true, samples: { n: 16 }, log: () => undefined },
  );
  d.experts.forEach((e) => e.expert.dispose());
  d.teacher.dispose();
  distillRec = path.join(dir, 'd', RECORDING_FILE);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const right = (r: E.Either<VerifyFailure, VerifySummary>): VerifySummary => {
  if (E.isLeft(r)) throw r.left instanceof RecordingError ? r.left : new Error(JSON.stringify(r.left));
  return r.right;
};
const divergence = (r: E.Either<VerifyFailure, VerifySummary>): Divergence => {
  if (E.isRight(r)) throw new Error(`expected a divergence, got ${JSON.stringify(r.right)}`);
  if (r.left instanceof RecordingError) throw r.left;
  return r.left;
};

/**
 * Copies a recording, rewriting line `line` (1-based) with `edit`. With `reseal` (the
 * default) the checksum chain is recomputed from that line on, as a forger would: the
 * checksums then pass and only re-execution can find the change.
 */
const tampered = (
  file: string,
  line: number,
  edit: (event: Record<string, unknown>) => void,
  reseal = true,
): string => {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const event = JSON.parse(lines[line - 1]) as Record<string, unknown>;
  edit(event);
  if (reseal) delete event.sum;
  lines[line - 1] = JSON.stringify(event);
  if (reseal) {
    let previous = line === 1 ? '' : (storedSum(lines[line - 2]) as string);
    for (let i = line - 1; i < lines.length && lines[i] !== ''; i++) {
      const sealed = sealLine(previous, lines[i].replace(/,"sum":"[0-9a-f]{16}"\}$/, '}'));
      lines[i] = sealed.text;
      previous = sealed.sum;
    }
  }
  const out = path.join(
    dir,
    `tampered-${line}-${reseal ? '' : 'unsealed-'}${path.basename(path.dirname(file))}.ndjson`,
  );
  fs.writeFileSync(out, lines.join('\n'));
  return out;
};

/** The next double after x (one ulp up). */
const ulpUp = (x: number): number => {
  const f = new Float64Array([x]);
  new BigInt64Array(f.buffer)[0] += 1n;
  return f[0];
};

const lineOf = (file: string, pred: (e: Record<string, unknown>) => boolean): number =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l !== '' && pred(JSON.parse(l) as Record<string, unknown>)) + 1;

describe('teacher recordings', () => {
  it('re-executes the run and reproduces all 30 updates exactly', async () => {
    expect(right(await verifyRecording(teacherRec))).toEqual({
      file: teacherRec,
      updates: 30,
      phaseEnds: 0,
      complete: true,
      backend: 'wasm',
    });
  });

  it('points at the first update that differs, even by one ulp', async () => {
    const line = lineOf(teacherRec, (e) => e.type === 'metrics' && (e.key as { step: number }).step === 17);
    let original = 0;
    const file = tampered(teacherRec, line, (e) => {
      original = e.loss as number;
      e.loss = ulpUp(original);
    });
    expect(divergence(await verifyRecording(file))).toEqual({
      _tag: 'Divergence',
      file,
      index: 17,
      phase: 0,
      step: 17,
      role: 'teacher',
      field: 'loss',
      recorded: ulpUp(original),
      actual: original,
    });
  });

  it('a changed number whose checksum was not recomputed is refused by the checksum chain, at its line', async () => {
    const line = lineOf(teacherRec, (e) => e.type === 'metrics' && (e.key as { step: number }).step === 17);
    const file = tampered(teacherRec, line, (e) => (e.loss = 4.13e16), false);
    const r = await verifyRecording(file);
    expect(E.isLeft(r) && r.left instanceof RecordingError && [r.left.line, r.left.message]).toEqual([
      line,
      expect.stringContaining('checksum mismatch'),
    ]);
  });

  it('an interrupted recording (torn last line) is verified up to its last update', async () => {
    const lines = fs.readFileSync(teacherRec, 'utf8').split('\n');
    const file = path.join(dir, 'interrupted.ndjson');
    fs.writeFileSync(file, `${lines.slice(0, 13).join('\n')}\n${lines[13].slice(0, 25)}`);
    const issues: string[] = [];
    expect(right(await verifyRecording(file, { onIssue: (i) => issues.push(i.kind) }))).toMatchObject({
      updates: 11,
      complete: false,
    });
    expect(issues).toEqual(['torn']);
  });

  it('refuses a recording made on another backend, and an unreadable one', async () => {
    const other = tampered(teacherRec, 1, (h) => (h.backend = 'cpu'));
    const r = await verifyRecording(other);
    expect(E.isLeft(r) && r.left instanceof RecordingError && r.left.message).toMatch(
      /recorded on the cpu backend, this process runs wasm: exact reproduction needs the same backend/,
    );
    const missing = await verifyRecording(path.join(dir, 'nope.ndjson'));
    expect(E.isLeft(missing) && (missing.left as RecordingError).message).toMatch(/nope\.ndjson: file not found/);
  });
});

describe('distillation recordings', () => {
  it('reproduces every update of both roles and both phase-end expert digests', async () => {
    expect(right(await verifyRecording(distillRec))).toEqual({
      file: distillRec,
      updates: 2 * 4 * 3,
      phaseEnds: 2,
      complete: true,
      backend: 'wasm',
    });
  });

  it("records the student's and the teacher's final samples (same noise) for the figures", () => {
    const s = summariseRecording(distillRec);
    if (E.isLeft(s)) throw s.left;
    expect(s.right.samples.map((x) => [x.name, x.phase, x.step, x.x.shape, x.nfe])).toEqual([
      ['phased', 1, 4, [16, 2], 2],
      ['teacher', 1, 4, [16, 2], 40],
    ]);
    expect(s.right.status).toBe('complete');
  });

  it('a changed extra of a generator update is found by name', async () => {
    const line = lineOf(
      distillRec,
      (e) =>
        e.type === 'metrics' &&
        e.role === 'generator' &&
        (e.key as { phase: number; step: number }).phase === 1 &&
        (e.key as { step: number }).step === 2,
    );
    const file = tampered(distillRec, line, (e) => ((e.extras as Record<string, number>).dmdGradNorm *= 2));
    const d = divergence(await verifyRecording(file));
    expect(d).toMatchObject({
      phase: 1,
      step: 2,
      role: 'generator',
      field: 'extras.dmdGradNorm',
      index: 12 + 2 * 3 + 2,
    });
    expect(d.recorded).toBe(2 * (d.actual as number));
  });

  it("a changed phase-end digest is found at that phase's end", async () => {
    const line = lineOf(distillRec, (e) => e.type === 'phaseEnd' && e.phase === 0);
    const file = tampered(
      distillRec,
      line,
      (e) =>
        ((e.summary as { experts: Array<{ expert: { sha256: string } }> }).experts[0].expert.sha256 = '0'.repeat(64)),
    );
    expect(divergence(await verifyRecording(file))).toMatchObject({ field: 'phaseEnd.summary', index: 12 });
  });
});
