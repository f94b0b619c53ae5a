/**
 * The sweep's report, rebuilt from its files alone (sample sets and markers), so metrics
 * can be recomputed without retraining:
 *
 *   per (seed, method, budget)  metrics against that seed's teacher reference set
 *   per (method, budget)        the seed mean and its 95 % percentile-bootstrap interval
 *   per budget                  paired differences Phased − SGTS (same seed, same teacher)
 *   convergence                 the criterion fixed in the config, checked per method
 *   paper-shaped table          diversity of teacher, SGTS and Phased at the largest budget
 *                               (motion for clips), and the share of the teacher's each keeps,
 *                               per seed with its interval; that share against updates
 *   figures                     each headline metric against updates, one line per method
 *                               with its interval as a band; 2-D tasks and clips: each seed's
 *                               samples, a row per method, the teacher then every budget
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { evaluateSamples, EvaluateOptions, SampleSet } from '../lib/metrics/evaluate';
import { frechetDistanceOfSamples } from '../lib/metrics/linalg';
import { loadClassifier } from '../lib/metrics/classifier';
import { bootstrapMean, pairedDifference, Interval } from '../lib/metrics/bootstrap';
import { MIXTURES, MixtureName } from '../lib/data/mixtures';
import { readNpy, npyToFloat32, npyToLabels } from '../lib/data/npy';
import { resolveVideoOptions, VIDEO_DEFAULTS, VideoSettings } from '../lib/data/video';
import { writeFileAtomic } from '../lib/util/atomicWrite';
import { writeFigures, VegaLiteSpec } from '../lib/plots/render';
import { scatterDomain, scatterSpec, ScatterPanel } from '../lib/plots/scatter';
import { clipStripSpec, ClipPanel } from '../lib/plots/clipStrip';
import { sampleGridSpec, GridPanel } from '../lib/plots/sampleGrid';
import { RECORDING, classifierFile, describeImages, imageSide, methodDir, studentVariantLines } from './experiment';
import {
  COLUMNS,
  Column,
  latest,
  read,
  scalarsOf,
  taskKind,
  tileFor,
  toSet,
  trajectoryFeatures,
} from './experimentReport';
import {
  SWEEP_FILE,
  ResolvedSweep,
  CellMarker,
  budgetLabels,
  budgetMarker,
  budgetSamples,
  resolveSweep,
} from './sweep';

export interface SweepRow {
  readonly seed: number;
  readonly method: string;
  /** Generator updates (0 for the teacher). */
  readonly budget: number;
  readonly trainingSeconds: number | null;
  readonly scalars: Readonly<Record<string, number>>;
}

export interface CellSummary {
  readonly method: string;
  readonly budget: number;
  readonly metric: string;
  readonly interval: Interval;
}

/** Headline metrics per task kind: plotted, and the paired differences' columns. */
const HEADLINE: Record<'points' | 'images' | 'video', readonly string[]> = {
  points: ['modesCovered', 'highQuality', 'energy', 'recall', 'vendi'],
  images: ['frechet', 'cosine', 'distance', 'vendi', 'classAccuracy'],
  video: ['meanDisplacement', 'dynamicDegree', 'trajectoryFrechet'],
};

/** A diversity measure of the paper-shaped table, and the share of the teacher's that a student keeps. */
export interface DiversityMeasure {
  readonly key: string;
  readonly title: string;
  readonly kept: (student: number, teacher: number) => number;
  readonly what: string;
}

/**
 * The diversity numbers of the paper-shaped table: Vendi for points, pairwise cosine similarity for images; for clips
 * the motion, as the paper's video table measures diversity by mean optical flow.
 */
export const DIVERSITY: Record<'points' | 'images' | 'video', readonly DiversityMeasure[]> = {
  points: [
    {
      key: 'vendi',
      title: 'Vendi',
      kept: (s, t) => s / t,
      what: 'Vendi score (effective number of distinct samples); kept = student / teacher',
    },
  ],
  images: [
    {
      key: 'cosine',
      title: 'cosine sim.',
      kept: (s, t) => (1 - s) / (1 - t),
      what:
        'mean pairwise cosine similarity of classifier features (lower = more diverse); kept = (1 − student) / (1 ' +
        '− teacher)',
    },
  ],
  video: [
    {
      key: 'meanDisplacement',
      title: 'mean displacement',
      kept: (s, t) => s / t,
      what: "mean displacement (px/frame, the blob's centroid); kept = student / teacher",
    },
    {
      key: 'dynamicDegree',
      title: 'dynamic degree',
      kept: (s, t) => s / t,
      what: 'dynamic degree (share of clips that move more than the threshold); kept = student / teacher',
    },
  ],
};

