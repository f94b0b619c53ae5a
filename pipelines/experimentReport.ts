/**
 * The experiment's report, rebuilt from its recordings alone (no model is trained or
 * sampled): every (seed, method) sample set is read back from its recording, evaluated
 * against the teacher's reference set of that seed (the paper computes its FID/FVD
 * against the base model's own outputs), and aggregated as mean ± std over seeds.
 *
 *   report.md        tables in the paper's form, per-seed numbers, figures, how to rerun
 *   results.json     every number (per seed and aggregated) and the config
 *   figures/         2-D scatter panels side by side / image grids (a row per class,
 *                    columns from several seeds) / clip strips; loss curves per method
 *   samples/seed-<s>/<name>.npy (+ .labels.npy)   every sample set, for external tools
 *
 * The teacher row compares a second teacher sample set (other noise, same labels) with
 * the reference: its distances are the sampling-noise floor of each metric.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { summariseRecording, RecordingSummary, SampleSummary, LossSeries } from '../lib/record/summary';
import { evaluateSamples, Evaluation, SampleSet } from '../lib/metrics/evaluate';
import { frameCentroids, type ClipDims } from '../lib/metrics/motion';
import { frechetDistanceOfSamples } from '../lib/metrics/linalg';
import { loadClassifier, FeatureClassifier } from '../lib/metrics/classifier';
import { MIXTURES } from '../lib/data/mixtures';
import { resolveVideoOptions, VIDEO_DEFAULTS, VideoSettings } from '../lib/data/video';
import { writeNpy } from '../lib/data/npy';
import { writeFileAtomic } from '../lib/util/atomicWrite';
import { writeFigures, VegaLiteSpec } from '../lib/plots/render';
import { scatterSpec } from '../lib/plots/scatter';
import { sampleGridSpec, GridTile } from '../lib/plots/sampleGrid';
import { clipStripSpec } from '../lib/plots/clipStrip';
import { lossCurveSpec, LossPoint } from '../lib/plots/lossCurves';
import {
  decodeExperiment,
  ResolvedExperiment,
  ExperimentMethod,
  EXPERIMENT_FILE,
  RECORDING,
  methodDir,
  teacherDir,
  teacherKey,
  classifierFile,
  describeImages,
  imageSide,
  isImageTask,
  EXPERIMENT_DEFAULTS,
  studentVariantLines,
} from './experiment';

// ── Aggregation ──────────────────────────────────────────────────────────────

export interface MeanStd {
  readonly mean: number;
  /** Sample standard deviation (n − 1 in the denominator); 0 for a single value. */
  readonly std: number;
  /** Finite values aggregated. */
  readonly n: number;
}

/** mean = (1/n) Σ xᵢ, std = √(Σ (xᵢ − mean)² / (n − 1)) over the finite values (NaN when none). */
export const meanStd = (xs: readonly number[]): MeanStd => {
  const v = xs.filter((x) => Number.isFinite(x));
  const n = v.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const std = n === 1 ? 0 : Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { mean, std, n };
};

/** Per method, per metric: mean ± std over the runs (seeds) of that method. */
export const aggregate = (
  runs: ReadonlyArray<{ readonly method: string; readonly scalars: Readonly<Record<string, number>> }>,
): Record<string, Record<string, MeanStd>> => {
  const out: Record<string, Record<string, MeanStd>> = {};
  for (const method of [...new Set(runs.map((r) => r.method))]) {
    const mine = runs.filter((r) => r.method === method);
    const keys = [...new Set(mine.flatMap((r) => Object.keys(r.scalars)))];
    out[method] = Object.fromEntries(keys.map((k) => [k, meanStd(mine.map((r) => r.scalars[k] ?? NaN))]));
  }
  return out;
};

const num = (x: number, digits: number): string => {
  if (!Number.isFinite(x)) return '–';
  if (x !== 0 && (Math.abs(x) < 10 ** -digits || Math.abs(x) >= 1e5)) return x.toExponential(1);
  return x.toFixed(digits);
};

/** "m ± s" (just "m" for a single seed), fixed digits. */
export const formatMeanStd = (m: MeanStd, digits: number): string => {
  if (m.n === 0) return '–';
  const mean = num(m.mean, digits);
  if (m.n === 1) return mean;
  // the std in the mean's notation, so "0.050 ± 0.000" rather than "0.050 ± 2.1e-5"
  return `${mean} ± ${mean.includes('e') ? m.std.toExponential(1) : m.std.toFixed(digits)}`;
};

