/**
 * The sweep report's paper-shaped table and clip figures: the share of the teacher's
 * diversity (for clips, its motion) each student keeps, seed by seed with an interval, and
 * on the video toy the motion metrics end to end, from a tiny sweep.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { runSweep } from '../../pipelines/sweep';
import { DIVERSITY, keptOf, keptTable, paperTable, sweepClipsSpec, SweepRow } from '../../pipelines/sweepReport';

jest.setTimeout(240000);

beforeAll(async () => {
  await useBackend('wasm');
});

const [displacement, dynamic] = DIVERSITY.video;

const row = (seed: number, method: string, budget: number, meanDisplacement: number): SweepRow => ({
  seed,
  method,
  budget,
  trainingSeconds: null,
  scalars: { meanDisplacement, dynamicDegree: 0.5 },
});

// teacher 1, 2, 1 px/frame; sgts keeps half of it on seeds 0 and 1 and 0.8 on seed 2
const rows: SweepRow[] = [
  row(0, 'teacher', 0, 1),
  row(1, 'teacher', 0, 2),
  row(2, 'teacher', 0, 1),
  row(0, 'sgts', 160, 0.5),
  row(1, 'sgts', 160, 1),
  row(2, 'sgts', 160, 0.8),
  row(0, 'phased-4x4', 160, 1),
  // a seed without a teacher row has no share to keep
  row(3, 'sgts', 160, 5),
];

describe('sweep report: the share of the teacher kept', () => {
  it("is taken seed by seed against that seed's teacher, not as a ratio of means", () => {
    const k = keptOf(rows, 'sgts', 160, displacement);
    expect(k.perSeed).toEqual([0.5, 0.5, 0.8]);
    expect(k.mean).toBeCloseTo(0.6, 12);
    expect(k.lo).toBeGreaterThanOrEqual(0.5 - 1e-12);
    expect(k.hi).toBeLessThanOrEqual(0.8 + 1e-12);
    expect(k.hi).toBeGreaterThan(k.lo);
    // the ratio of seed means would be 0.767 / 1.333 = 0.575
    expect(keptOf(rows, 'phased-4x4', 160, displacement).perSeed).toEqual([1]);
    expect(keptOf(rows, 'sgts', 320, displacement).n).toBe(0);
  });

  it('shapes the table like the paper: a row per model, a value and a share kept per measure', () => {
    const lines = paperTable(rows, ['sgts', 'phased-4x4'], 160, [displacement, dynamic], () => 3);
    expect(lines[0]).toBe(
      '| model | mean displacement | kept (mean displacement) | dynamic degree | kept (dynamic degree) |',
    );
    expect(lines[2]).toMatch(/^\| teacher \| 1\.333 \[[\d.]+, [\d.]+\] \| 1 \| 0\.500 \[0\.500, 0\.500\] \| 1 \|$/);
    // sgts: seeds 0–3 in its mean (seed 3 has no teacher), seeds 0–2 in its share kept
    expect(lines[3]).toMatch(/^\| sgts \| 1\.825 \[[\d.]+, [\d.]+\] \| 0\.600 \[0\.500, 0\.[5-8]\d\d\] \| 0\.500/);
    expect(lines[4]).toMatch(/^\| phased-4x4 \| 1\.000 \| 1\.000 \| 0\.500 \| 1\.000 \|$/);
  });

  it('tabulates the share kept against updates, a dash where a cell is missing', () => {
    const lines = keptTable(rows, ['sgts'], [160, 320], displacement);
    expect(lines[0]).toBe('| method | 160 | 320 |');
    expect(lines[2]).toMatch(/^\| sgts \| 0\.600 \[[\d.]+, [\d.]+\] \| – \|$/);
  });
});

describe('sweep report: clips', () => {
  it("puts a seed's clips side by side: a row per method, the teacher then each budget, the same clips in each", () => {
    const dims = { frames: 3, height: 2, width: 2 };
    const clips = (n: number, v: number) => new Float32Array(n * 3 * 2 * 2).fill(v);
    const spec = sweepClipsSpec(
      'seed 0',
      clips(5, 0),
      [
        { method: 'sgts', cells: [{ budget: 2, values: clips(5, 0.5) }] },
        {
          method: 'phased-4x4',
          cells: [
            { budget: 2, values: clips(5, 1) },
            { budget: 4, values: clips(5, -1) },
          ],
        },
      ],
      dims,
      ['class 0', 'class 1', 'class 0', 'class 1', 'class 0'],
      2,
    ) as {
      vconcat: Array<{ hconcat: Array<{ title: string; data: { values: Array<{ row: string; col: string }> } }> }>;
    };
    expect(spec.vconcat.map((r) => r.hconcat.map((p) => p.title))).toEqual([
      ['teacher (40 steps)', 'sgts, 2 updates'],
      ['teacher (40 steps)', 'phased-4x4, 2 updates', 'phased-4x4, 4 updates'],
    ]);
    // two clips of three frames per panel, each named by its class
    const tiles = spec.vconcat[1].hconcat[2].data.values;
    expect(tiles.map((t) => `${t.row}/${t.col}`)).toEqual([
      '1 (class 0)/f0',
      '1 (class 0)/f1',
      '1 (class 0)/f2',
      '2 (class 1)/f0',
      '2 (class 1)/f1',
      '2 (class 1)/f2',
    ]);
  });
});

describe('sweep report on the video toy', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-video-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('reports the motion kept, the paired motion differences, the curves and the clips', async () => {
    const before = tf.memory().numTensors;
    const r = await runSweep(
      {
        method: 'sweep',
        task: 'video',
        video: { frames: 4, size: 8, sigma: 0.75 },
        seeds: [0, 1],
        methods: ['sgts', 'phased-4x2'],
        budgets: [2, 4],
        model: { kind: 'mlp', hidden: [16], timeEmbedDim: 8 },
        budget: { teacherSteps: 6, teacherBatchSize: 16, batchSize: 8 },
        distill: { updateRatio: 1 },
        samples: 24,
        logEvery: 1000,
      },
      { outDir: out },
    );
    expect(tf.memory().numTensors).toBe(before);
    const results = JSON.parse(fs.readFileSync(r.results, 'utf8')) as { rows: SweepRow[]; problems: string[] };
    expect(results.problems).toEqual([]);
    const report = fs.readFileSync(r.report, 'utf8');
    expect(report).toContain('| model | mean displacement | kept (mean displacement) | dynamic degree |');
    expect(report).toContain('The paper (Wan2.2 video, mean optical flow)');
    expect(report).toContain(
      '| updates | mean displacement (px/frame) | dynamic degree | trajectory FD to teacher (FVD-like) |',
    );
    // the share kept in the table is the one the per-seed rows give
    const share = keptOf(results.rows, 'sgts', 4, displacement);
    expect(share.n).toBe(2);
    const sgtsRow = report.split('\n').find((l) => l.startsWith('| sgts | ') && l.includes('['));
    expect(sgtsRow?.split(' | ')[2]).toContain(share.mean.toFixed(3));
    for (const k of ['meanDisplacement', 'dynamicDegree', 'trajectoryFrechet'])
      expect(fs.existsSync(path.join(out, 'figures', `sweep-${k}.png`))).toBe(true);
    for (const seed of [0, 1]) {
      expect(report).toContain(`(figures/sweep-samples-seed${seed}.png)`);
      expect(fs.statSync(path.join(out, 'figures', `sweep-samples-seed${seed}.png`)).size).toBeGreaterThan(1000);
    }
  });
});
