/**
 * Phased DMD (4 steps / 2 phases) against DMD with SGTS (4 steps), equal budget, on the
 * 2-D mixtures: class-conditional teachers, CFG in the real score, the
 * same total number of generator updates, batch, learning rates and update ratio for both,
 * over several seeds. Prints one table.
 *
 *   tsx pipelines/compare-phased-sgts.ts [--datasets ring8,grid25] [--seeds 0,1,2]
 *        [--iterations 400] [--batch 256] [--n 2000] [--out runs/compare-phased-sgts]
 *        [--lr 2e-4] [--normaliser paper|dmd2] [--phase1-share 0.5]
 *
 * Teachers are trained once per dataset into <out>/teacher-<name>/teacher.ckpt (reused
 * when present). Metrics per student, on n samples from a fixed evaluation seed:
 *   modes     modes holding ≥ 10 % of their share of high-quality samples (lib/metrics/mixture);
 *   hq %      samples within 3σ of a centre;
 *   spread    within-mode RMS radius of high-quality samples / the data's (1 = the data's
 *             own spread, < 1 = collapsed towards the centres: lost diversity);
 *   label %   samples landing on their own class's centre;
 *   energy    energy distance to n samples of the true mixture (lower = closer).
 * The full paper-style experiment is pipelines/experiment.ts; this script stays focused on the claim.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { MIXTURES, MixtureName, sampleMixture, componentStd } from '../lib/data/mixtures';
import type { GaussianMixture } from '../lib/data/types';
import { modeReport } from '../lib/metrics/mixture';
import { energyDistance } from '../lib/metrics/energy';
import { sampleStudent } from '../lib/distill/student';
import type { VelocityModel } from '../lib/models/types';
import type { ModelConfig } from '../lib/models/config';
import { trainTeacher, loadTeacher, sampleTeacher } from '../lib/teacher/teacher';
import { trainDistill, scheduleFor, DistillConfig } from '../lib/distill/distill';
import type { PhasedSchedule } from '../lib/phases/segment';
import { TEACHER_CHECKPOINT } from '../lib/checkpoint/files';

// ── 1. Settings ──────────────────────────────────────────────────────────────

export interface CompareSettings {
  readonly datasets: readonly MixtureName[];
  readonly seeds: readonly number[];
  /** Total generator updates per student (phased: split evenly over its 2 phases). */
  readonly iterations: number;
  readonly batchSize: number;
  /** Samples per evaluation. */
  readonly n: number;
  readonly outDir: string;
  readonly teacherSteps: number;
  /** Both roles' learning rate (both methods). */
  readonly lr: number;
  /** DMD gradient scale (both methods): the paper's weight or DMD2's mean-absolute normaliser. */
  readonly normaliser: 'paper' | 'dmd2';
  /**
   * Share of the phased student's generator updates spent in phase 1 (0.5 = the preset's even split); the total stays
   * `iterations`.
   */
  readonly phase1Share: number;
}

/** The phased student's schedule: the 4×2 preset with its updates split `share` / 1 − share between the phases. */
export const phasedSchedule = (base: Record<string, unknown>, iterations: number, share: number): PhasedSchedule => {
  const preset = scheduleFor({ ...base, method: 'phased', preset: '4x2', iterations } as DistillConfig);
  const first = Math.max(1, Math.min(iterations - 1, Math.round(share * iterations)));
  return {
    ...preset,
    phases: preset.phases.map((p, k) => ({
      ...p,
      iterations: (k === 0 ? first : iterations - first) as PhasedSchedule['phases'][number]['iterations'],
    })),
  };
};

/** CFG scale of the real score per dataset (chosen from the teachers' own CFG samples: README). */
export const GUIDANCE: Partial<Record<MixtureName, number>> = { ring8: 2, grid25: 3 };

export const METHODS = ['sgts', 'phased'] as const;
export type CompareMethod = (typeof METHODS)[number];

// ── 2. Metrics ───────────────────────────────────────────────────────────────

export interface SampleMetrics {
  readonly modes: number;
  readonly numModes: number;
  readonly hq: number;
  readonly spread: number;
  readonly label: number;
  readonly energy: number;
}

/** Within-mode RMS radius of the high-quality samples (nearest centre, within 3σ), averaged over modes. */
const modeRadius = (x: ArrayLike<number>, mixture: GaussianMixture): number => {
  const sums = mixture.centers.map(() => ({ r2: 0, n: 0 }));
  for (let i = 0; i < x.length / 2; i++) {
    let best = 0;
    let bd = Infinity;
    mixture.centers.forEach((c, k) => {
      const d = (x[2 * i] - c[0]) ** 2 + (x[2 * i + 1] - c[1]) ** 2;
      if (d < bd) [bd, best] = [d, k];
    });
    if (Math.sqrt(bd) <= 3 * componentStd(mixture, best)) {
      sums[best].r2 += bd;
      sums[best].n++;
    }
  }
  const used = sums.filter((s) => s.n >= 5);
  return used.reduce((a, s) => a + Math.sqrt(s.r2 / s.n), 0) / Math.max(1, used.length);
};