/** The paper's numbers the table is shaped after, quoted under it. */
const PAPER: Record<'points' | 'images' | 'video', string> = {
  points: '',
  images: 'The paper (Wan2.2 T2I, DINO similarity): base .732, SGTS .828 (kept 0.64), Phased .768 (kept 0.87).',
  video: 'The paper (Wan2.2 video, mean optical flow): base 10.26, SGTS 3.23 (kept 0.31), Phased 9.30 (kept 0.91).',
};

const fmt = (x: number, digits: number): string =>
  !Number.isFinite(x)
    ? '–'
    : x !== 0 && (Math.abs(x) < 10 ** -digits || Math.abs(x) >= 1e5)
      ? x.toExponential(1)
      : x.toFixed(digits);
const fmtInterval = (i: Interval, digits: number): string =>
  i.n === 0
    ? '–'
    : i.n === 1
      ? fmt(i.mean, digits)
      : `${fmt(i.mean, digits)} [${fmt(i.lo, digits)}, ${fmt(i.hi, digits)}]`;

const readCell = (
  dir: string,
  budget: number,
): { set: SampleSet & { values: Float32Array }; marker: CellMarker } | null => {
  if (!fs.existsSync(budgetMarker(dir, budget))) return null;
  const x = readNpy(budgetSamples(dir, budget));
  if (E.isLeft(x)) return null;
  const labelsFile = budgetLabels(dir, budget);
  const labels = fs.existsSync(labelsFile)
    ? E.chain((a: Parameters<typeof npyToLabels>[0]) => npyToLabels(a, labelsFile))(readNpy(labelsFile))
    : E.right(null);
  return {
    set: { values: npyToFloat32(x.right), shape: x.right.shape, labels: E.isRight(labels) ? labels.right : null },
    marker: JSON.parse(fs.readFileSync(budgetMarker(dir, budget), 'utf8')) as CellMarker,
  };
};

/** A sample set the rows were computed from: the teacher's own (budget 0) or a cell's. */
export type OnSet = (
  seed: number,
  method: string,
  budget: number,
  values: Float32Array,
  labels: ArrayLike<number> | null,
) => void;

/** Evaluates every finished cell; rows in (seed, method, budget) order. */
export const sweepRows = (runDir: string, s: ResolvedSweep, problems: string[], onSet?: OnSet): SweepRow[] => {
  const r = s.experiment;
  const kind = taskKind(r.task);
  const clip =
    kind === 'video'
      ? (({ frames, size }: VideoSettings) => ({ frames, height: size, width: size }))(
          E.getOrElse(() => VIDEO_DEFAULTS)(resolveVideoOptions(r.data as Partial<VideoSettings>)),
        )
      : undefined;
  const classifier = kind === 'images' ? loadClassifier(r.classifier.path ?? classifierFile(runDir, r)) : null;
  if (classifier !== null && E.isLeft(classifier))
    problems.push(`feature classifier: ${classifier.left.message}; image metrics left out`);
  const options: EvaluateOptions = {
    ...(kind === 'points' ? { mixture: MIXTURES[r.task as MixtureName] } : {}),
    ...(classifier !== null && E.isRight(classifier) ? { classifier: classifier.right } : {}),
    ...(clip ? { clip, motionThreshold: r.motionThreshold } : {}),
    maxPoints: r.evalPoints,
  };
  const rows: SweepRow[] = [];
  try {
    for (const seed of r.seeds) {
      const t = read(path.join(methodDir(runDir, seed, 'teacher'), RECORDING), problems);
      const ref = t ? latest(t, 'reference') : undefined;
      const own = t ? latest(t, 'teacher') : undefined;
      if (!ref || !own) {
        problems.push(`seed ${seed}: no teacher reference samples yet; its rows are left out`);
        continue;
      }
      const reference = toSet(ref);
      const row = (
        method: string,
        budget: number,
        set: SampleSet & { values: Float32Array },
        seconds: number | null,
      ): void => {
        onSet?.(seed, method, budget, set.values, set.labels ?? null);
        try {
          const extra: Record<string, number> = clip
            ? {
                trajectoryFrechet: frechetDistanceOfSamples(
                  trajectoryFeatures(set.values, clip),
                  trajectoryFeatures(reference.values, clip),
                  clip.frames * 2,
                ),
              }
            : {};
          rows.push({
            seed,
            method,
            budget,
            trainingSeconds: seconds,
            scalars: scalarsOf(evaluateSamples(set, reference, { ...options, seed }), extra),
          });
        } catch (err) {
          problems.push(`seed ${seed} ${method} at ${budget}: evaluation failed (${(err as Error).message}); left out`);
        }
      };
      row('teacher', 0, toSet(own), null);
      for (const method of s.methods)
        for (const budget of s.budgets) {
          const cell = readCell(methodDir(runDir, seed, method), budget);
          if (cell === null) problems.push(`seed ${seed} ${method} at ${budget} updates: not run yet`);
          else row(method, budget, cell.set, cell.marker.trainingSeconds);
        }
    }
  } finally {
    if (classifier !== null && E.isRight(classifier)) classifier.right.dispose();
  }
  return rows;
};

