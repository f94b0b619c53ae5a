/**
 * The shipped Phased DMD configs: both paper configurations (4 steps /
 * 4 phases, 4 steps / 2 phases with the boundary at shifted t = .833 for S = 5) for ring8
 * and grid25, boundaries as times, SNR and log-SNR; the disjoint re-noising ablation; the
 * LoRA variant. Equal generator budget with the SGTS baseline config. They pin the paper's
 * gradient weight: with the reference form these shift-5, CFG-2 setups lose the modes (docs/results.md).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { decodeOrThrow } from '../../lib/config/report';
import { resolveSchedule, scheduleGrid, ResolvedPhase } from '../../lib/phases/resolve';
import { PhasedSchedule } from '../../lib/phases/segment';
import { DistillConfig, scheduleFor, trainDistill } from '../../lib/distill/distill';
import type { ModelConfig } from '../../lib/models/config';
import { tinyMlp } from '../helpers/phased';

const dir = path.join(__dirname, '../../pipelines/configs');
const load = (name: string): DistillConfig =>
  decodeOrThrow(DistillConfig, JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')), name);
const phasesOf = (name: string): ResolvedPhase[] => resolveSchedule(scheduleFor(load(name)));
const r3 = (xs: readonly number[]) => xs.map((x) => +x.toFixed(3));
/** Everything but the boundary spelling, for comparing configs. */
const shape = (ps: ResolvedPhase[]) =>
  ps.map(({ name: _name, ...p }) => ({
    ...p,
    start: +p.start.toFixed(9),
    end: +p.end.toFixed(9),
    grid: p.grid.map((x) => +x.toFixed(9)),
  }));

describe('shipped phased configs', () => {
  it.each(fs.readdirSync(dir).filter((f) => /^(dmd|sgts|vanilla|phased-4x[24])-(ring8|grid25)/.test(f)))(
    '%s pins the paper gradient: at shift 5 it reproduces the earlier tables, the reference form does not',
    (name) => expect(load(name).gradient).toBe('paper'),
  );

  it.each(['phased-4x2-ring8.json', 'phased-4x2-ring8-disjoint.json', 'phased-4x2-ring8-lora.json'])(
    '%s: 4 steps / 2 phases, boundary t = .833 (grid 1, .938, .833, .625, 0)',
    (name) => {
      const ps = phasesOf(name);
      expect(ps).toHaveLength(2);
      expect(ps.map((p) => p.steps)).toEqual([2, 2]);
      expect(ps[0].end).toBeCloseTo(5 / 6, 12);
      expect(r3(scheduleGrid(ps))).toEqual([1, 0.938, 0.833, 0.625, 0]);
    },
  );

  it('phased-4x2-grid25.json: the same boundary (log-SNR), steps inside each phase evenly spaced at shift 1', () => {
    const ps = phasesOf('phased-4x2-grid25.json');
    expect(ps.map((p) => p.steps)).toEqual([2, 2]);
    expect(ps[0].end).toBeCloseTo(5 / 6, 12);
    // the midpoints of [1, 5/6] and [5/6, 0] in t
    expect(r3(scheduleGrid(ps))).toEqual([1, 0.917, 0.833, 0.417, 0]);
  });

  it.each(['phased-4x4-ring8.json', 'phased-4x4-grid25.json'])('%s: 4 steps / 4 phases, one step each', (name) => {
    const ps = phasesOf(name);
    expect(ps.map((p) => p.steps)).toEqual([1, 1, 1, 1]);
    expect(r3(scheduleGrid(ps))).toEqual([1, 0.938, 0.833, 0.625, 0]);
  });

  it('boundaries given as SNR (ring8) and log-SNR (grid25) resolve to the same phases as the preset in times', () => {
    const ring = load('phased-4x2-ring8.json');
    const boundary = ring.schedule!.phases[0].interval.end;
    expect(boundary).toEqual({ snr: 0.04 });
    expect(load('phased-4x2-grid25.json').schedule!.phases[0].interval.end).toEqual({
      logSnr: expect.closeTo(2 * Math.log(1 / 5), 12),
    });
    const preset = resolveSchedule(
      scheduleFor({ ...ring, schedule: undefined, preset: '4x2', guidance: 2, iterations: 400 } as DistillConfig),
    );
    expect(shape(phasesOf('phased-4x2-ring8.json'))).toEqual(shape(preset));
    const grid = phasesOf('phased-4x2-grid25.json');
    expect(grid.map((p) => +p.end.toFixed(12))).toEqual(preset.map((p) => +p.end.toFixed(12)));
  });

  it('the disjoint ablation differs from the nested config only in the re-noising interval', () => {
    const nested = phasesOf('phased-4x2-ring8.json');
    const disjoint = phasesOf('phased-4x2-ring8-disjoint.json');
    expect(nested.map((p) => p.renoise)).toEqual(['nested', 'nested']);
    expect(disjoint.map((p) => p.renoise)).toEqual(['disjoint', 'disjoint']);
    expect(shape(disjoint).map((p) => ({ ...p, renoise: 'nested' }))).toEqual(shape(nested));
  });

  it(
    'equal budget: every 4-step config trains 400 generator updates in all, as the SGTS baseline; ' +
      'CFG in the real score on ring8, none on grid25 (CFG 3 pushed its samples off the grid)',
    () => {
      const sgts = load('sgts-ring8.json');
      for (const name of [
        'phased-4x2-ring8.json',
        'phased-4x4-ring8.json',
        'phased-4x2-grid25.json',
        'phased-4x4-grid25.json',
      ]) {
        const ps = phasesOf(name);
        expect(ps.reduce((n, p) => n + p.iterations, 0)).toBe(sgts.iterations);
        expect(ps.every((p) => (name.includes('grid25') ? p.guidance === 1 : p.guidance > 1))).toBe(true);
      }
      expect(load('phased-4x2-ring8-lora.json').experts).toEqual({ lora: { rank: 16 } });
    },
  );

  it('a schedule whose SNR boundaries do not meet is refused, naming the phase', () => {
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'phased-4x2-ring8.json'), 'utf8'));
    c.schedule.phases[1].interval.start = { snr: 0.05 };
    expect(() => decodeOrThrow(DistillConfig, c, 'phased-4x2-ring8.json')).toThrow(
      /schedule\.phases\[0\]\.interval\.end: must equal phases\[1\]\.interval\.start.*contiguous/,
    );
    expect(() => scheduleFor({ ...load('phased-4x2-ring8.json'), shift: 3 } as DistillConfig)).toThrow(
      /shift: must equal schedule.shift \(5\)/,
    );
  });

  it(
    'the disjoint ablation trains (a tiny budget: every update runs, losses finite, no tensors left; its draws are ' +
      'specced in losses.spec)',
    async () => {
      await useBackend('wasm');
      const before = tf.memory().numTensors;
      const teacher = tinyMlp(8, 1);
      teacher.params.setTrainable(false);
      const c = load('phased-4x2-ring8-disjoint.json');
      const schedule = decodeOrThrow(PhasedSchedule, {
        ...c.schedule,
        defaults: { ...c.schedule!.defaults, batchSize: 16, updateRatio: 1 },
        phases: c.schedule!.phases.map((p) => ({ ...p, iterations: 2 })),
      });
      const r = await trainDistill(
        { ...c, schedule, logEvery: 1 },
        { teacher: { model: teacher, modelConfig: teacher.config as ModelConfig } },
      );
      expect(r.metrics).toHaveLength(8);
      expect(r.metrics.every((m) => Number.isFinite(m.loss!))).toBe(true);
      r.experts.forEach((e) => e.expert.dispose());
      teacher.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});
