/**
 * The recording file and the replay source: round trips of every event type, replay at a
 * chosen speed in virtual time (marbles) and instantly, line-atomic appends, torn last
 * lines reported and skipped, corrupt lines and headers refused with their line numbers.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { lastValueFrom, map, take, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { useBackend } from '../../lib/backend';
import { RecordingWriter, makeHeader, encodeEventLine, EventInput } from '../../lib/record/writer';
import { replay, replayValues } from '../../lib/record/replay';
import { readRecording, RecordingError, RecordingIssue } from '../../lib/record/reader';
import { record } from '../../lib/record/record';
import { toHost } from '../../lib/record/tensors';
import type { NoisedBatch, StepMetrics } from '../../lib/stream/types';
import { phaseEnd } from '../../lib/phases/concat';
import { smallMlp } from '../helpers/operators';

let dir: string;
let n = 0;
beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const fresh = (): string => path.join(dir, `r${n++}.ndjson`);
const header = () =>
  makeHeader({ config: { method: 'teacher', data: { kind: 'mixture', name: 'ring8' } }, seed: 3, kind: 'teacher' });

const create = (file: string, options = {}): RecordingWriter => {
  const w = RecordingWriter.create(file, header(), options);
  if (E.isLeft(w)) throw w.left;
  return w.right;
};

const metrics = (step: number, at: number): EventInput => ({
  type: 'metrics',
  at,
  key: { seed: 3, phase: 0, step },
  role: 'teacher',
  loss: step / 7,
  gradNorm: 1 / (step + 3),
  extras: {},
  ms: 1,
});

const writeMetrics = (ats: readonly number[]): string => {
  const file = fresh();
  const w = create(file);
  ats.forEach((at, i) => w.append(metrics(i, at)));
  w.close();
  return file;
};

const collect = <T>(file: string, f: (e: ReturnType<typeof replay>) => import('rxjs').Observable<T>) =>
  lastValueFrom(f(replay(file)).pipe(toArray()));

describe('round trips', () => {
  it('every event type survives encode → file → decode → live, numbers and tensors bit for bit', async () => {
    const file = fresh();
    const w = create(file);
    const x0 = tf.tensor2d([
      [1.5, -0],
      [NaN, 3.4028234663852886e38],
    ]);
    const labels = tf.tensor1d([2, 0], 'int32') as tf.Tensor1D;
    const batch: NoisedBatch = {
      key: { seed: 3, phase: 1, step: 4 },
      x0,
      labels,
      t: tf.tensor1d([0.25, 0.75]) as tf.Tensor1D,
      eps: tf.tensor2d([
        [0.1, 0.2],
        [0.3, 0.4],
      ]),
      xt: tf.tensor2d([
        [1e-45, 2],
        [3, 4],
      ]),
    };
    const m: StepMetrics = {
      key: { seed: 3, phase: 1, step: 4 },
      role: 'fake',
      loss: 0.1 + 0.2,
      gradNorm: null,
      extras: { exitStep: 2, inf: Infinity },
      ms: 1.25,
    };
    const model = smallMlp();
    await lastValueFrom(
      new (await import('rxjs')).Observable<NoisedBatch | StepMetrics | ReturnType<typeof phaseEnd>>((s) => {
        s.next(batch);
        s.next(m);
        s.next(phaseEnd(1, { experts: [{ grid: [1, 0.5], expert: model }] }));
        s.complete();
      }).pipe(record(w, { tap: 'live' }), toArray()),
    );
    w.append({ type: 'checkpoint', phase: 1, step: 5, file: 'x.ckpt' });
    w.append({ type: 'sample', name: 'teacher', phase: 0, step: 5, x: toHost(x0), labels: null, nfe: 4 });
    w.append({ type: 'end', status: 'complete' });
    w.close();

    const before = tf.memory().numTensors;
    const events = await collect(file, (o) => o);
    expect(events.map((e) => e.type)).toEqual(['noisedBatch', 'metrics', 'phaseEnd', 'checkpoint', 'sample', 'end']);
    const live = events[0].value as NoisedBatch;
    for (const k of ['x0', 'labels', 't', 'eps', 'xt'] as const) {
      const a = (batch as unknown as Record<string, tf.Tensor>)[k];
      const b = (live as unknown as Record<string, tf.Tensor>)[k];
      expect([b.dtype, b.shape]).toEqual([a.dtype, a.shape]);
      expect(
        Buffer.from((b.dataSync() as Float32Array).buffer).equals(Buffer.from((a.dataSync() as Float32Array).buffer)),
      ).toBe(true);
    }
    expect(live.key).toEqual(batch.key);
    expect(events[0].tap).toBe('live');
    expect(events[1].value).toEqual(m);
    expect(events[2].value).toEqual({
      phase: 1,
      summary: {
        experts: [
          {
            grid: [1, 0.5],
            expert: { model: 'mlp', parameters: model.params.size, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
          },
        ],
      },
    });
    // the replayed elements own new tensors: x0, labels, t, eps, xt and the sample's x
    expect(tf.memory().numTensors - before).toBe(6);
    [live.x0, live.labels!, live.t, live.eps, live.xt, (events[4].value as { x: tf.Tensor }).x].forEach((t) =>
      t.dispose(),
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x0, labels, batch.t, batch.eps, batch.xt]);
    model.dispose();
  });

  it('the header carries config, hash, seed, backend and versions', () => {
    const file = writeMetrics([0]);
    const r = readRecording(file);
    if (E.isLeft(r)) throw r.left;
    expect(r.right.header).toMatchObject({
      format: 'phased-dmd-recording',
      version: 2,
      seed: 3,
      backend: 'wasm',
      kind: 'teacher',
      config: { method: 'teacher' },
    });
    expect(r.right.header.configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(r.right.header.versions)).toEqual(expect.arrayContaining(['phased-dmd', 'tfjs-core', 'node']));
  });
});

describe('speed', () => {
  const ats = [0, 10, 30, 32];
  const steps = { a: 0, b: 1, c: 2, d: 3 };

  it('replays in recorded time (speed 1), twice as fast (speed 2), and instantly, in virtual time', () => {
    const file = writeMetrics(ats);
    const step = map((e: { value: unknown }) => (e.value as StepMetrics).key.step);
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ expectObservable }) => {
      expectObservable(replay(file, { speed: 1 }).pipe(step)).toBe('a 9ms b 19ms c 1ms (d|)', steps);
      expectObservable(replay(file, { speed: 2 }).pipe(step)).toBe('a 4ms b 9ms c (d|)', { ...steps });
      expectObservable(replay(file, { speed: 0.5 }).pipe(step)).toBe('a 19ms b 39ms c 3ms (d|)', steps);
      expectObservable(replay(file).pipe(step)).toBe('(abcd|)', steps);
    });
  });

  it('times restart after a resume without waiting backwards', () => {
    const file = fresh();
    const w = create(file);
    w.append(metrics(0, 0));
    w.append(metrics(1, 20));
    w.append({ type: 'resume', at: 0, phase: 0, step: 1 });
    w.append(metrics(1, 5));
    w.close();
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ expectObservable }) => {
      expectObservable(replay(file, { speed: 1 }).pipe(map((e) => e.type))).toBe('a 19ms (bc) 1ms (d|)', {
        a: 'metrics',
        b: 'metrics',
        c: 'resume',
        d: 'metrics',
      });
    });
  });

  it('replays with real timers into any consumer, and stops reading when the consumer unsubscribes', async () => {
    const file = writeMetrics([0, 1, 2, 3, 4, 5]);
    const steps = await lastValueFrom(
      replayValues(file, 'metrics', { speed: 100 }).pipe(
        map((m) => m.key.step),
        toArray(),
      ),
    );
    expect(steps).toEqual([0, 1, 2, 3, 4, 5]);
    // a corrupt line after the second event is never read by a consumer that takes two
    fs.appendFileSync(file, 'not json\n');
    expect(
      await lastValueFrom(
        replayValues(file, 'metrics').pipe(
          take(2),
          map((m) => m.loss),
          toArray(),
        ),
      ),
    ).toEqual([0, 1 / 7]);
    await expect(lastValueFrom(replayValues(file, 'metrics'))).rejects.toThrow(/line 8: not valid JSON/);
  });

  it('refuses a speed that is not positive', async () => {
    const file = writeMetrics([0]);
    await expect(lastValueFrom(replay(file, { speed: 0 }))).rejects.toThrow(
      /speed must be a positive number or 'instant', got 0/,
    );
  });
});

describe('faults', () => {
  it('a torn last line (a crash mid-append) is reported with its line number and skipped', async () => {
    const file = writeMetrics([0, 1, 2]);
    const full = encodeEventLine({ ...metrics(3, 3), at: 3 } as never);
    fs.appendFileSync(file, full.slice(0, 40)); // no newline: the write was cut
    const issues: RecordingIssue[] = [];
    const steps = await lastValueFrom(
      replayValues(file, 'metrics', { onIssue: (i) => issues.push(i) }).pipe(
        map((m) => m.key.step),
        toArray(),
      ),
    );
    expect(steps).toEqual([0, 1, 2]);
    expect(issues).toEqual([
      { file, line: 5, kind: 'torn', message: expect.stringContaining('incomplete last line (40 bytes, no newline)') },
    ]);
  });

  it('resuming a recording cuts the torn tail, then appends whole lines after a resume event', () => {
    const file = writeMetrics([0, 1]);
    fs.appendFileSync(file, '{"type":"metrics","at":2,"ke');
    const w = RecordingWriter.resume(file, { config: header().config, phase: 0, step: 1 });
    if (E.isLeft(w)) throw w.left;
    w.right.append(metrics(1, 1));
    w.right.close();
    const r = readRecording(file, {
      onIssue: () => {
        throw new Error('no issue expected');
      },
    });
    if (E.isLeft(r)) throw r.left;
    expect(r.right.events.map((e) => e.type)).toEqual(['metrics', 'metrics', 'resume', 'metrics']);
    expect(r.right.events[2]).toMatchObject({ type: 'resume', phase: 0, step: 1, droppedBytes: 28 });
  });

  it('appends are whole lines: an interleaving of appends from two writers never mixes bytes within a line', () => {
    const file = writeMetrics([]);
    const a = RecordingWriter.resume(file, { config: header().config, phase: 0, step: 0 });
    const b = RecordingWriter.resume(file, { config: header().config, phase: 0, step: 0 });
    if (E.isLeft(a) || E.isLeft(b)) throw new Error('resume failed');
    for (let i = 0; i < 50; i++) (i % 2 === 0 ? a.right : b.right).append(metrics(i, i));
    a.right.close();
    b.right.close();
    const lines = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    expect(lines.map((l) => (JSON.parse(l) as { type: string }).type).filter((t) => t === 'metrics')).toHaveLength(50);
    // each line is whole, but two writers do not share one checksum chain: the reader says where it breaks
    const issues: RecordingIssue[] = [];
    const r = readRecording(file, { skipCorrupt: true, onIssue: (i) => issues.push(i) });
    if (E.isLeft(r)) throw r.left;
    expect(issues.length).toBeGreaterThan(0);
    for (const i of issues) expect(i.message).toMatch(/^checksum mismatch/);
  });

  it('a corrupt line in the middle errors the replay with its line number', async () => {
    const file = writeMetrics([0, 1, 2]);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines[2] = lines[2].replace('"loss":', '"loss":"x",'); // line 3: invalid JSON
    fs.writeFileSync(file, lines.join('\n'));
    const seen: number[] = [];
    await expect(lastValueFrom(replayValues(file, 'metrics').pipe(map((m) => seen.push(m.key.step))))).rejects.toThrow(
      `recording ${file}, line 3: not valid JSON`,
    );
    expect(seen).toEqual([0]);
    const err = await lastValueFrom(replay(file)).catch((e: RecordingError) => e);
    expect(err).toBeInstanceOf(RecordingError);
    expect((err as RecordingError).line).toBe(3);
    // or skipped and reported, when asked
    const issues: RecordingIssue[] = [];
    expect(
      await lastValueFrom(
        replayValues(file, 'metrics', { skipCorrupt: true, onIssue: (i) => issues.push(i) }).pipe(
          map((m) => m.key.step),
          toArray(),
        ),
      ),
    ).toEqual([0, 2]);
    expect(issues.map((i) => [i.line, i.kind])).toEqual([[3, 'corrupt']]);
  });

  it('a line that is JSON but not an event names the line, the event and the field', async () => {
    const file = writeMetrics([0, 1]);
    fs.appendFileSync(
      file,
      `${JSON.stringify({
        type: 'metrics',
        at: 2,
        key: { seed: 3, phase: 0, step: -1 },
        role: 'teacher',
        loss: 1,
        gradNorm: 1,
        extras: {},
        ms: 1,
      })}\n`,
    );
    fs.appendFileSync(
      file,
      `${JSON.stringify({
        type: 'noisedBatch',
        at: 3,
        key: { seed: 3, phase: 0, step: 3 },
        x0: { dtype: 'float32', shape: [2, 2], b64: 'AAAA' },
      })}\n`,
    );
    fs.appendFileSync(file, `${JSON.stringify({ type: 'gossip', at: 4 })}\n`);
    const issues: RecordingIssue[] = [];
    await lastValueFrom(replay(file, { skipCorrupt: true, onIssue: (i) => issues.push(i) }).pipe(toArray()));
    expect(issues.map((i) => i.line)).toEqual([4, 5, 6]);
    expect(issues[0].message).toContain('corrupt metrics event: key.step: expected NonNegativeInt, got -1');
    expect(issues[1].message).toMatch(/x0: expected 16 bytes of float32 for shape \[2, 2\], got 3/);
    expect(issues[1].message).toMatch(/labels: expected/);
    expect(issues[2].message).toMatch(/type: expected one of metrics \| loss \| .*, got "gossip"/);
  });

  it('a corrupt, foreign, torn or missing header refuses the whole file', async () => {
    const refused = async (content: string | null, fragment: string | RegExp) => {
      const file = fresh();
      if (content !== null) fs.writeFileSync(file, content);
      await expect(lastValueFrom(replay(file))).rejects.toThrow(fragment);
      const r = readRecording(file);
      expect(E.isLeft(r) && r.left.message).toMatch(fragment);
    };
    const good = JSON.stringify(header());
    await refused(null, /file not found/);
    await refused('', /empty file: expected a phased-dmd-recording header on line 1/);
    await refused(good.slice(0, 30), /line 1: the header line is incomplete/);
    await refused('{"format": "phased-dmd-recording", \n', /line 1: not valid JSON/);
    await refused(
      '{"hello": 1}\n',
      /not a phased-dmd-recording file: header.format expected "phased-dmd-recording", got undefined/,
    );
    await refused(`${good.replace('"version":2', '"version":7')}\n`, /header.version: expected 1 or 2, got 7/);
    await refused(
      `${good.replace(/"seed":3/, '"seed":"three"')}\n`,
      /corrupt header:\nheader.seed: expected NonNegativeInt, got "three"/,
    );
    await refused('\u0093NUMPY\u0001\u0000garbage\n', /not valid JSON/);
  });

  it('an existing recording is never overwritten by a new one', () => {
    const file = writeMetrics([0]);
    const before = fs.readFileSync(file);
    const w = RecordingWriter.create(file, header());
    expect(E.isLeft(w) && w.left.message).toMatch(/already exists: resume it, or choose another path/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('continuing a recording with another config is refused unless forced', () => {
    const file = writeMetrics([0]);
    const other = { method: 'teacher', data: { kind: 'mixture', name: 'grid25' } };
    const w = RecordingWriter.resume(file, { config: other, phase: 0, step: 1 });
    expect(E.isLeft(w) && w.left.message).toMatch(/config hash mismatch/);
    const forced = RecordingWriter.resume(file, { config: other, phase: 0, step: 1, force: true });
    if (E.isLeft(forced)) throw forced.left;
    forced.right.close();
    const r = readRecording(file);
    expect(E.isRight(r) && r.right.events[1]).toMatchObject({ type: 'resume', forced: true });
  });
});
