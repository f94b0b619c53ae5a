/**
 * Behaviour does not change when code moves: the pinned teacher + Phased DMD runs give
 * the numbers recorded (spec/fixtures/behaviour/recording.json) before the layers were
 * reorganised. Numbers are compared to a relative 1e-3 (losses) and 1e-4 absolute
 * (samples): native BLAS kernels and plain wasm sum in different orders.
 */
import * as fs from 'fs';
import { recordBehaviour, RECORDING_FIXTURE } from '../fixtures/behaviour/record';

type Line = Record<string, unknown>;

const close = (now: unknown, before: unknown, at: string): void => {
  if (typeof before === 'number' && typeof now === 'number') {
    const tolerance = at.endsWith('.x') || /\.x\.\d+$/.test(at) ? 1e-4 : 1e-3 * Math.abs(before) + 1e-12;
    if (!(Math.abs(now - before) <= tolerance)) throw new Error(`${at}: ${now}, recorded ${before}`);
    return;
  }
  if (Array.isArray(before) && Array.isArray(now)) {
    expect({ at, length: now.length }).toEqual({ at, length: before.length });
    before.forEach((b, i) => close(now[i], b, `${at}.${i}`));
    return;
  }
  if (typeof before === 'object' && before !== null && typeof now === 'object' && now !== null) {
    expect({ at, keys: Object.keys(now).sort() }).toEqual({ at, keys: Object.keys(before).sort() });
    Object.entries(before).forEach(([k, b]) => close((now as Line)[k], b, `${at}.${k}`));
    return;
  }
  expect({ at, value: now }).toEqual({ at, value: before });
};

it('the pinned teacher and Phased DMD runs record the numbers recorded before the move', async () => {
  const before = JSON.parse(fs.readFileSync(RECORDING_FIXTURE, 'utf8')) as { teacher: Line[]; student: Line[] };
  const now = await recordBehaviour();
  expect(before.teacher.filter((l) => l.type === 'metrics').length).toBe(12);
  expect(before.student.filter((l) => l.type === 'sample').length).toBe(2);
  close(now, before, 'recording');
});
