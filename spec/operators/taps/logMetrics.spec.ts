/** logMetrics: a log line every N steps for metrics that carry numbers; events pass unchanged. */
import { lastValueFrom, of, toArray } from 'rxjs';
import { logMetrics, formatMetrics } from '../../../lib/operators/taps/logMetrics';
import type { StepMetrics } from '../../../lib/stream/types';
import { key, marbles } from '../../helpers/operators';

const metrics = (step: number, loss: number | null = 0.5, extras: Record<string, number> = {}): StepMetrics => ({
  key: key(step, 1, 2),
  role: 'teacher',
  loss,
  gradNorm: loss === null ? null : 1.25,
  extras,
  ms: 3.14159,
});

describe('logMetrics', () => {
  it(
    'formats one line with phase (shown from 1: index 2 reads "phase 3"), step, role, loss, |g|, extras ' + 'and time',
    () => {
      expect(formatMetrics(metrics(10, 0.123456, { mse: 2 }))).toBe(
        'phase 3 step 10 teacher: loss=0.1235 |g|=1.250 mse=2.000 (3.1 ms)',
      );
    },
  );

  it('logs steps that are multiples of `every` and carry numbers', async () => {
    const lines: string[] = [];
    const events = [0, 1, 2, 3, 4, 5, 6].map((s) => metrics(s, s === 4 ? null : 0.5));
    const out = await lastValueFrom(
      of(...events).pipe(
        logMetrics(2, (l) => lines.push(l)),
        toArray(),
      ),
    );
    // due: 0, 2, 4, 6; step 4 has no numbers (metrics not due) so it is skipped
    expect(lines.map((l) => l.split(':')[0])).toEqual([
      'phase 3 step 0 teacher',
      'phase 3 step 2 teacher',
      'phase 3 step 6 teacher',
    ]);
    expect(out).toEqual(events);
    expect(out[3]).toBe(events[3]);
  });

  it('passes events through unchanged, completes and errors with its source (marble)', () => {
    const lines: string[] = [];
    marbles().run(({ cold, expectObservable }) => {
      const values = { a: metrics(0), b: metrics(1), c: metrics(2) };
      expectObservable(cold('a-b-c|', values).pipe(logMetrics(1, (l) => lines.push(l)))).toBe('a-b-c|', values);
      expectObservable(cold('a-#', values, new Error('upstream')).pipe(logMetrics(1, (l) => lines.push(l)))).toBe(
        'a-#',
        values,
        new Error('upstream'),
      );
    });
    expect(lines.length).toBe(4);
  });
});