/** Seed mean and bootstrap interval of every (method, budget, metric). */
export const summarise = (rows: readonly SweepRow[], metrics: readonly string[]): CellSummary[] => {
  const out: CellSummary[] = [];
  const keys = [...new Set(rows.map((r) => `${r.method}\u0000${r.budget}`))];
  for (const k of keys) {
    const [method, b] = k.split('\u0000');
    const mine = rows.filter((r) => r.method === method && r.budget === Number(b));
    for (const metric of metrics) {
      const values = mine.map((r) => r.scalars[metric]).filter((v): v is number => Number.isFinite(v));
      if (values.length > 0)
        out.push({ method, budget: Number(b), metric, interval: bootstrapMean(values, { seed: 7 }) });
    }
  }
  return out;
};

/** Phased − SGTS per budget and metric, paired by seed (only seeds where both exist). */
export const pairedRows = (
  rows: readonly SweepRow[],
  phased: string,
  base: string,
  budgets: readonly number[],
  metrics: readonly string[],
) =>
  budgets.flatMap((budget) =>
    metrics.flatMap((metric) => {
      const at = (m: string) =>
        new Map(
          rows
            .filter((r) => r.method === m && r.budget === budget && Number.isFinite(r.scalars[metric]))
            .map((r) => [r.seed, r.scalars[metric]]),
        );
      const a = at(phased);
      const b = at(base);
      const seeds = [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y);
      if (seeds.length === 0) return [];
      return [
        {
          budget,
          metric,
          seeds,
          ...pairedDifference(
            seeds.map((s) => a.get(s)!),
            seeds.map((s) => b.get(s)!),
            { seed: 11 },
          ),
        },
      ];
    }),
  );

/**
 * The share of the teacher's diversity a student keeps, seed by seed (same seed, same teacher):
 *
 *   kept_s = kept(student_s, teacher_s)
 *
 * with its seed mean and bootstrap interval; seeds without both numbers are left out.
 */
export const keptOf = (
  rows: readonly SweepRow[],
  method: string,
  budget: number,
  m: DiversityMeasure,
): Interval & { readonly perSeed: readonly number[] } => {
  const teacher = new Map(
    rows
      .filter((r) => r.method === 'teacher' && Number.isFinite(r.scalars[m.key]))
      .map((r) => [r.seed, r.scalars[m.key]]),
  );
  const perSeed = rows
    .filter((r) => r.method === method && r.budget === budget && teacher.has(r.seed))
    .sort((a, b) => a.seed - b.seed)
    .map((r) => m.kept(r.scalars[m.key], teacher.get(r.seed)!))
    .filter((v) => Number.isFinite(v));
  return { ...bootstrapMean(perSeed, { seed: 13 }), perSeed };
};