/** Metrics of n samples x [n, 2] with their class labels, against the true mixture. */
export const sampleMetrics = (x: Float32Array, labels: Int32Array, name: MixtureName, seed: number): SampleMetrics => {
  const mixture = MIXTURES[name];
  const report = modeReport(x, 2, mixture);
  const n = labels.length;
  const data = sampleMixture(mixture, n, seed);
  const dataX = data.x0.dataSync() as Float32Array;
  const dataRadius = modeRadius(dataX, mixture);
  let onLabel = 0;
  for (let i = 0; i < n; i++) {
    const c = mixture.centers[labels[i]];
    if (Math.hypot(x[2 * i] - c[0], x[2 * i + 1] - c[1]) <= 3 * componentStd(mixture, labels[i])) onLabel++;
  }
  const energy = energyDistance(x, dataX, 2);
  tf.dispose([data.x0, ...(data.labels ? [data.labels] : [])]);
  return {
    modes: report.modesCovered,
    numModes: report.numModes,
    hq: report.highQualityPercent,
    spread: modeRadius(x, mixture) / dataRadius,
    label: (100 * onLabel) / n,
    energy,
  };
};

// ── 3. Runs ──────────────────────────────────────────────────────────────────

interface TeacherHandle {
  readonly model: VelocityModel;
  readonly modelConfig: ModelConfig;
  readonly file: string;
}

const openTeacher = async (name: MixtureName, s: CompareSettings, log: (l: string) => void): Promise<TeacherHandle> => {
  const dir = path.join(s.outDir, `teacher-${name}`);
  const file = path.join(dir, TEACHER_CHECKPOINT);
  if (!fs.existsSync(file)) {
    log(`training the ${name} teacher (${s.teacherSteps} steps) …`);
    const r = await trainTeacher(
      { method: 'teacher', data: { kind: 'mixture', name }, steps: s.teacherSteps, logEvery: 500 },
      { outDir: dir, log },
    );
    r.model.dispose();
  }
  const t = loadTeacher(file);
  if (E.isLeft(t)) throw t.left;
  return { model: t.right.model, modelConfig: t.right.modelConfig, file };
};

export interface RunRow {
  readonly dataset: MixtureName;
  readonly method: CompareMethod | 'teacher';
  readonly seed: number;
  readonly generatorUpdates: number;
  /** Generator updates per phase, e.g. "200/200". */
  readonly split: string;
  readonly nfe: number;
  readonly seconds: number;
  readonly metrics: SampleMetrics;
}

const evalSeed = (seed: number) => 1000 + seed;

export const compare = async (s: CompareSettings, log: (line: string) => void = () => undefined): Promise<RunRow[]> => {
  const rows: RunRow[] = [];
  for (const name of s.datasets) {
    const teacher = await openTeacher(name, s, log);
    const g = GUIDANCE[name];
    {
      const { x, labels } = sampleTeacher(teacher.model, {
        n: s.n,
        seed: evalSeed(0),
        sampler: { steps: 40, guidance: g },
      });
      rows.push({
        dataset: name,
        method: 'teacher',
        seed: 0,
        generatorUpdates: 0,
        split: '–',
        nfe: 80,
        seconds: 0,
        metrics: sampleMetrics(x.dataSync() as Float32Array, labels!.dataSync() as Int32Array, name, evalSeed(0)),
      });
      tf.dispose([x, labels!]);
    }
    for (const seed of s.seeds)
      for (const method of METHODS) {
        const started = performance.now();
        const base = {
          method,
          teacher: teacher.file,
          seed,
          steps: 4,
          iterations: s.iterations,
          batchSize: s.batchSize,
          guidance: g,
          lr: { generator: s.lr, fake: s.lr },
          normaliser: s.normaliser,
          logEvery: 100000,
        };
        const config =
          method === 'phased' && s.phase1Share !== 0.5
            ? { ...base, schedule: phasedSchedule(base, s.iterations, s.phase1Share) }
            : { ...base, preset: '4x2' };
        const r = await trainDistill(config, { teacher });
        const seconds = (performance.now() - started) / 1000;
        const { x, labels } = sampleStudent(r.experts, { n: s.n, seed: evalSeed(seed) });
        const metrics = sampleMetrics(
          x.dataSync() as Float32Array,
          labels!.dataSync() as Int32Array,
          name,
          evalSeed(seed),
        );
        const updates = r.phases.reduce((n, p) => n + p.iterations, 0);
        const nfe = r.experts.reduce((n, e) => n + e.grid.length - 1, 0);
        rows.push({
          dataset: name,
          method,
          seed,
          generatorUpdates: updates,
          split: r.phases.map((p) => p.iterations).join('/'),
          nfe,
          seconds,
          metrics,
        });
        log(`${name} ${method} seed ${seed}: ${JSON.stringify(metrics)} (${seconds.toFixed(0)} s)`);
        tf.dispose([x, labels!]);
        r.experts.forEach((e) => e.expert.dispose());
      }
    teacher.model.dispose();
  }
  return rows;
};