// ── Metrics of one run ───────────────────────────────────────────────────────

/** One metric column of a results table. */
export interface Column {
  readonly key: string;
  readonly title: string;
  readonly digits: number;
  /** ↑ higher is better / closer to the teacher, ↓ lower is better, '' neither. */
  readonly better: '↑' | '↓' | '';
}

export const COLUMNS: Readonly<Record<'points' | 'images' | 'video', readonly Column[]>> = {
  points: [
    { key: 'modesCovered', title: 'modes covered', digits: 1, better: '↑' },
    { key: 'highQuality', title: 'high quality %', digits: 1, better: '↑' },
    { key: 'energy', title: 'energy dist.', digits: 4, better: '↓' },
    { key: 'mmd2', title: 'MMD²', digits: 4, better: '↓' },
    { key: 'slicedW', title: 'sliced W', digits: 4, better: '↓' },
    { key: 'precision', title: 'precision', digits: 3, better: '↑' },
    { key: 'recall', title: 'recall', digits: 3, better: '↑' },
    { key: 'vendi', title: 'Vendi', digits: 2, better: '↑' },
  ],
  images: [
    { key: 'frechet', title: 'FD to teacher (features)', digits: 2, better: '↓' },
    { key: 'cosine', title: 'pairwise cosine sim. (DINO-like)', digits: 3, better: '↓' },
    { key: 'distance', title: 'pairwise feature dist. (LPIPS-like)', digits: 3, better: '↑' },
    { key: 'classAccuracy', title: 'class accuracy %', digits: 1, better: '↑' },
    { key: 'recall', title: 'recall', digits: 3, better: '↑' },
    { key: 'vendi', title: 'Vendi', digits: 2, better: '↑' },
  ],
  video: [
    { key: 'meanDisplacement', title: 'mean displacement (px/frame)', digits: 3, better: '' },
    { key: 'dynamicDegree', title: 'dynamic degree', digits: 3, better: '' },
    { key: 'trajectoryFrechet', title: 'trajectory FD to teacher (FVD-like)', digits: 3, better: '↓' },
    { key: 'energy', title: 'energy dist. (pixels)', digits: 4, better: '↓' },
    { key: 'vendi', title: 'Vendi', digits: 2, better: '↑' },
  ],
};

export type TaskKind = keyof typeof COLUMNS;

/** Figure pixels per image tile: about 28, a whole multiple of the image side (small images scaled up, unblurred). */
export const tileFor = (side: number): number => side * Math.max(1, Math.round(28 / side));
export const taskKind = (task: ResolvedExperiment['task']): TaskKind =>
  isImageTask(task) ? 'images' : task === 'video' ? 'video' : 'points';

/** The numbers of one evaluation that the tables and the aggregation use. */
export const scalarsOf = (e: Evaluation, extra: Readonly<Record<string, number>> = {}): Record<string, number> => {
  const s: Record<string, number> = { vendi: e.vendi.score, ...extra };
  if (e.mixture) Object.assign(s, { modesCovered: e.mixture.modesCovered, highQuality: e.mixture.highQualityPercent });
  if (e.distances)
    Object.assign(s, {
      energy: e.distances.energy,
      mmd2: e.distances.mmd2,
      slicedW: e.distances.slicedWasserstein,
      ...(e.distances.frechet === null ? {} : { frechet: e.distances.frechet }),
    });
  if (e.knn)
    Object.assign(s, {
      precision: e.knn.precision,
      recall: e.knn.recall,
      density: e.knn.density,
      coverage: e.knn.coverage,
    });
  if (e.diversity) Object.assign(s, { cosine: e.diversity.cosine.mean, distance: e.diversity.distance.mean });
  if (e.classAccuracy !== undefined) s.classAccuracy = 100 * e.classAccuracy;
  if (e.motion)
    Object.assign(s, { meanDisplacement: e.motion.meanDisplacement, dynamicDegree: e.motion.dynamicDegree });
  return s;
};

/**
 * Clip trajectories as features: each clip's intensity centroid per frame (F × 2 values,
 * lib/metrics/motion frameCentroids), a uniform frame at the frame centre. The Fréchet
 * distance between the trajectory Gaussians of two clip sets is this project's FVD
 * stand-in: it compares where objects are and how they move, not pixel noise.
 */