/** Seed mean and bootstrap interval of one metric of one (method, budget); the same draws as `summarise`. */
const seedMean = (rows: readonly SweepRow[], method: string, budget: number, key: string): Interval =>
  bootstrapMean(
    rows
      .filter((r) => r.method === method && r.budget === budget)
      .map((r) => r.scalars[key])
      .filter((v): v is number => Number.isFinite(v)),
    { seed: 7 },
  );

/**
 * The table shaped like the paper's: a row for the teacher and each student at `budget`, and per measure its seed mean
 * and the share of the teacher's it keeps (the seed mean of `keptOf`), each with its interval.
 */
export const paperTable = (
  rows: readonly SweepRow[],
  methods: readonly string[],
  budget: number,
  measures: readonly DiversityMeasure[],
  digits: (key: string) => number,
): string[] => {
  const head = ['model', ...measures.flatMap((m) => [m.title, `kept (${m.title})`])];
  const line = (method: string, b: number): string => {
    const cells = measures.flatMap((m) => {
      const value = seedMean(rows, method, b, m.key);
      const kept = method === 'teacher' ? '1' : fmtInterval(keptOf(rows, method, b, m), 3);
      return [fmtInterval(value, digits(m.key)), kept];
    });
    return `| ${method} | ${cells.join(' | ')} |`;
  };
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    line('teacher', 0),
    ...methods.map((m) => line(m, budget)),
  ];
};

/** The share of the teacher's diversity kept against updates: a row per method, a column per budget. */
export const keptTable = (
  rows: readonly SweepRow[],
  methods: readonly string[],
  budgets: readonly number[],
  m: DiversityMeasure,
): string[] => [
  `| method | ${budgets.join(' | ')} |`,
  `| --- | ${budgets.map(() => '---').join(' | ')} |`,
  ...methods.map(
    (method) => `| ${method} | ${budgets.map((b) => fmtInterval(keptOf(rows, method, b, m), 3)).join(' | ')} |`,
  ),
];

/**
 * Convergence: the seed mean moves by less than `tolerance` (relative) between the last two budgets, when the last is
 * at least twice the one before.
 */
export const convergenceOf = (
  summary: readonly CellSummary[],
  method: string,
  s: ResolvedSweep,
): { met: boolean | null; change: number | null; from: number | null; to: number | null } => {
  const [b1, b2] = s.budgets.slice(-2);
  if (b1 === undefined || b2 === undefined || b2 < 2 * b1)
    return { met: null, change: null, from: b1 ?? null, to: b2 ?? null };
  const at = (b: number) =>
    summary.find((c) => c.method === method && c.budget === b && c.metric === s.convergence.metric)?.interval.mean;
  const [m1, m2] = [at(b1), at(b2)];
  if (m1 === undefined || m2 === undefined) return { met: null, change: null, from: b1, to: b2 };
  const change = Math.abs(m2 - m1) / Math.max(Math.abs(m1), 1e-12);
  return { met: change < s.convergence.tolerance, change, from: b1, to: b2 };
};

/** One metric against updates: a line per method (log x), its bootstrap band, the teacher as a dashed rule. */
export const curveSpec = (summary: readonly CellSummary[], metric: string, title: string): VegaLiteSpec => {
  const values = summary
    .filter((c) => c.metric === metric && c.method !== 'teacher')
    .map((c) => ({ method: c.method, updates: c.budget, mean: c.interval.mean, lo: c.interval.lo, hi: c.interval.hi }));
  const teacher = summary.find((c) => c.metric === metric && c.method === 'teacher');
  const x = { field: 'updates', type: 'quantitative', scale: { type: 'log' }, title: 'generator updates' };
  const color = { field: 'method', type: 'nominal', title: 'method' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `${title} against updates (seed mean, 95 % bootstrap band)`,
    width: 420,
    height: 240,
    layer: [
      {
        data: { values },
        mark: { type: 'area', opacity: 0.18 },
        encoding: { x, y: { field: 'lo', type: 'quantitative', title }, y2: { field: 'hi' }, color },
      },
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'mean', type: 'quantitative', title }, color },
      },
      ...(teacher
        ? [
            {
              data: { values: [{ y: teacher.interval.mean }] },
              mark: { type: 'rule', strokeDash: [4, 4], color: 'black' },
              encoding: { y: { field: 'y', type: 'quantitative' } },
            },
          ]
        : []),
    ],
  };
};

/** Samples of each class shown per panel of an image sweep's sample figure. */
export const IMAGES_PER_CLASS = 4;

