/**
 * The progress of a job of many runs (cli/runsProgress): run labels, one finished bar
 * per run on a terminal, plain lines at most every 10 s elsewhere, the job's ETA against
 * hand-computed values; then the output of a tiny experiment through the command line, as
 * a terminal and as a pipe shows it, with and without --verbose.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { runsProgress, RunsEvent } from '../../cli/runsProgress';
import type { PlannedRun } from '../../lib/stream/runs';
import type { StepMetrics } from '../../lib/stream/types';
import type { Io } from '../../cli/command';
import { main } from '../../cli/main';
import { useBackend } from '../../lib/backend';

const m = (phase: number, step: number, role: string, loss: number | null = null): StepMetrics => ({
  key: { seed: 0, phase, step },
  role,
  loss,
  gradNorm: null,
  extras: {},
  ms: 1,
});

const PLAN: PlannedRun[] = [
  { seed: 0, method: 'teacher', totals: [4] },
  { seed: 0, method: 'dmd', totals: [2] },
  { seed: 0, method: 'phased-4x2', totals: [1, 1] },
];

/**
 * Teacher: 4 steps; dmd: 2 iterations of a fake and a generator update; phased: one iteration per phase; then the end
 * marker.
 */
const job = (): RunsEvent[] => [
  { index: 0, runs: PLAN },
  ...[0, 1, 2, 3].map((s) => m(0, s, 'teacher', s === 0 ? 2.5 : null)),
  { index: 1, runs: PLAN },
  ...[0, 1].flatMap((s) => [m(0, s, 'fake'), m(0, s, 'generator')]),
  { index: 2, runs: PLAN },
  m(0, 0, 'generator'),
  m(1, 0, 'generator'),
  { index: 3, runs: PLAN },
];

/** A clock advancing `step` ms per call; `last` is the time of the latest call. */
const clock = (step: number) => {
  const c = { last: 0, now: () => (c.last += step) };
  return c;
};