export const trajectoryFeatures = (clips: ArrayLike<number>, dims: ClipDims): Float64Array => {
  const c = frameCentroids(clips, dims);
  const centre = [(dims.height - 1) / 2, (dims.width - 1) / 2];
  return c.map((v, i) => (Number.isNaN(v) ? centre[i % 2] : v));
};

// ── Reading the run ──────────────────────────────────────────────────────────

export const toSet = (s: SampleSummary): SampleSet & { values: Float32Array; labels: Int32Array | null } => ({
  values: s.x.values instanceof Float32Array ? s.x.values : Float32Array.from(s.x.values),
  shape: s.x.shape,
  labels:
    s.labels === null
      ? null
      : s.labels.values instanceof Int32Array
        ? s.labels.values
        : Int32Array.from(s.labels.values),
});

export const read = (file: string, problems: string[]): RecordingSummary | null => {
  if (!fs.existsSync(file)) {
    problems.push(`${file}: missing (that run has not happened yet)`);
    return null;
  }
  const s = summariseRecording(file, {
    onIssue: (i) => problems.push(`${i.file}, line ${i.line}: ${i.message} (skipped)`),
  });
  if (E.isLeft(s)) {
    problems.push(`${file}: ${s.left.message}`);
    return null;
  }
  if (s.right.status !== 'complete')
    problems.push(`${file}: the run is ${s.right.status}${s.right.message ? ` (${s.right.message})` : ''}`);
  return s.right;
};

export const latest = (s: RecordingSummary, name: string): SampleSummary | undefined =>
  [...s.samples].reverse().find((x) => x.name === name);

/** Sum of recorded update times, seconds (training compute, without sampling). */
const trainingSeconds = (s: RecordingSummary): number =>
  s.series.reduce((a, x) => a + x.ms.reduce((b, m) => b + m, 0), 0) / 1000;

export interface RunRow {
  readonly seed: number;
  readonly method: ExperimentMethod;
  readonly nfe: number | null;
  readonly generatorUpdates: number;
  readonly trainingSeconds: number;
  readonly scalars: Record<string, number>;
  readonly evaluation: Evaluation;
}

export interface ExperimentReport {
  readonly report: string;
  readonly results: string;
  readonly files: string[];
  readonly rows: RunRow[];
  readonly aggregate: Record<string, Record<string, MeanStd>>;
  readonly problems: string[];
  readonly markdown: string;
}

const METHOD_TITLES: Readonly<Record<ExperimentMethod, string>> = {
  teacher: 'Teacher (40 Euler steps, CFG)',
  dmd: 'DMD (1 step)',
  vanilla: 'DMD, vanilla few-step (4 steps)',
  sgts: 'DMD + SGTS (4 steps)',
  'phased-4x2': 'Phased DMD (4 steps / 2 phases)',
  'phased-4x4': 'Phased DMD (4 steps / 4 phases)',
};

const videoSettings = (r: ResolvedExperiment): VideoSettings =>
  E.getOrElse(() => VIDEO_DEFAULTS)(resolveVideoOptions(r.data as Partial<VideoSettings>));

// ── Figures ──────────────────────────────────────────────────────────────────

type Sets = Map<number, Map<string, ReturnType<typeof toSet> & { nfe?: number }>>;

const panelTitle = (method: string, nfe?: number): string => `${method}${nfe !== undefined ? ` (${nfe} NFE)` : ''}`;