/**
 * An image sweep's samples of one seed: a panel for the teacher, then one per method and budget, each a row per class
 * and its first samples (the sets' labels are balanced: sample i is of class i mod 10).
 */
export const sweepImageSamplesSpec = (
  title: string,
  teacher: Float32Array,
  methods: readonly SampleRow[],
  side: number,
  classes = 10,
): VegaLiteSpec => {
  const size = side * side;
  const panel = (name: string, values: Float32Array): GridPanel => ({
    title: name,
    tiles: Array.from({ length: classes * IMAGES_PER_CLASS }, (_, n) => {
      const [c, k] = [n % classes, Math.floor(n / classes)];
      const i = c + classes * k;
      return {
        row: `class ${c}`,
        col: `${k + 1}`,
        image: { height: side, width: side, channels: 1, values: values.subarray(i * size, (i + 1) * size) },
      };
    }).filter((t) => t.image.values.length === size),
  });
  return sampleGridSpec(
    [
      panel('teacher (40 steps)', teacher),
      ...methods.flatMap((m) => m.cells.map((c) => panel(`${m.method} @ ${c.budget}`, c.values))),
    ],
    { title, tile: tileFor(side), colTitle: 'sample' },
  );
};

/** One method's sample sets in a seed's sample figure, one per budget. */
export interface SampleRow {
  readonly method: string;
  readonly cells: ReadonlyArray<{ readonly budget: number; readonly values: Float32Array }>;
}

/**
 * One seed's samples side by side: a row per method, its first panel the teacher and then
 * the method at each budget, every panel on the same axes with the mixture's centres, so a
 * column compares the methods at one budget and a row shows a method as training goes on.
 */
export const sweepSamplesSpec = (
  title: string,
  teacher: Float32Array,
  rows: readonly SampleRow[],
  centres: ReadonlyArray<readonly number[]>,
): VegaLiteSpec => {
  const panels = rows.map((r): ScatterPanel[] => [
    { title: 'teacher (40 steps)', points: teacher },
    ...r.cells.map((c) => ({ title: `${c.budget} updates`, points: c.values })),
  ]);
  const domain = scatterDomain(panels.flat(), centres);
  const row = (p: ScatterPanel[], i: number) =>
    scatterSpec(p, { title: rows[i].method, centres, domain, size: 190, maxPoints: 2000 });
  return { title, vconcat: panels.map(row) };
};

/**
 * One seed's clips side by side: a row per method, its first panel the teacher's clips and then the method's at each
 * budget, the same clips (same noise and class) in every panel, so a row shows whether the motion lasts as training
 * goes on.
 */
export const sweepClipsSpec = (
  title: string,
  teacher: Float32Array,
  rows: readonly SampleRow[],
  dims: { readonly frames: number; readonly height: number; readonly width: number },
  names?: readonly string[],
  maxClips = 4,
): VegaLiteSpec => {
  const panel = (panelTitle: string, clips: Float32Array): ClipPanel => ({
    title: panelTitle,
    clips,
    ...dims,
    ...(names ? { names } : {}),
  });
  const row = (r: SampleRow) =>
    clipStripSpec(
      [
        panel('teacher (40 steps)', teacher),
        ...r.cells.map((c) => panel(`${r.method}, ${c.budget} updates`, c.values)),
      ],
      { tile: 24, maxClips },
    );
  return { title, vconcat: rows.map(row) };
};