/** What a terminal keeps: each line's last redraw. */
const finalLines = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\r\x1b[2K').pop()!);

describe('runsProgress', () => {
  test('terminal: one bar per run, labelled "seed 0 · method (k/n)", left as a finished line', async () => {
    const out: string[] = [];
    const events = job();
    const passed = await lastValueFrom(
      from(events).pipe(
        runsProgress({ write: (t) => out.push(t), tty: true, redrawMs: 0, now: clock(1000).now, columns: 120 }),
        toArray(),
      ),
    );
    expect(passed).toEqual(events);
    expect(finalLines(out.join(''))).toEqual([
      `seed 0 · teacher (1/3) [${'#'.repeat(30)}] 4/4 done in 0:05`,
      `seed 0 · dmd (2/3) [${'#'.repeat(30)}] 2/2 done in 0:05`,
      `seed 0 · phased-4x2 (3/3) [${'#'.repeat(30)}] 2/2 done in 0:03`,
    ]);
    // while it runs: the bar, iterations, the phase of a run of several phases, speed, the job's ETA, the latest losses
    expect(out).toContain(
      `\r\x1b[2Kseed 0 · teacher (1/3) [${'#'.repeat(15)}${'-'.repeat(15)}] 2/4 1.00 it/s · experiment ETA >0:02 · ` +
        `teacher=2.500`,
    );
    expect(out.some((w) => w.includes('phased-4x2 (3/3)') && w.includes('2/2 phase 2/2'))).toBe(true);
  });

  test(
    'the ETA: the current run at its own pace, later runs at a finished run of their method or the pace of ' +
      'their kind (teacher or student); a lower bound while a kind is untimed',
    async () => {
      const out: string[] = [];
      await lastValueFrom(
        from(job()).pipe(
          runsProgress({ write: (t) => out.push(t), tty: true, redrawMs: 0, now: clock(1000).now, columns: 200 }),
          toArray(),
        ),
      );
      const etas = out
        .filter((w) => w.includes('ETA'))
        .map((w) => w.replace(/^.*?\((\d)\/3\).* (\d+\/\d+).*ETA (\S+).*$/s, '$1 $2 $3'));
      // 1 s per call: the teacher starts at 1 s, its step k ends at 2 + k s (1 s/it). At 2/4: 2 s left of it;
      // no student has been timed, and a teacher step prices no student iteration: at least 2 s.
      expect(etas[1]).toBe('1 2/4 >0:02');
      // dmd starts at 6 s (the teacher's 1.25 s/it prices no student). Its first iteration ends at 7 s: 1 s/it,
      // 1 left (1 s), phased (2 iterations) at the running student's 1 s/it = 2 s: 3 s → 0:03.
      expect(etas[4]).toBe('2 1/2 0:03');
      // in phased, dmd's finished run (5 s) prices nothing: no dmd run is left
      expect(etas[etas.length - 1]).toBe('3 2/2 0:00');
    },
  );

  test('pipe: plain lines, at most one per 10 s, no bars or carriage returns', async () => {
    const out: Array<{ at: number; text: string }> = [];
    const c = clock(3000);
    const long: RunsEvent[] = [
      { index: 0, runs: [{ seed: 2, method: 'sgts', totals: [30] }] },
      ...Array.from({ length: 30 }, (_, s) => m(0, s, 'generator')),
    ];
    await lastValueFrom(
      from(long).pipe(
        runsProgress({ write: (text) => out.push({ at: c.last, text }), tty: false, now: c.now }),
        toArray(),
      ),
    );
    expect(out.length).toBeGreaterThan(3);
    expect(out.every((o) => /^seed 2 · sgts \(1\/1\) \d+\/30 .*experiment ETA \S+\n$/.test(o.text))).toBe(true);
    for (let i = 1; i < out.length; i++) expect(out[i].at - out[i - 1].at).toBeGreaterThanOrEqual(10_000);
    expect(out.map((o) => o.text).join('')).not.toMatch(/[\r[]/);
  });

  test(
    'runs skipped over (reused from an earlier job) are listed as such on a terminal, and priced at ' + 'nothing',
    async () => {
      const out: string[] = [];
      const events: RunsEvent[] = [
        { index: 1, runs: PLAN },
        m(0, 0, 'generator'),
        m(0, 1, 'generator'),
        { index: 3, runs: PLAN },
      ];
      await lastValueFrom(
        from(events).pipe(
          runsProgress({ write: (t) => out.push(t), tty: true, redrawMs: 0, now: clock(1000).now, columns: 120 }),
          toArray(),
        ),
      );
      expect(finalLines(out.join(''))).toEqual([
        'seed 0 · teacher (1/3) reused from an earlier run',
        `seed 0 · dmd (2/3) [${'#'.repeat(30)}] 2/2 done in 0:03`,
        'seed 0 · phased-4x2 (3/3) reused from an earlier run',
      ]);
    },
  );
});

describe('a tiny experiment on the command line', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-progress-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const config = path.join(tmp, 'tiny.json');
  // metrics due at every step: without --verbose none of them may show
  fs.writeFileSync(
    config,
    JSON.stringify({
      method: 'experiment',
      task: 'ring8',
      seeds: [3],
      model: { kind: 'mlp', hidden: [16, 16], timeEmbedDim: 8 },
      // 80 updates: long enough that a phased run is redrawn mid-run (every 100 ms) even on a fast, idle machine
      budget: { teacherSteps: 12, teacherBatchSize: 32, iterations: 80, batchSize: 16 },
      distill: { updateRatio: 1, regression: { weight: 4, warmup: 4 } },
      samples: 48,
      logEvery: 1,
    }),
  );
  const METHODS = ['teacher', 'dmd', 'sgts', 'phased-4x2', 'phased-4x4'];
  const METRIC_LINE = /^phase \d+ step \d+ \w+: loss=/m;

  const run = async (tty: boolean, ...argv: string[]): Promise<{ code: number; err: string; seconds: number }> => {
    let err = '';
    const io: Io = {
      stdout: () => undefined,
      stderr: (t) => void (err += t),
      stderrIsTTY: tty,
      columns: 100,
      interrupted: () => new Promise(() => undefined),
    };
    const started = Date.now();
    const code = await main(['run', config, ...argv], io);
    return { code, err, seconds: (Date.now() - started) / 1000 };
  };

  beforeAll(async () => {
    await useBackend('wasm');
  });

  it(
    'on a terminal: one finished bar per run, in order, no metric lines; a second run shows every run ' + 'reused',
    async () => {
      const out = path.join(tmp, 'tty');
      const r = await run(true, '--out', out);
      expect(r.code).toBe(0);
      expect(r.err).not.toMatch(METRIC_LINE);
      const bars = finalLines(r.err).filter((l) => l.startsWith('seed 3 · '));
      expect(bars).toEqual(
        METHODS.map((method, k) =>
          expect.stringMatching(
            new RegExp(`^seed 3 · ${method} \\(${k + 1}/5\\) \\[#{30}\\] (12/12|80/80) done in \\d+:\\d\\d$`),
          ),
        ),
      );
      // while running, the bars carried the experiment's ETA (while only the teacher has run, a lower bound: no
      // student is timed yet) and the phase of the phased runs, counted from 1
      expect(r.err).toMatch(/seed 3 · teacher \(1\/5\) \[[#-]+\] \d+\/12 .*experiment ETA >\d+:\d\d/);
      expect(r.err).toMatch(/seed 3 · sgts \(3\/5\) \[[#-]+\] \d+\/80 .*experiment ETA \d+:\d\d/);
      expect(r.err).toMatch(/seed 3 · phased-4x4 \(5\/5\) \[[#-]+\] \d+\/80 phase [1-4]\/4 /);
      expect(r.err).not.toMatch(/phase 0/);
      expect(r.err.match(/^kernels: /gm)).toHaveLength(1);

      const again = await run(true, '--out', out);
      expect(finalLines(again.err).filter((l) => l.startsWith('seed 3 · '))).toEqual(
        METHODS.map((method, k) => `seed 3 · ${method} (${k + 1}/5) reused from an earlier run`),
      );
    },
  );

  it(
    'in a pipe: plain lines, progress at most every 10 s, no metric lines; --verbose adds them, phases ' + 'from 1',
    async () => {
      const r = await run(false, '--out', path.join(tmp, 'pipe'));
      expect(r.code).toBe(0);
      expect(r.err).not.toMatch(/[\r\x1b]/);
      expect(r.err).not.toMatch(METRIC_LINE);
      const progressLines = r.err.split('\n').filter((l) => / \(\d\/5\) /.test(l));
      expect(progressLines.length).toBeGreaterThanOrEqual(1); // the first step prints one
      expect(progressLines.length).toBeLessThanOrEqual(1 + Math.floor(r.seconds / 10));
      expect(r.err.split('\n')[0]).toMatch(/^kernels: (wasm \+ native OpenBLAS|stock wasm)/);
      expect(progressLines[0]).toMatch(/^seed 3 · teacher \(1\/5\) \d+\/12 .*experiment ETA/);
      expect(r.err).toContain('seed 3: distilling sgts (80 generator updates, batch 16)');
      expect(r.err).toMatch(/experiment: done in [\d.]+ s\n$/);

      const verbose = await run(false, '--out', path.join(tmp, 'verbose'), '--verbose');
      expect(verbose.err).toMatch(/^phase 1 step 0 teacher: loss=/m);
      expect(verbose.err).toMatch(/^phase 2 step 0 generator: loss=/m); // phased-4x2's second phase
      expect(verbose.err).not.toMatch(/^phase 0 /m);
    },
  );
});