// ── 4. The table ─────────────────────────────────────────────────────────────

const meanStd = (xs: readonly number[], digits: number): string => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
  return xs.length > 1 ? `${m.toFixed(digits)} ± ${sd.toFixed(digits)}` : m.toFixed(digits);
};

export const formatTable = (rows: readonly RunRow[]): string => {
  const out = [
    '| data | method | gen. updates (per phase) | NFE | modes (per seed) | hq % | spread | label % | energy dist. | ' +
      's / run |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const datasets = [...new Set(rows.map((r) => r.dataset))];
  for (const d of datasets)
    for (const method of ['teacher', ...METHODS] as const) {
      const rs = rows.filter((r) => r.dataset === d && r.method === method);
      if (rs.length === 0) continue;
      const m = (f: (x: SampleMetrics) => number, digits: number) =>
        meanStd(
          rs.map((r) => f(r.metrics)),
          digits,
        );
      const name =
        method === 'teacher'
          ? `teacher (40 Euler, CFG ${GUIDANCE[d]})`
          : method === 'phased'
            ? 'Phased DMD 4×2'
            : 'DMD + SGTS';
      const modes = `${rs.map((r) => r.metrics.modes).join(', ')} / ${rs[0].metrics.numModes}`;
      const seconds =
        method === 'teacher'
          ? '–'
          : meanStd(
              rs.map((r) => r.seconds),
              0,
            );
      const cells = [name, rs[0].split, rs[0].nfe, modes, m((x) => x.hq, 1), m((x) => x.spread, 2)];
      out.push(`| ${d} | ${[...cells, m((x) => x.label, 1), m((x) => x.energy, 4), seconds].join(' | ')} |`);
    }
  return out.join('\n');
};

// ── 5. Command line ──────────────────────────────────────────────────────────

const main = async (args: string[]): Promise<void> => {
  const opt = (name: string, fallback: string): string => {
    const i = args.indexOf(`--${name}`);
    return i < 0 ? fallback : args[i + 1];
  };
  const list = (v: string) => v.split(',').filter((x) => x !== '');
  const datasets = list(opt('datasets', 'ring8,grid25'));
  for (const d of datasets)
    if (!(d in MIXTURES)) throw new Error(`--datasets: expected ring8 or grid25, got ${JSON.stringify(d)}`);
  const int = (name: string, fallback: number) => {
    const v = Number(opt(name, String(fallback)));
    if (!Number.isInteger(v) || v <= 0)
      throw new Error(`--${name}: expected a positive integer, got ${JSON.stringify(opt(name, ''))}`);
    return v;
  };
  const settings: CompareSettings = {
    datasets: datasets as MixtureName[],
    seeds: list(opt('seeds', '0,1,2')).map(Number),
    iterations: int('iterations', 400),
    batchSize: int('batch', 256),
    n: int('n', 2000),
    outDir: opt('out', 'runs/compare-phased-sgts'),
    teacherSteps: int('teacher-steps', 3000),
    lr: Number(opt('lr', '2e-4')),
    normaliser: opt('normaliser', 'paper') === 'dmd2' ? 'dmd2' : 'paper',
    phase1Share: Number(opt('phase1-share', '0.5')),
  };
  if (!(settings.phase1Share > 0 && settings.phase1Share < 1))
    throw new Error(`--phase1-share: expected a number in (0, 1), got ${JSON.stringify(opt('phase1-share', ''))}`);
  if (!(settings.lr > 0)) throw new Error(`--lr: expected a positive number, got ${JSON.stringify(opt('lr', ''))}`);
  if (!['paper', 'dmd2'].includes(opt('normaliser', 'paper')))
    throw new Error(`--normaliser: expected paper or dmd2, got ${JSON.stringify(opt('normaliser', ''))}`);
  const { useBackend } = await import('../lib/backend');
  await useBackend('wasm');
  const started = performance.now();
  const rows = await compare(settings, (l) => process.stderr.write(`${l}\n`));
  const minutes = (performance.now() - started) / 60000;
  const table = formatTable(rows);
  process.stdout.write(
    `${table}\n\n${settings.seeds.length} seeds, ${settings.iterations} generator updates × batch ` +
      `${settings.batchSize}, lr ${settings.lr}, normaliser ${settings.normaliser}, phased split ` +
      `${settings.phase1Share} / ${1 - settings.phase1Share}, ${settings.n} samples per evaluation; ` +
      `${minutes.toFixed(1)} min in all\n`,
  );
  fs.mkdirSync(settings.outDir, { recursive: true });
  fs.writeFileSync(path.join(settings.outDir, 'results.json'), JSON.stringify({ settings, rows, minutes }, null, 2));
};

if (require.main === module)
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  });
