/**
 * The budget sweep end to end on a tiny 2-D task: every (seed, method, budget) cell is
 * drawn, a single-phase method's cell equals a standalone run of that budget, a rerun
 * reuses every cell, and the report carries the intervals, the paired differences, the
 * convergence check and each seed's samples side by side. A cell killed mid-run continues from
 * its progress checkpoint to the same samples. An image task (Fashion-MNIST made
 * smaller, from synthetic files) runs end to end with its own classifier.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import {
  runSweep,
  resolveSweep,
  budgetSamples,
  budgetDir,
  budgetMarker,
  sweepPlan,
  SWEEP_DEFAULTS,
  type CellMarker,
} from '../../pipelines/sweep';
import { summariseRecording } from '../../lib/record/summary';
import type { StepMetrics } from '../../lib/stream/types';
import { sweepSamplesSpec, sweepImageSamplesSpec } from '../../pipelines/sweepReport';
import { methodDir } from '../../pipelines/experiment';
import { readNpy, npyToFloat32 } from '../../lib/data/npy';
import { loadClassifier } from '../../lib/metrics/classifier';
import { writeSyntheticIdx } from '../helpers/idxImages';

jest.setTimeout(240000);

beforeAll(async () => {
  await useBackend('wasm');
});

const config = {
  method: 'sweep',
  task: 'ring8',
  seeds: [0, 1],
  methods: ['sgts', 'phased-4x2'],
  budgets: [2, 4],
  budget: { teacherSteps: 30, teacherBatchSize: 64, batchSize: 16 },
  samples: 48,
  model: { kind: 'mlp', hidden: [16, 16], timeEmbedDim: 8 },
  distill: { updateRatio: 1 },
  logEvery: 1000,
};

const values = (file: string): number[] => {
  const a = readNpy(file);
  if (E.isLeft(a)) throw a.left;
  return Array.from(npyToFloat32(a.right));
};

describe('sweep', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('draws every cell, reuses them on a rerun, and reports intervals and Phased − SGTS', async () => {
    const lines: string[] = [];
    await runSweep(config, { outDir: out, log: (l) => lines.push(l) });
    for (const seed of [0, 1])
      for (const m of ['sgts', 'phased-4x2'] as const)
        for (const b of [2, 4]) expect(fs.existsSync(budgetSamples(methodDir(out, seed, m), b))).toBe(true);
    const report = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(report).toContain('**phased-4x2 − sgts**, per-seed paired differences');
    expect(report).toMatch(/\| sgts \| [\d.]+ \[[\d.]+, [\d.]+\] \|/);
    expect(report).toContain('convergence criterion (fixed before the runs)');
    expect(report).toContain('gradient reference, generator clip 1');
    expect(fs.existsSync(path.join(out, 'figures', 'sweep-energy.png'))).toBe(true);
    for (const seed of [0, 1]) expect(report).toContain(`(figures/sweep-samples-seed${seed}.png)`);
    const before = values(budgetSamples(methodDir(out, 0, 'sgts'), 2));
    const again: string[] = [];
    await runSweep(config, { outDir: out, log: (l) => again.push(l) });
    expect(again.join('\n')).toContain(
      'reused from an earlier run: seed 0 sgts, seed 0 phased-4x2, seed 1 sgts, seed 1 phased-4x2',
    );
    expect(values(budgetSamples(methodDir(out, 0, 'sgts'), 2))).toEqual(before);

    // a copy of the run directory, reached by a relative path from another directory, reuses every cell too
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-copy-'));
    const cwd = process.cwd();
    try {
      fs.cpSync(out, path.join(parent, 'copy'), { recursive: true });
      process.chdir(parent);
      const copied: string[] = [];
      await runSweep(config, { outDir: 'copy', log: (l) => copied.push(l) });
      expect(copied.join('\n')).toContain(
        'reused from an earlier run: seed 0 sgts, seed 0 phased-4x2, seed 1 sgts, seed 1 phased-4x2',
      );
    } finally {
      process.chdir(cwd);
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  it('an sgts cell sampled mid-run equals a standalone run of that budget', async () => {
    const solo = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-solo-'));
    try {
      await runSweep({ ...config, seeds: [0], methods: ['sgts'], budgets: [2] }, { outDir: solo });
      expect(values(budgetSamples(methodDir(solo, 0, 'sgts'), 2))).toEqual(
        values(budgetSamples(methodDir(out, 0, 'sgts'), 2)),
      );
    } finally {
      fs.rmSync(solo, { recursive: true, force: true });
    }
  });

  it('a killed cell continues from its progress checkpoint, and draws what an uninterrupted sweep draws', async () => {
    // progress checkpoints every 100 generator updates (the distillation default): sgts is one run sampled at
    // 100 and 200; phased-4x2 one run per budget, 50 or 100 updates per phase
    const long = { ...config, seeds: [0], budgets: [100, 200] };
    const whole = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-whole-'));
    const cut = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-cut-'));
    const killAt = (phase: number, step: number) => (m: StepMetrics) => {
      if (m.role === 'generator' && m.key.phase === phase && m.key.step === step) throw new Error('killed');
    };
    try {
      await runSweep(long, { outDir: whole, log: () => undefined });
      // sgts killed at update 150 (after its cell at 100), then phased-4x2 in its 200-update run's second phase
      await expect(runSweep(long, { outDir: cut, onStep: killAt(0, 149), log: () => undefined })).rejects.toThrow(
        'killed',
      );
      const second: string[] = [];
      await expect(runSweep(long, { outDir: cut, onStep: killAt(1, 74), log: (l) => second.push(l) })).rejects.toThrow(
        'killed',
      );
      expect(second).toContain('seed 0: sgts, one run of 200 updates, sampled at 200, resumed at update 100');
      const third: string[] = [];
      await runSweep(long, { outDir: cut, log: (l) => third.push(l) });
      expect(third).toContain('seed 0: phased-4x2, 200 updates, resumed at phase 2 step 0');
      for (const m of ['sgts', 'phased-4x2'] as const)
        for (const b of [100, 200])
          expect(values(budgetSamples(methodDir(cut, 0, m), b))).toEqual(
            values(budgetSamples(methodDir(whole, 0, m), b)),
          );
      // each resumed recording says so and is complete; the progress checkpoints are gone
      const recordings = [
        path.join(methodDir(cut, 0, 'sgts'), 'recording.ndjson'),
        path.join(methodDir(cut, 0, 'phased-4x2'), 'b200.recording.ndjson'),
      ];
      for (const file of recordings) {
        const rec = summariseRecording(file);
        if (E.isLeft(rec)) throw rec.left;
        expect([rec.right.status, rec.right.resumes]).toEqual(['complete', 1]);
      }
      expect(fs.existsSync(path.join(methodDir(cut, 0, 'sgts'), 'last.ckpt'))).toBe(false);
      expect(fs.existsSync(path.join(budgetDir(methodDir(cut, 0, 'phased-4x2'), 200), 'last.ckpt'))).toBe(false);
      expect(fs.existsSync(path.join(budgetDir(methodDir(cut, 0, 'phased-4x2'), 200), 'student.ckpt'))).toBe(true);
      // a resumed cell's training time counts the part before the kill too
      const marker = (dir: string) => JSON.parse(fs.readFileSync(budgetMarker(dir, 200), 'utf8')) as CellMarker;
      expect(marker(methodDir(cut, 0, 'sgts')).trainingSeconds).toBeGreaterThan(0);
    } finally {
      fs.rmSync(whole, { recursive: true, force: true });
      fs.rmSync(cut, { recursive: true, force: true });
    }
  });

  type Panel = { title: string; layer: Array<{ encoding: { x: { scale: { domain: number[] } } } }> };
  it("puts a seed's samples side by side: a row per method, the teacher then each budget, on shared axes", () => {
    const cell = (budget: number, scale: number) => ({ budget, values: Float32Array.from([scale, -scale, 0.5, 0.5]) });
    const spec = sweepSamplesSpec(
      'seed 0',
      Float32Array.from([1, 1, -1, -1]),
      [
        { method: 'sgts', cells: [cell(2, 1), cell(4, 1)] },
        { method: 'phased-4x4', cells: [cell(2, 1), cell(4, 3)] },
      ],
      [[0, 0]],
    ) as { vconcat: Array<{ title: string; hconcat: Panel[] }> };
    expect(spec.vconcat.map((row) => row.title)).toEqual(['sgts', 'phased-4x4']);
    expect(spec.vconcat[0].hconcat.map((p) => p.title)).toEqual(['teacher (40 steps)', '2 updates', '4 updates']);
    // the widest panel (phased at 4 updates, ±3) sets every panel's axes
    const domains = spec.vconcat.flatMap((row) => row.hconcat.map((p) => p.layer[0].encoding.x.scale.domain));
    for (const d of domains) expect(d).toEqual(domains[0]);
    expect(domains[0][0]).toBeLessThan(-3);
    expect(domains[0][1]).toBeGreaterThan(3);
  });

  it("an image sweep's samples: the teacher then each method and budget, a row per class, its first samples", () => {
    // 20 samples of 4×4 images whose value is their index: sample i is of class i mod 10
    const set = (offset: number) => Float32Array.from({ length: 20 * 16 }, (_, j) => offset + Math.floor(j / 16));
    const spec = sweepImageSamplesSpec(
      'seed 0',
      set(0),
      [{ method: 'sgts', cells: [{ budget: 2, values: set(100) }] }],
      4,
    ) as {
      hconcat: Array<{ title: string; data: { values: Array<{ row: string; col: string }> } }>;
    };
    expect(spec.hconcat.map((p) => p.title)).toEqual(['teacher (40 steps)', 'sgts @ 2']);
    // two samples per class exist (20 / 10), so two columns of the four
    const tiles = spec.hconcat[1].data.values;
    expect(tiles).toHaveLength(20);
    expect(tiles.filter((t) => t.row === 'class 3').map((t) => t.col)).toEqual(['1', '2']);
  });

  it('plans a shared teacher once, so the progress display does not wait for teachers that are reused', () => {
    const labels = (c: object) => sweepPlan(resolveSweep(c)).map((p) => `${p.seed} ${p.method}`);
    expect(labels(config).filter((l) => l.endsWith('teacher'))).toEqual(['0 teacher', '1 teacher']);
    expect(labels({ ...config, teacher: { seed: 1 } })).toEqual([
      '0 teacher',
      '0 sgts',
      '0 phased-4x2 @ 2',
      '0 phased-4x2 @ 4',
      '1 sgts',
      '1 phased-4x2 @ 2',
      '1 phased-4x2 @ 4',
    ]);
  });

  it('refuses budgets out of order and budgets a phased method cannot split evenly', () => {
    expect(() => resolveSweep({ ...config, budgets: [4, 2] })).toThrow(
      /budgets.1: expected budgets in ascending order/,
    );
    expect(() => resolveSweep({ ...config, methods: ['phased-4x4'], budgets: [6] })).toThrow(/multiples of 4/);
  });

  it('fashion-mnist, 16×16 (pooled, padded; synthetic files): teacher, students, classifier, metrics', async () => {
    const data = writeSyntheticIdx(path.join(out, 'fashion-idx'), 60, 20);
    const run = path.join(out, 'fashion');
    const before = process.env.FASHION_MNIST_DIR;
    process.env.FASHION_MNIST_DIR = data;
    try {
      await runSweep(
        {
          method: 'sweep',
          task: 'fashion-mnist',
          images: { pool: 2, size: 16 },
          seeds: [0],
          methods: ['sgts'],
          budgets: [2],
          budget: { teacherSteps: 4, teacherBatchSize: 8, batchSize: 4 },
          samples: 20,
          model: { kind: 'unet', width: 4, timeEmbedDim: 8 },
          classifier: { steps: 4, batchSize: 16 },
          distill: { updateRatio: 1 },
          logEvery: 1000,
        },
        { outDir: run, log: () => undefined },
      );
    } finally {
      if (before === undefined) delete process.env.FASHION_MNIST_DIR;
      else process.env.FASHION_MNIST_DIR = before;
    }
    const cell = readNpy(budgetSamples(methodDir(run, 0, 'sgts'), 2));
    if (E.isLeft(cell)) throw cell.left;
    expect(cell.right.shape).toEqual([20, 16, 16, 1]);
    const clf = loadClassifier(path.join(run, 'classifier', 'fashion-mnist-16px-pool2', 'classifier.ckpt'));
    if (E.isLeft(clf)) throw clf.left;
    expect(clf.right.inputShape).toEqual([16, 16, 1]);
    clf.right.dispose();
    const report = fs.readFileSync(path.join(run, 'report.md'), 'utf8');
    expect(report).not.toContain('image metrics left out');
    expect(report).toContain(
      '- data: fashion-mnist images 16×16 (28×28 averaged over 2×2 blocks, then padded with 1 pixel of background ' +
        'each side)',
    );
    expect(report).toMatch(/FD to teacher/);
  });

  it('the defaults resolve: every default budget splits evenly over every default method', () => {
    const r = resolveSweep({ method: 'sweep', task: 'uneven7' });
    expect(r.budgets).toEqual(SWEEP_DEFAULTS.budgets);
    expect(r.methods).toEqual(SWEEP_DEFAULTS.methods);
  });
});
