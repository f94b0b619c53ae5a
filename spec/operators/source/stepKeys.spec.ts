/** stepKeys: the pull source of a training loop. */
import { count, lastValueFrom, map, tap, toArray } from 'rxjs';
import { stepKeys } from '../../../lib/operators/source/stepKeys';
import { key, marbles } from '../../helpers/operators';

describe('stepKeys', () => {
  it('emits steps from … from + count − 1 of a phase, in order, then completes (marble)', () => {
    marbles().run(({ expectObservable }) => {
      expectObservable(stepKeys(7, 2, 5, 3)).toBe('(abc|)', { a: key(5, 7, 2), b: key(6, 7, 2), c: key(7, 7, 2) });
      expectObservable(stepKeys(7, 2, 5, 0)).toBe('|');
      expectObservable(stepKeys(7, 2, 5, -4)).toBe('|');
    });
  });

  it('is pulled: key n + 1 is produced only after step n has finished downstream', async () => {
    const events: string[] = [];
    await lastValueFrom(
      stepKeys(0, 0, 0, 4).pipe(
        tap((k) => events.push(`key ${k.step}`)),
        map((k) => k.step),
        tap((s) => events.push(`done ${s}`)),
        toArray(),
      ),
    );
    expect(events).toEqual(['key 0', 'done 0', 'key 1', 'done 1', 'key 2', 'done 2', 'key 3', 'done 3']);
  });

  it('runs 200 000 steps without recursion or queueing', async () => {
    expect(
      await lastValueFrom(
        stepKeys(0, 0, 0, 200000).pipe(
          map((k) => k.step),
          count(),
        ),
      ),
    ).toBe(200000);
  });
});