const sampleFigures = (r: ResolvedExperiment, out: string, sets: Sets): Array<{ file: string; spec: VegaLiteSpec }> => {
  const kind = taskKind(r.task);
  const seeds = r.seeds.filter((s) => sets.has(s));
  const figures: Array<{ file: string; spec: VegaLiteSpec }> = [];
  const panelsOf = (seed: number) =>
    r.methods.flatMap((m) => (sets.get(seed)?.get(m) ? [{ method: m, set: sets.get(seed)!.get(m)! }] : []));
  if (kind === 'points') {
    const centres = MIXTURES[r.task as 'grid25' | 'ring8'].centers;
    for (const seed of seeds.slice(0, 3))
      figures.push({
        file: path.join(out, 'figures', `samples-seed${seed}.png`),
        spec: scatterSpec(
          panelsOf(seed).map((p) => ({
            title: panelTitle(p.method, p.set.nfe),
            points: p.set.values,
            labels: p.set.labels,
          })),
          { title: `${r.task}, seed ${seed}`, centres, maxPoints: 2000, size: 220 },
        ),
      });
  } else if (kind === 'images') {
    // one panel per method, a row per class, columns: the first two samples of that class from each of the first seeds
    const perSeed = 2;
    const methods = r.methods.filter((m) => seeds.some((s) => sets.get(s)?.has(m)));
    const panels = methods.map((m) => {
      const tiles: GridTile[] = [];
      for (const seed of seeds.slice(0, 3)) {
        const set = sets.get(seed)?.get(m);
        if (!set || set.labels === null) continue;
        const [, h, w, c] = set.shape;
        const size = h * w * c;
        const used = new Map<number, number>();
        for (let i = 0; i < set.labels.length; i++) {
          const k = used.get(set.labels[i]) ?? 0;
          if (k >= perSeed) continue;
          used.set(set.labels[i], k + 1);
          tiles.push({
            row: `class ${set.labels[i]}`,
            col: `s${seed}·${k + 1}`,
            image: { height: h, width: w, channels: c, values: set.values.subarray(i * size, (i + 1) * size) },
          });
        }
      }
      tiles.sort(
        (a, b) =>
          a.row.localeCompare(b.row, undefined, { numeric: true }) ||
          a.col.localeCompare(b.col, undefined, { numeric: true }),
      );
      return { title: panelTitle(m, sets.get(seeds[0])?.get(m)?.nfe), tiles };
    });
    figures.push({
      file: path.join(out, 'figures', 'samples.png'),
      spec: sampleGridSpec(panels, {
        title: `${r.task} samples: a row per class, columns s<seed>·<k>`,
        tile: tileFor(imageSide(r) ?? 28),
        colTitle: 'seed · sample',
      }),
    });
  } else {
    const v = videoSettings(r);
    const seed = seeds[0];
    if (seed !== undefined)
      figures.push({
        file: path.join(out, 'figures', 'clips.png'),
        spec: clipStripSpec(
          panelsOf(seed).map((p) => ({
            title: panelTitle(p.method, p.set.nfe),
            clips: p.set.values,
            frames: v.frames,
            height: v.size,
            width: v.size,
            names: p.set.labels === null ? undefined : Array.from(p.set.labels, (l) => `class ${l}`),
          })),
          { title: `video toy, seed ${seed}: a clip per row`, maxClips: Math.max(4, v.classes), tile: 24 },
        ),
      });
  }
  return figures;
};

const lossPointsOf = (series: readonly LossSeries[]): LossPoint[] =>
  series.flatMap((s) =>
    s.step.flatMap((step, i) =>
      s.loss[i] === null || !Number.isFinite(s.loss[i]!)
        ? []
        : [{ phase: s.phase, role: s.role, step, loss: s.loss[i]! }],
    ),
  );

// ── Markdown ─────────────────────────────────────────────────────────────────

const table = (
  r: ResolvedExperiment,
  agg: Record<string, Record<string, MeanStd>>,
  nfe: Map<string, number | null>,
): string[] => {
  const cols = COLUMNS[taskKind(r.task)];
  const header = ['Method', 'NFE', ...cols.map((c) => `${c.title}${c.better ? ` ${c.better}` : ''}`)];
  const rows = r.methods
    .filter((m) => agg[m] !== undefined)
    .map((m) => [
      m === 'teacher' ? `Teacher (40 Euler steps, CFG ${r.guidance})` : METHOD_TITLES[m],
      String(nfe.get(m) ?? '–'),
      ...cols.map((c) => (agg[m][c.key] ? formatMeanStd(agg[m][c.key], c.digits) : '–')),
    ]);
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((x) => `| ${x.join(' | ')} |`),
  ];
};

const perSeedTable = (r: ResolvedExperiment, rows: readonly RunRow[]): string[] => {
  const cols = COLUMNS[taskKind(r.task)];
  const header = ['Seed', 'Method', ...cols.map((c) => c.title), 'training s'];
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const row of rows)
    lines.push(
      `| ${row.seed} | ${row.method} | ${cols.map((c) => num(row.scalars[c.key] ?? NaN, c.digits)).join(' | ')} | ` +
        `${row.trainingSeconds.toFixed(1)} |`,
    );
  return lines;
};

