/**
 * Chained line checksums: an edit that leaves valid JSON (a loss of 413.66 made 4.13e16),
 * a removed line, or a header change is refused by replay, report and resume with the
 * line number; resume cuts a damaged recording only when asked and says what it dropped;
 * version-1 recordings (no checksums) stay readable, with a warning.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { lastValueFrom, toArray } from 'rxjs';
import { RecordingWriter, makeHeader, EventInput } from '../../lib/record/writer';
import { readRecording, RecordingError, RecordingIssue } from '../../lib/record/reader';
import { replay } from '../../lib/record/replay';
import { summariseRecording } from '../../lib/record/summary';
import { chainSum, checkLine, storedSum } from '../../lib/record/chain';

let dir: string;
let n = 0;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chain-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const config = { method: 'teacher', data: { kind: 'mixture', name: 'ring8' } };
const metrics = (step: number, loss: number): EventInput => ({
  type: 'metrics',
  at: step,
  key: { seed: 3, phase: 0, step },
  role: 'teacher',
  loss,
  gradNorm: 1,
  extras: {},
  ms: 1,
});

/** A recording of metrics with losses 413.66, 412.5, …: line k + 2 holds step k. */
const recording = (steps = 5): string => {
  const file = path.join(dir, `r${n++}.ndjson`);
  const w = RecordingWriter.create(file, makeHeader({ config, seed: 3, kind: 'teacher', backend: 'wasm' }), {
    now: () => 0,
  });
  if (E.isLeft(w)) throw w.left;
  for (let s = 0; s < steps; s++) w.right.append(metrics(s, 413.66 - s * 1.16));
  w.right.close();
  return file;
};

const lines = (file: string): string[] =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
const rewrite = (file: string, edit: (ls: string[]) => string[]): void =>
  fs.writeFileSync(file, `${edit(lines(file)).join('\n')}\n`);
const refusal = (r: E.Either<RecordingError, unknown>): RecordingError => {
  if (E.isRight(r)) throw new Error('expected the recording to be refused');
  return r.left;
};

test('every line, the header included, ends with a sum chained to the line before', () => {
  const file = recording();
  let previous = '';
  for (const l of lines(file)) {
    const c = checkLine(previous, l);
    expect(c.ok).toBe(true);
    expect(storedSum(l)).toBe(chainSum(previous, `${l.slice(0, l.lastIndexOf(',"sum":'))}}`));
    previous = storedSum(l) as string;
  }
});

test('a loss edited to 4.13e16 (still valid JSON) is refused by replay and report, at its line', async () => {
  const file = recording();
  rewrite(file, (ls) => ls.map((l, i) => (i === 3 ? l.replace(/"loss":[0-9.]+/, '"loss":4.13e16') : l)));
  expect(lines(file)[3]).toContain('"loss":4.13e16');
  const report = refusal(summariseRecording(file));
  expect([report.line, report.message]).toEqual([
    4,
    expect.stringMatching(/line 4: checksum mismatch: the line was changed/),
  ]);
  const err = await lastValueFrom(replay(file).pipe(toArray())).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RecordingError);
  expect((err as RecordingError).line).toBe(4);
  // asked to skip, only that line is dropped: the chain goes on from the sum the line carries
  const issues: RecordingIssue[] = [];
  const r = readRecording(file, { skipCorrupt: true, onIssue: (i) => issues.push(i) });
  expect(E.isRight(r) && r.right.events.map((e) => (e.type === 'metrics' ? e.key.step : -1))).toEqual([0, 1, 3, 4]);
  expect(issues.map((i) => [i.line, i.kind])).toEqual([[4, 'corrupt']]);
});

test('a removed line, a line without its sum and an edited header are each refused at their line', () => {
  const removed = recording();
  rewrite(removed, (ls) => ls.filter((_, i) => i !== 2));
  expect(refusal(readRecording(removed)).message).toMatch(/line 3: checksum mismatch/);
  const unsummed = recording();
  rewrite(unsummed, (ls) => ls.map((l, i) => (i === 2 ? l.replace(/,"sum":"[0-9a-f]+"\}$/, '}') : l)));
  expect(refusal(readRecording(unsummed)).message).toMatch(/line 3: no checksum/);
  const header = recording();
  rewrite(header, (ls) => ls.map((l, i) => (i === 0 ? l.replace('"seed":3', '"seed":4') : l)));
  expect(refusal(readRecording(header)).message).toMatch(/line 1: corrupt header: checksum mismatch/);
});

test('a version-1 recording (no checksums) is still read, with a warning that it is unchecked', () => {
  const file = recording();
  rewrite(file, (ls) => ls.map((l) => l.replace(/,"sum":"[0-9a-f]+"\}$/, '}').replace('"version":2', '"version":1')));
  const issues: RecordingIssue[] = [];
  const r = readRecording(file, { onIssue: (i) => issues.push(i) });
  if (E.isLeft(r)) throw r.left;
  expect(r.right.header.version).toBe(1);
  expect(r.right.events).toHaveLength(5);
  expect(issues).toEqual([{ file, line: 1, kind: 'unchecked', message: expect.stringContaining('no checksums') }]);
  // resuming it keeps it version 1: the appended lines carry no sums either
  const w = RecordingWriter.resume(file, { config, phase: 0, step: 5 });
  if (E.isLeft(w)) throw w.left;
  w.right.append(metrics(5, 1));
  w.right.close();
  expect(lines(file).every((l) => !l.includes('"sum"'))).toBe(true);
  expect(E.isRight(readRecording(file, { onIssue: () => undefined }))).toBe(true);
});

describe('resume over a damaged recording', () => {
  const damaged = (): { file: string; before: Buffer } => {
    const file = recording(6);
    rewrite(file, (ls) => ls.map((l, i) => (i === 3 ? l.replace(/"loss":[0-9.]+/, '"loss":4.13e16') : l)));
    return { file, before: fs.readFileSync(file) };
  };

  test('is refused with the line number, and the file is left as it was', () => {
    const { file, before } = damaged();
    const e = refusal(RecordingWriter.resume(file, { config, phase: 0, step: 6 }));
    expect(e.line).toBe(4);
    expect(e.message).toMatch(
      new RegExp(
        /line 4: checksum mismatch.*resume refuses a damaged recording \(cut /.source +
          /it after line 3, its last good line, with --truncate-recording/.source,
      ),
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  test('with truncate, cuts it after the last good line, says what it dropped and records it', () => {
    const { file, before } = damaged();
    const told: string[] = [];
    const w = RecordingWriter.resume(file, { config, phase: 0, step: 2, truncate: true, onDrop: (m) => told.push(m) });
    if (E.isLeft(w)) throw w.left;
    w.right.append(metrics(2, 2));
    w.right.close();
    const droppedBytes = before.length - lines(file).slice(0, 3).join('\n').length - 1;
    expect(told).toEqual([
      `recording ${file}: dropped lines 4–7 (${droppedBytes} bytes) from the first bad line on (line 4: checksum ` +
        `mismatch: the line was changed, or a line before it was removed or reordered, after it was written)`,
    ]);
    const r = readRecording(file, {
      onIssue: () => {
        throw new Error('no issue expected');
      },
    });
    if (E.isLeft(r)) throw r.left;
    expect(r.right.events.map((e) => e.type)).toEqual(['metrics', 'metrics', 'resume', 'metrics']);
    expect(r.right.events[2]).toMatchObject({ type: 'resume', phase: 0, step: 2, droppedLines: 4, droppedBytes });
  });
});
