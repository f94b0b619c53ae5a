/**
 * Use (c): a run's report data and figures regenerated from its recording without
 * retraining — loss series per role and phase, sample snapshots, checkpoints, how the
 * run ended — and how resumed attempts are folded into the run as it finally happened.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { runTeacher, RECORDING_FILE } from '../../lib/train/teacher';
import { summariseRecording, effectiveEvents, RecordingSummary } from '../../lib/record/summary';
import { recordingFigures, lossPoints } from '../../lib/record/report';
import { thin } from '../../lib/plots/lossCurves';
import { renderSvgs } from '../../lib/plots/render';
import type { RecordedEvent } from '../../lib/record/events';
import type { StepMetrics } from '../../lib/stream/types';

let dir: string;
let metrics: StepMetrics[];
let summary: RecordingSummary;
beforeAll(async () => {
  await useBackend('wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'summary-'));
  const r = await runTeacher(
    {
      method: 'teacher',
      data: { kind: 'mixture', name: 'ring8' },
      model: { kind: 'mlp', hidden: [16, 16], timeEmbedDim: 8 },
      steps: 40,
      batchSize: 16,
      sampler: { steps: 4 },
    },
    { outDir: dir, record: true, checkpointEvery: 15, snapshots: { n: 64, every: 20 }, log: () => undefined },
  );
  metrics = r.metrics;
  r.model.dispose();
  const before = tf.memory().numTensors;
  const s = summariseRecording(path.join(dir, RECORDING_FILE));
  if (E.isLeft(s)) throw s.left;
  summary = s.right;
  // nothing is trained or even put on the device
  expect(tf.memory().numTensors).toBe(before);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the loss series, snapshots, checkpoints and end of a run come back from its recording', () => {
  expect(summary.status).toBe('complete');
  expect(summary.series).toHaveLength(1);
  const [s] = summary.series;
  expect([s.role, s.phase]).toEqual(['teacher', 0]);
  expect(s.step).toEqual(metrics.map((m) => m.key.step));
  expect(s.loss).toEqual(metrics.map((m) => m.loss));
  expect(s.gradNorm).toEqual(metrics.map((m) => m.gradNorm));
  expect(summary.samples.map((x) => [x.name, x.step, x.x.shape, x.labels?.shape, x.nfe])).toEqual([
    ['teacher', 20, [64, 2], [64], 4],
    ['teacher', 40, [64, 2], [64], 4],
  ]);
  expect(summary.samples[1].x.values.every(Number.isFinite)).toBe(true);
  expect(summary.checkpoints.map((c) => c.step)).toEqual([15, 30, 40]);
  expect(summary.last).toEqual({ phase: 0, step: 40 });
  expect(summary.header.kind).toBe('teacher');
});

test('report figures (loss curves, last samples) are built from the recording alone and render', async () => {
  const figures = recordingFigures(summary);
  const points = lossPoints(summary);
  expect(points.map((p) => p.loss)).toEqual(metrics.map((m) => m.loss));
  expect((figures.lossCurves.data as { values: unknown[] }).values).toEqual(
    thin(points, 400).map((p) => ({ ...p, phase: 'phase 1' })),
  );
  expect(figures.samples).toBeDefined();
  const [svg, scatter] = await renderSvgs([figures.lossCurves, figures.samples!]);
  expect(svg).toMatch(/^<svg/);
  expect(scatter).toMatch(/^<svg/);
}, 60000);

describe('effectiveEvents', () => {
  const at = 0;
  const m = (phase: number, step: number, role = 'generator'): RecordedEvent => ({
    type: 'metrics',
    at,
    key: { seed: 0, phase, step },
    role,
    loss: phase * 100 + step,
    gradNorm: 1,
    extras: {},
    ms: 1,
  });
  it('a resume at (phase, step) supersedes the crashed attempt past that point, and nothing before it', () => {
    const events: RecordedEvent[] = [
      m(0, 0),
      m(0, 1),
      { type: 'phaseEnd', at, phase: 0, summary: {} },
      { type: 'checkpoint', at, phase: 1, step: 0, file: 'c' },
      m(1, 0),
      m(1, 1),
      { type: 'checkpoint', at, phase: 1, step: 2, file: 'c' },
      m(1, 2),
      m(1, 3, 'fake'),
      { type: 'end', at, status: 'failed', message: 'boom' },
      { type: 'resume', at, phase: 1, step: 2 },
      m(1, 2),
      m(1, 3, 'fake'),
      { type: 'phaseEnd', at, phase: 1, summary: {} },
      { type: 'end', at, status: 'complete' },
    ];
    const { events: kept, superseded } = effectiveEvents(events);
    expect(superseded).toBe(3);
    expect(kept.map((e) => (e.type === 'metrics' ? `${e.key.phase}:${e.key.step}` : e.type))).toEqual([
      '0:0',
      '0:1',
      'phaseEnd',
      'checkpoint',
      '1:0',
      '1:1',
      'checkpoint',
      'resume',
      '1:2',
      '1:3',
      'phaseEnd',
      'end',
    ]);
  });
  it('a resume at a phase boundary keeps the finished phase, and one at 0 drops everything before it', () => {
    const boundary = effectiveEvents([
      m(0, 0),
      { type: 'phaseEnd', at, phase: 0, summary: {} },
      m(1, 0),
      { type: 'resume', at, phase: 1, step: 0 },
    ]);
    expect(boundary.events.map((e) => e.type)).toEqual(['metrics', 'phaseEnd', 'resume']);
    const start = effectiveEvents([m(0, 0), m(0, 1), { type: 'resume', at, phase: 0, step: 0 }, m(0, 0)]);
    expect(start.superseded).toBe(2);
  });
});
