import { TestScheduler } from 'rxjs/testing';
import { from, lastValueFrom, toArray, throwError, concat } from 'rxjs';
import { progress } from '../../cli/progress';
import type { StepMetrics } from '../../lib/stream/types';

const m = (phase: number, step: number, role: string, loss: number | null): StepMetrics => ({
  key: { seed: 0, phase, step },
  role,
  loss,
  gradNorm: null,
  extras: {},
  ms: 1,
});

/** Two phases of 4 iterations, fake then generator per iteration; losses due every other iteration. */
const run = (): StepMetrics[] =>
  [0, 1].flatMap((phase) =>
    [0, 1, 2, 3].flatMap((step) => [
      m(phase, step, 'fake', step % 2 === 0 ? 1 + step : null),
      m(phase, step, 'generator', step % 2 === 0 ? 0.5 / (1 + step) : null),
    ]),
  );

/** A clock advancing 250 ms per call. */
const clock = () => {
  let t = 0;
  return () => (t += 250);
};

describe('progress', () => {
  test('passes every element through unchanged (marbles)', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ cold, expectObservable }) => {
      const values = { a: m(0, 0, 'fake', 1), b: m(0, 0, 'generator', 2), c: m(1, 0, 'fake', 3) };
      const src = cold('a-b--c|', values);
      expectObservable(src.pipe(progress({ write: () => undefined, tty: false }))).toBe('a-b--c|', values);
      expectObservable(src.pipe(progress({ write: () => undefined, tty: true, totals: [1, 1] }))).toBe(
        'a-b--c|',
        values,
      );
    });
  });

  test('plain mode: a line per phase start, every interval, and per phase end, with losses and it/s', async () => {
    const out: string[] = [];
    await lastValueFrom(
      from(run()).pipe(
        progress({ write: (t) => out.push(t), tty: false, totals: [4, 4], intervalMs: 1000, now: clock() }),
        toArray(),
      ),
    );
    const lines = out
      .join('')
      .split('\n')
      .filter((l) => l !== '');
    expect(lines[0]).toBe('phase 1/2 0/4');
    expect(lines).toContain('phase 1/2 4/4 fake=3.000 generator=0.1667 2.00 it/s done');
    // the periodic line: the first element ≥ 1000 ms after the phase start (3 iterations in 1 s)
    expect(lines[1]).toBe('phase 1/2 3/4 fake=3.000 generator=0.5000 3.00 it/s ETA 0:00');
    expect(lines).toHaveLength(6);
    expect(lines.filter((l) => l.endsWith('done'))).toHaveLength(2);
    expect(lines.some((l) => l.startsWith('phase 2/2 4/4'))).toBe(true);
    expect(out.join('')).not.toContain('\r');
  });

  test("warm-up updates (role 'regression') are not counted among the phase's iterations", async () => {
    const out: string[] = [];
    const warm = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((step) => m(0, step, 'regression', 0.1));
    await lastValueFrom(
      from([...warm, ...run().slice(0, 8)]).pipe(
        progress({ write: (t) => out.push(t), tty: false, totals: [4], intervalMs: 1e9, now: clock() }),
        toArray(),
      ),
    );
    const lines = out.join('').split('\n');
    expect(lines.some((l) => /\b10\/4\b/.test(l))).toBe(false);
    expect(lines).toContainEqual(expect.stringMatching(/^phase 1\/1 4\/4 .*regression=0\.1000.* done$/));
  });

  test('TTY mode: a bar redrawn in place, one finished line per phase', async () => {
    const out: string[] = [];
    await lastValueFrom(
      from(run()).pipe(
        progress({
          write: (t) => out.push(t),
          tty: true,
          totals: [4, 4],
          redrawMs: 0,
          now: clock(),
          label: 'phased',
          columns: 120,
        }),
        toArray(),
      ),
    );
    const text = out.join('');
    expect(out.every((w) => w.startsWith('\r\x1b[2K'))).toBe(true);
    expect(text).toContain(`phased: [${'#'.repeat(15)}${'-'.repeat(15)}] phase 1/2 2/4`);
    const finished = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\r\x1b[2K').pop());
    expect(finished).toEqual([
      expect.stringMatching(/^phased: \[#{30}\] phase 1\/2 4\/4 fake=3\.000 generator=0\.1667 2\.00 it\/s$/),
      expect.stringMatching(/^phased: \[#{30}\] phase 2\/2 4\/4 /),
    ]);
  });

  test('unknown totals: no bar, no ETA; an error ends the bar line before propagating', async () => {
    const out: string[] = [];
    const failing = concat(
      from(run().slice(0, 3)),
      throwError(() => new Error('boom')),
    );
    await expect(
      lastValueFrom(failing.pipe(progress({ write: (t) => out.push(t), tty: true, redrawMs: 0, now: clock() }))),
    ).rejects.toThrow('boom');
    expect(out.join('')).not.toMatch(/\[[#-]/);
    expect(out.join('')).not.toContain('ETA');
    expect(out[out.length - 1]).toBe('\n');
  });
});