export const buildSweepReport = async (
  runDir: string,
  o: { log?: (line: string) => void } = {},
): Promise<{ report: string; results: string; files: string[] }> => {
  const manifest = path.join(runDir, SWEEP_FILE);
  const input: unknown = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  const s = resolveSweep(input, `sweep config ${manifest}`);
  const r = s.experiment;
  const kind = taskKind(r.task);
  const columns: readonly Column[] = COLUMNS[kind];
  const problems: string[] = [];
  // the sample figures: 2-D points or clips, the first three seeds; images, the first seed
  const sets = new Map<number, Map<string, Float32Array>>();
  const clipNames = new Map<number, string[]>();
  const keep: OnSet = (seed, method, budget, values, labels) => {
    if (!r.seeds.slice(0, kind === 'images' ? 1 : 3).includes(seed)) return;
    if (!sets.has(seed)) sets.set(seed, new Map());
    sets.get(seed)!.set(`${method}@${budget}`, values);
    if (method === 'teacher' && labels !== null)
      clipNames.set(
        seed,
        Array.from(labels, (l) => `class ${l}`),
      );
  };
  const rows = sweepRows(runDir, s, problems, keep);
  const metrics = columns.map((c) => c.key);
  const summary = summarise(rows, metrics);
  const byKey = (method: string, budget: number, metric: string) =>
    summary.find((c) => c.method === method && c.budget === budget && c.metric === metric)?.interval;
  const seedsDone = new Set(rows.filter((x) => x.method === 'teacher').map((x) => x.seed)).size;

  const table = (metric: Column): string[] => {
    const head = ['method', ...s.budgets.map((b) => `${b}`)];
    const teacher = byKey('teacher', 0, metric.key);
    return [
      `**${metric.title}** ${metric.better} — teacher ${teacher ? fmtInterval(teacher, metric.digits) : '–'}`,
      '',
      `| ${head.join(' | ')} |`,
      `| ${head.map(() => '---').join(' | ')} |`,
      ...s.methods.map(
        (m) =>
          `| ${m} | ${s.budgets
            .map((b) => {
              const i = byKey(m, b, metric.key);
              return i ? fmtInterval(i, metric.digits) : '–';
            })
            .join(' | ')} |`,
      ),
      '',
    ];
  };

  const pairs = s.methods.filter((m) => m.startsWith('phased')).flatMap((m) => (s.methods.includes('sgts') ? [m] : []));
  const paired = pairs.flatMap((m) => {
    const p = pairedRows(rows, m, 'sgts', s.budgets, HEADLINE[kind]);
    const head = ['updates', ...HEADLINE[kind].map((k) => columns.find((c) => c.key === k)?.title ?? k)];
    return [
      `**${m} − sgts**, per-seed paired differences: mean [95 % bootstrap interval] (per-seed values)`,
      '',
      `| ${head.join(' | ')} |`,
      `| ${head.map(() => '---').join(' | ')} |`,
      ...s.budgets.map((b) => {
        const cells = HEADLINE[kind].map((k) => {
          const d = p.find((x) => x.budget === b && x.metric === k);
          const digits = columns.find((c) => c.key === k)?.digits ?? 3;
          return d ? `${fmtInterval(d, digits)} (${d.diffs.map((v) => fmt(v, digits)).join(', ')})` : '–';
        });
        return `| ${b} | ${cells.join(' | ')} |`;
      }),
      '',
    ];
  });

  const conv = s.methods.map((m) => ({ method: m, ...convergenceOf(summary, m, s) }));
  const last = s.budgets[s.budgets.length - 1];
  const measures = DIVERSITY[kind];
  const digitsOf = (key: string): number => columns.find((c) => c.key === key)?.digits ?? 3;
  const paperMethods = s.methods.filter((m) => m === 'sgts' || m.startsWith('phased'));

  const sampleFigures = [...sets].flatMap(([seed, got]) => {
    const teacher = got.get('teacher@0');
    const cellsOf = (method: string) =>
      s.budgets.flatMap((budget) => {
        const values = got.get(`${method}@${budget}`);
        return values === undefined ? [] : [{ budget, values }];
      });
    const methodRows = s.methods
      .map((method) => ({ method, cells: cellsOf(method) }))
      .filter((m) => m.cells.length > 0);
    if (teacher === undefined || methodRows.length === 0) return [];
    const file = path.join(runDir, 'figures', `sweep-samples-seed${seed}.png`);
    if (kind === 'video') {
      const v = E.getOrElse(() => VIDEO_DEFAULTS)(resolveVideoOptions(r.data as Partial<VideoSettings>));
      const title = `video toy, seed ${seed}: a clip per row, the frames along it`;
      const dims = { frames: v.frames, height: v.size, width: v.size };
      return [{ file, spec: sweepClipsSpec(title, teacher, methodRows, dims, clipNames.get(seed), v.classes) }];
    }
    const side = imageSide(r);
    if (side !== null)
      return [
        { file, spec: sweepImageSamplesSpec(`${r.task}, seed ${seed}: a row per class`, teacher, methodRows, side) },
      ];
    const title = `${r.task}, seed ${seed}: samples (red crosses: the mixture's centres)`;
    return [{ file, spec: sweepSamplesSpec(title, teacher, methodRows, MIXTURES[r.task as MixtureName].centers) }];
  });
  const figures = await writeFigures([
    ...HEADLINE[kind].map((k) => ({
      file: path.join(runDir, 'figures', `sweep-${k}.png`),
      spec: curveSpec(summary, k, columns.find((c) => c.key === k)?.title ?? k),
    })),
    ...sampleFigures,
  ]).catch((err: Error) => {
    problems.push(`figures: ${err.message}`);
    return [] as string[];
  });

  const teachers = r.teacher.seed === undefined ? 'one per seed' : `one for all seeds, from seed ${r.teacher.seed}`;
  const report = [
    `# Budget sweep: ${r.task}`,
    '',
    `- seeds: ${r.seeds.join(', ')} (${seedsDone} with a teacher so far); methods: ${s.methods.join(', ')}; budgets ` +
      `(generator updates): ${s.budgets.join(', ')}`,
    ...(describeImages(r) === null ? [] : [`- data: ${describeImages(r)}`]),
    `- model \`${JSON.stringify(r.model)}\`; teacher ${r.budget.teacherSteps} steps × batch ` +
      `${r.budget.teacherBatchSize}, ${teachers}, sampled with 40 Euler steps (CFG g = ${r.guidance}); students ` +
      `batch ${r.budget.batchSize}`,
    ...studentVariantLines(r.distill, 'every student'),
    `- dmd/sgts: one run, sampled at each budget (its first b updates are exactly a b-update run); phased: one run ` +
      `per budget, split evenly over the phases`,
    `- evaluation: ${r.samples} samples per cell against ${r.samples} teacher reference samples of the same seed`,
    `- intervals: 95 % percentile bootstrap over seeds (10 000 resamples); with ${r.seeds.length} seeds they are ` +
      `coarse and tend to be too narrow`,
    `- convergence criterion (fixed before the runs): the seed mean of \`${s.convergence.metric}\` moves by less ` +
      `than ${(100 * s.convergence.tolerance).toFixed(0)} % over the last doubling of updates`,
    '',
    '## Convergence',
    '',
    '| method | change | met |',
    '| --- | --- | --- |',
    ...conv.map(
      (c) =>
        `| ${c.method} | ${c.change === null ? '–' : `${(100 * c.change).toFixed(1)} % (${c.from} → ${c.to})`} | ` +
        `${c.met === null ? 'not measurable yet' : c.met ? 'yes' : 'no'} |`,
    ),
    '',
    `## Diversity at ${last} updates, shaped like the paper's table`,
    '',
    ...measures.map((m) => `- ${m.what}`),
    '- kept: the seed mean of the per-seed share (student / teacher of the same seed) [95 % bootstrap interval]',
    '',
    ...paperTable(rows, paperMethods, last, measures, digitsOf),
    '',
    ...(PAPER[kind] ? [PAPER[kind], ''] : []),
    "### The share of the teacher's kept, against updates",
    '',
    ...measures.flatMap((m) => [`**${m.title}**`, '', ...keptTable(rows, s.methods, s.budgets, m), '']),
    '## Phased − SGTS',
    '',
    ...(paired.length > 0 ? paired : ['No pair measured yet.', '']),
    '## Every metric: seed mean [95 % bootstrap interval]',
    '',
    ...columns.flatMap(table),
    ...(figures.length > 0
      ? ['## Figures', '', ...figures.map((f) => `![${path.basename(f)}](${path.relative(runDir, f)})`), '']
      : []),
    ...(problems.length > 0 ? ['## Not (yet) in the tables', '', ...problems.map((p) => `- ${p}`), ''] : []),
  ].join('\n');
  const reportFile = path.join(runDir, 'report.md');
  const resultsFile = path.join(runDir, 'results.json');
  writeFileAtomic(reportFile, report);
  writeFileAtomic(resultsFile, `${JSON.stringify({ rows, summary, convergence: conv, problems }, null, 1)}\n`);
  o.log?.(`sweep report: ${reportFile}`);
  return { report: reportFile, results: resultsFile, files: [reportFile, resultsFile, ...figures] };
};
