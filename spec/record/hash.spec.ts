/**
 * Config identity: the canonical hash, and `sameRunConfig`, which recognises a stored config
 * whose teacher path was written from another place (a run directory moved, copied, or reached
 * by another path) and nothing else.
 */
import * as path from 'path';
import { canonicalJson, configHash, sameRunConfig } from '../../lib/record/hash';

describe('canonicalJson / configHash', () => {
  it('ignores key order and undefined fields, not values', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: undefined } })).toBe('{"a":{"d":2},"b":1}');
    expect(configHash({ a: 1, b: 2 })).toBe(configHash({ b: 2, a: 1 }));
    expect(configHash({ a: 1 })).not.toBe(configHash({ a: 1.0000001 }));
  });
});

describe('sameRunConfig', () => {
  const run = path.resolve('/runs/now/sweep');
  const teacher = path.join(run, 'teachers', '0123abcd', 'teacher.ckpt');
  const current = { method: 'sgts', iterations: 64, teacher };

  it('is true for the same config, as written', () => {
    expect(sameRunConfig({ ...current }, current, run)).toBe(true);
  });

  it('is true when the stored teacher path was absolute elsewhere or relative to another directory', () => {
    for (const then of [
      '/old/place/sweep/teachers/0123abcd/teacher.ckpt',
      'runs/sweep/teachers/0123abcd/teacher.ckpt',
      'teachers/0123abcd/teacher.ckpt',
      'C:\\runs\\sweep\\teachers\\0123abcd\\teacher.ckpt',
    ])
      expect(sameRunConfig({ ...current, teacher: then }, current, run)).toBe(true);
    // the current path itself may be relative to this process's directory
    const relative = path.relative(process.cwd(), teacher);
    expect(
      sameRunConfig(
        { ...current, teacher: 'x/teachers/0123abcd/teacher.ckpt' },
        { ...current, teacher: relative },
        run,
      ),
    ).toBe(true);
  });

  it('is false when another teacher is named, or any other field differs', () => {
    expect(sameRunConfig({ ...current, teacher: '/old/sweep/teachers/99999999/teacher.ckpt' }, current, run)).toBe(
      false,
    );
    expect(sameRunConfig({ ...current, teacher: '/old/sweep/teachers/0123abcd/other.ckpt' }, current, run)).toBe(false);
    expect(
      sameRunConfig({ ...current, teacher: '/old/sweep/teachers/0123abcd/teacher.ckpt', iterations: 65 }, current, run),
    ).toBe(false);
  });

  it('matches a teacher outside the run directory only as written', () => {
    const outside = { ...current, teacher: '/models/teacher.ckpt' };
    expect(sameRunConfig({ ...outside }, outside, run)).toBe(true);
    expect(sameRunConfig({ ...outside, teacher: '/elsewhere/models/teacher.ckpt' }, outside, run)).toBe(false);
  });

  it('is false for configs without a teacher path that differ', () => {
    expect(sameRunConfig({ steps: 1 }, { steps: 2 }, run)).toBe(false);
    expect(sameRunConfig(null, { steps: 2 }, run)).toBe(false);
  });
});