const describeRun = (r: ResolvedExperiment): string[] => [
  `- task: **${r.task}**` +
    (taskKind(r.task) === 'points'
      ? `, condition \`${r.condition}\`` +
        (r.condition === 'group'
          ? ' (each class holds several modes: the analogue of one prompt with many valid images)'
          : '')
      : ''),
  ...(describeImages(r) === null ? [] : [`- data: ${describeImages(r)}`]),
  `- seeds: ${r.seeds.join(', ')}; methods: ${r.methods.join(', ')}`,
  `- model: \`${JSON.stringify(r.model)}\``,
  `- teacher: ` +
    (r.teacher.seed === undefined ? 'one per seed' : `one, trained from seed ${r.teacher.seed}, shared by every seed`) +
    '; ' +
    `${r.budget.teacherSteps} flow-matching steps × batch ${r.budget.teacherBatchSize}; ` +
    `sampled with ${EXPERIMENT_DEFAULTS.teacherSampler.steps} Euler steps, CFG g = ${r.guidance}`,
  `- students: ${r.budget.iterations} generator updates each (equal budget; phased methods split them evenly over ` +
    `their phases) × batch ${r.budget.batchSize}, real score with CFG g = ${r.guidance}; sampled without ` +
    `CFG${Object.keys(r.distill).length > 0 ? `; distillation settings \`${JSON.stringify(r.distill)}\`` : ''}`,
  ...studentVariantLines(r.distill, 'every student row (phasing: the phased rows)'),
  `- evaluation: ${r.samples} samples per method and seed (balanced labels), against ${r.samples} reference samples ` +
    `of the teacher (drawn with that seed, other noise); O(N²) metrics on ${Math.min(r.samples, r.evalPoints)} of them`,
];

const metricNotes = (kind: TaskKind): string[] =>
  kind === 'points'
    ? [
        '- modes covered: modes holding ≥ 10 % of their expected share of samples; high quality: samples within 3σ ' +
          'of a mode (against the true mixture).',
        '- energy distance, MMD² (RBF, pooled median bandwidth), sliced Wasserstein, k-NN precision/recall (k = 5): ' +
          'against the teacher reference set. Vendi: effective number of distinct samples (RBF kernel).',
      ]
    : kind === 'images'
      ? [
          "- FD: Fréchet distance between Gaussian fits of the project classifier's 128-d features of the samples " +
            "and of the teacher's reference samples (the paper's FID against the base model).",
          '- pairwise cosine similarity / feature distance: mean over pairs within a class, then over classes (the ' +
            "paper's DINO / LPIPS diversity measures): lower cosine, higher distance = more diverse.",
          '- class accuracy: share of samples the classifier assigns to the class they were generated for.',
        ]
      : [
          "- mean displacement: mean frame-to-frame movement of the blob's intensity centroid (the paper's " +
            'optical-flow magnitude); dynamic degree: share of clips moving more than the threshold.',
          "- trajectory FD: Fréchet distance between Gaussian fits of the clips' centroid trajectories and the " +
            "teacher reference's (FVD stand-in). Energy distance in pixel space.",
        ];

/** Whether `dir` holds an experiment run (its report is rebuilt by buildExperimentReport, not from one recording). */
export const isExperimentRun = (dir: string): boolean => fs.existsSync(path.join(dir, EXPERIMENT_FILE));

/** Rebuilds report.md, results.json, figures/ and samples/ of the experiment in `runDir` from its recordings. */
export const buildExperimentReport = async (
  runDir: string,
  o: { log?: (l: string) => void; runSeconds?: number } = {},
): Promise<ExperimentReport> => {
  const manifest = path.join(runDir, EXPERIMENT_FILE);
  if (!fs.existsSync(manifest)) throw new Error(`${runDir}: no ${EXPERIMENT_FILE} (not an experiment run directory)`);
  const input: unknown = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  const r = decodeExperiment(input, `experiment config ${manifest}`);
  const kind = taskKind(r.task);
  const problems: string[] = [];
  let classifier: FeatureClassifier | null = null;
  let classifierAccuracy: number | null = null;
  if (kind === 'images') {
    const file = r.classifier.path ?? classifierFile(runDir, r);
    const c = fs.existsSync(file) ? loadClassifier(file) : E.left(new Error(`${file}: missing`));
    if (E.isRight(c)) {
      classifier = c.right;
      classifierAccuracy = c.right.accuracy;
    } else problems.push(`feature classifier: ${c.left.message}; image metrics left out`);
  }
  const clip =
    kind === 'video' ? (({ frames, size }) => ({ frames, height: size, width: size }))(videoSettings(r)) : undefined;
  const options = {
    ...(kind === 'points' ? { mixture: MIXTURES[r.task as 'grid25' | 'ring8'] } : {}),
    ...(classifier ? { classifier } : {}),
    ...(clip ? { clip, motionThreshold: r.motionThreshold } : {}),
    maxPoints: r.evalPoints,
  };

  const rows: RunRow[] = [];
  const sets: Sets = new Map();
  const losses = new Map<string, LossSeries[]>();
  const nfe = new Map<string, number | null>();
  const npyFiles: string[] = [];
  const teacherTraining: Array<{ seed: number; seconds: number }> = [];
  try {
    for (const seed of r.seeds) {
      const mine = new Map<string, ReturnType<typeof toSet> & { nfe?: number }>();
      const trained = read(path.join(teacherDir(runDir, teacherKey(r, seed)), RECORDING), problems);
      // a shared teacher (teacher.seed) was trained once: count it once
      if (trained && (r.teacher.seed === undefined || teacherTraining.length === 0)) {
        teacherTraining.push({ seed, seconds: trainingSeconds(trained) });
        if (!losses.has('teacher')) losses.set('teacher', trained.series);
      }
      const t = read(path.join(methodDir(runDir, seed, 'teacher'), RECORDING), problems);
      const refSummary = t ? latest(t, 'reference') : undefined;
      const teacherSummary = t ? latest(t, 'teacher') : undefined;
      if (!refSummary || !teacherSummary) {
        problems.push(`seed ${seed}: no teacher reference samples; its rows are left out`);
        continue;
      }
      const reference = toSet(refSummary);
      mine.set('reference', reference);
      const evaluate = (method: ExperimentMethod, s: SampleSummary, updates: number, seconds: number): void => {
        const set = toSet(s);
        mine.set(method, { ...set, ...(s.nfe === undefined ? {} : { nfe: s.nfe }) });
        let evaluation: Evaluation;
        let extra: Record<string, number>;
        try {
          evaluation = evaluateSamples(set, reference, { ...options, seed: seed });
          extra = clip
            ? {
                trajectoryFrechet: frechetDistanceOfSamples(
                  trajectoryFeatures(set.values, clip),
                  trajectoryFeatures(reference.values, clip),
                  clip.frames * 2,
                ),
              }
            : {};
        } catch (err) {
          // one failing metric (say a non-converging eigensolver) must not cost the whole report
          problems.push(`seed ${seed} ${method}: evaluation failed (${(err as Error).message}); row left out`);
          return;
        }
        rows.push({
          seed,
          method,
          nfe: s.nfe ?? null,
          generatorUpdates: updates,
          trainingSeconds: seconds,
          scalars: scalarsOf(evaluation, extra),
          evaluation,
        });
        if (!nfe.has(method)) nfe.set(method, s.nfe ?? null);
      };
      if (r.methods.includes('teacher'))
        evaluate('teacher', teacherSummary, 0, trained ? trainingSeconds(trained) : NaN);
      else
        mine.set('teacher', {
          ...toSet(teacherSummary),
          ...(teacherSummary.nfe === undefined ? {} : { nfe: teacherSummary.nfe }),
        });
      for (const method of r.students) {
        const s = read(path.join(methodDir(runDir, seed, method), RECORDING), problems);
        const samples = s ? latest(s, method) : undefined;
        if (!s || !samples) {
          if (s) problems.push(`seed ${seed} ${method}: no evaluation samples recorded`);
          continue;
        }
        const updates = s.series.filter((x) => x.role === 'generator').reduce((a, x) => a + x.step.length, 0);
        if (updates !== r.budget.iterations)
          problems.push(
            `seed ${seed} ${method}: ${updates} generator updates recorded, the budget is ${r.budget.iterations}`,
          );
        evaluate(method, samples, updates, trainingSeconds(s));
        if (!losses.has(method)) losses.set(method, s.series);
      }
      sets.set(seed, mine);
      for (const [name, set] of mine) {
        const base = path.join(runDir, 'samples', `seed-${seed}`, name);
        writeNpy(`${base}.npy`, set.values, set.shape);
        npyFiles.push(`${base}.npy`);
        if (set.labels !== null) {
          writeNpy(`${base}.labels.npy`, set.labels, [set.labels.length]);
          npyFiles.push(`${base}.labels.npy`);
        }
      }
    }
  } finally {
    classifier?.dispose();
  }

  const agg = aggregate(rows);
  const figures = [
    ...sampleFigures(r, runDir, sets),
    ...[...losses].map(([m, series]) => ({
      file: path.join(runDir, 'figures', `losses-${m}.png`),
      spec: lossCurveSpec(lossPointsOf(series), { title: `${m}: losses (seed ${r.seeds[0]})` }),
    })),
  ];
  const figureFiles = figures.length > 0 ? await writeFigures(figures) : [];

  const resultsFile = path.join(runDir, 'results.json');
  const previous = fs.existsSync(resultsFile)
    ? (JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as { runSeconds?: number })
    : {};
  const runSeconds = o.runSeconds ?? previous.runSeconds ?? null;
  const results = {
    task: r.task,
    config: input,
    resolved: r,
    runSeconds,
    teacherTraining,
    classifierAccuracy,
    columns: COLUMNS[kind],
    aggregate: agg,
    runs: rows.map(({ evaluation, ...row }) => ({ ...row, evaluation })),
    problems,
  };
  writeFileAtomic(
    resultsFile,
    `${JSON.stringify(results, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
  );

  const rel = (f: string) => path.relative(runDir, f);
  const seedsDone = new Set(rows.map((x) => x.seed)).size;
  const md = [
    `# Experiment: ${r.task} — the paper's comparison at small scale`,
    '',
    `Rebuilt from the recordings in \`${runDir}\` (no retraining): \`phased-dmd report ${runDir}\`.`,
    '',
    ...describeRun(r),
    ...(runSeconds !== null
      ? [
          `- wall time of the run: ${(runSeconds / 60).toFixed(1)} min (teacher training: ` +
            `${teacherTraining.map((x) => `${x.seconds.toFixed(0)} s`).join(', ') || '–'})`,
        ]
      : []),
    ...(classifierAccuracy !== null
      ? [`- feature classifier: ${(classifierAccuracy * 100).toFixed(2)} % test accuracy (${r.task}, same image size)`]
      : []),
    '',
    `## Results (mean ± std over ${seedsDone} seed${seedsDone === 1 ? '' : 's'})`,
    '',
    ...table(r, agg, nfe),
    '',
    'The teacher row compares a second teacher sample set (other noise, same labels) with the reference: its ' +
      'distances are the noise floor of each metric. Std: sample standard deviation over seeds.',
    '',
    ...metricNotes(kind),
    '',
    ...(problems.length > 0 ? ['## Problems', '', ...problems.map((p) => `- ${p}`), ''] : []),
    '## Per seed',
    '',
    ...perSeedTable(r, rows),
    '',
    '## Figures',
    '',
    ...figureFiles.map((f) => `![${path.basename(f, '.png')}](${rel(f)})`),
    '',
    '## Files',
    '',
    `- \`results.json\`: every number above (per seed and aggregated) and the config`,
    `- \`samples/seed-<s>/<name>.npy\` (+ \`.labels.npy\`): each sample set as float32 [N, ` +
      `${kind === 'images' ? 'H, W, C' : kind === 'video' ? 'F·H·W' : 'D'}]; \`reference\` is the teacher's ` +
      `reference set`,
    `- \`seed-<s>/<method>/recording.ndjson\`: each run's recording (losses, samples); \`teachers/<key>/\`: teacher ` +
      `checkpoints and their training recordings`,
    '',
  ].join('\n');
  const report = path.join(runDir, 'report.md');
  writeFileAtomic(report, md);
  for (const p of problems) o.log?.(`report: ${p}`);
  return {
    report,
    results: resultsFile,
    files: [report, resultsFile, ...figureFiles, ...npyFiles],
    rows,
    aggregate: agg,
    problems,
    markdown: md,
  };
};
