/**
 * A run's report rebuilt from its recording alone (no model, no retraining):
 *
 *   <run>/report.md           what ran, how it ended, losses per phase and role, sample metrics
 *   <run>/metrics.json        the same numbers, machine-readable
 *   <run>/figures/losses.png  loss curves (one panel per phase, one line per role)
 *   <run>/figures/samples.png the latest recorded samples of each model side by side
 *
 * Sample metrics compare the student's recorded samples with the teacher's recorded
 * samples (same noise seed), as the paper compares against its base model.
 */
import * as path from 'path';
import * as E from 'fp-ts/Either';
import * as fs from 'fs';
import { summariseRecording, RecordingSummary, SampleSummary, LossSeries } from '../lib/record/summary';
import { formatIssue } from '../lib/record/reader';
import { writeFileAtomic } from '../lib/util/atomicWrite';
import { writeFigures, VegaLiteSpec } from '../lib/plots/render';
import { lossCurveSpec } from '../lib/plots/lossCurves';
import { lossPoints, lastSamples } from '../lib/record/report';
import { evaluateSamples, Evaluation } from '../lib/metrics/evaluate';
import { dataConfigOf, dataInfoOf, dataMetaOf, DataInfo, DataMeta, Samples } from '../lib/plots/dataInfo';
import { samplesFigure } from '../lib/plots/sampleFigure';
import { RECORDING_FILE, TEACHER_CHECKPOINT } from './runPipeline';
import { loadCheckpoint } from '../lib/checkpoint/format';
import { toRaw } from '../lib/data/scaling';
import { phaseLabel, phaseNumber } from '../lib/phases/label';

export interface RunReport {
  readonly summary: RecordingSummary;
  readonly files: string[];
  readonly evaluation: Evaluation | null;
  readonly markdown: string;
}

const toSamples = (s: SampleSummary): Samples => ({
  values: s.x.values instanceof Float32Array ? s.x.values : Float32Array.from(s.x.values),
  shape: s.x.shape,
  labels:
    s.labels === null
      ? null
      : s.labels.values instanceof Int32Array
        ? s.labels.values
        : Int32Array.from(s.labels.values),
});

/** The latest snapshot of each model, teacher first (the reference panel). */
const latestSamples = (summary: RecordingSummary): SampleSummary[] =>
  lastSamples(summary).sort((a, b) =>
    a.name === 'teacher' ? -1 : b.name === 'teacher' ? 1 : a.name.localeCompare(b.name),
  );

/** Mean of the last tenth of a series' recorded losses (at least one value). */
const finalLoss = (s: LossSeries): number | null => {
  const v = s.loss.filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length === 0) return null;
  const tail = v.slice(-Math.max(1, Math.ceil(v.length / 10)));
  return tail.reduce((a, b) => a + b, 0) / tail.length;
};

const fmt = (x: number | null | undefined, digits = 4): string =>
  x === null || x === undefined
    ? '–'
    : Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0)
      ? x.toExponential(2)
      : x.toPrecision(digits);

const markdownOf = (
  s: RecordingSummary,
  run: string,
  data: DataInfo,
  latest: SampleSummary[],
  evaluation: Evaluation | null,
  figures: string[],
): string => {
  const h = s.header;
  const config = h.config as { method?: string } | null;
  const seconds = s.series.reduce((a, x) => a + x.ms.reduce((b, m) => b + m, 0), 0) / 1000;
  const lines = [
    `# Run report: ${path.basename(path.resolve(run))}`,
    '',
    `Rebuilt from \`${path.relative(run, s.file) || s.file}\` by \`phased-dmd report\` (no retraining).`,
    '',
    `- method: \`${config?.method ?? h.kind ?? 'unknown'}\`, seed ${h.seed}, backend \`${h.backend}\`, recorded ` +
      `${h.createdAt}`,
    `- versions: ${Object.entries(h.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `- config hash: \`${h.configHash.slice(0, 16)}…\``,
    `- status: **${s.status}**${s.message ? ` (${s.message})` : ''}` +
      `${s.last ? `; last update: ${phaseLabel(s.last.phase)}, step ${s.last.step}` : ''}`,
    `- training time (sum of recorded step times): ${seconds.toFixed(1)} s; ${s.events} ` +
      `events${s.resumes > 0 ? `; resumed ${s.resumes}× (${s.superseded} superseded events dropped)` : ''}`,
    ...(s.issues.length > 0
      ? ['', '**Recording issues** (skipped lines):', '', ...s.issues.map((i) => `- ${formatIssue(i)}`)]
      : []),
    '',
    '## Losses',
    '',
    '| Phase | Role | Updates | Final loss (mean of last 10 %) |',
    '| --- | --- | --- | --- |',
    ...s.series.map((x) => `| ${phaseNumber(x.phase)} | ${x.role} | ${x.step.length} | ${fmt(finalLoss(x))} |`),
    '',
  ];
  if (latest.length > 0) {
    lines.push(
      '## Samples',
      '',
      '| Model | Phase | Step | Samples | NFE |',
      '| --- | --- | --- | --- | --- |',
      ...latest.map((x) => `| ${x.name} | ${phaseNumber(x.phase)} | ${x.step} | ${x.x.shape[0]} | ${x.nfe ?? '–'} |`),
      '',
    );
  }
  if (evaluation !== null) {
    const model = latest.find((x) => x.name !== 'teacher')?.name ?? '';
    lines.push(`## ${model} vs teacher samples`, '');
    if (evaluation.mixture)
      lines.push(
        `- modes covered: ${evaluation.mixture.modesCovered}/${evaluation.mixture.numModes}, high-quality: ` +
          `${evaluation.mixture.highQualityPercent.toFixed(1)} %`,
      );
    if (evaluation.distances)
      lines.push(
        `- energy distance ${fmt(evaluation.distances.energy)}, MMD² ${fmt(evaluation.distances.mmd2)}, sliced ` +
          `Wasserstein ${fmt(evaluation.distances.slicedWasserstein)}, Fréchet ${fmt(evaluation.distances.frechet)}`,
      );
    if (evaluation.knn)
      lines.push(
        `- precision ${fmt(evaluation.knn.precision, 3)}, recall ${fmt(evaluation.knn.recall, 3)}, density ` +
          `${fmt(evaluation.knn.density, 3)}, coverage ${fmt(evaluation.knn.coverage, 3)}`,
      );
    lines.push(`- Vendi score ${fmt(evaluation.vendi.score)} (${evaluation.vendi.kernel} kernel)`);
    if (evaluation.motion)
      lines.push(
        `- motion: mean displacement ${fmt(evaluation.motion.meanDisplacement)} px/frame (teacher ` +
          `${fmt(evaluation.motion.reference?.meanDisplacement)}), dynamic degree ` +
          `${fmt(evaluation.motion.dynamicDegree)} (teacher ${fmt(evaluation.motion.reference?.dynamicDegree)})`,
      );
    lines.push('');
  }
  if (figures.length > 0)
    lines.push('## Figures', '', ...figures.map((f) => `![${path.basename(f, '.png')}](${path.relative(run, f)})`), '');
  if (data.kind === 'unknown' && latest.length > 0)
    lines.push('(The samples have no figure for their shape; export them with `phased-dmd sample --out x.npy`.)', '');
  return lines.join('\n');
};

/** The run's data units: its teacher checkpoint's meta, else what its config leads to (lib/cli/models dataMetaOf). */
const runDataMeta = (runDir: string, config: unknown, recording: string): DataMeta => {
  const own = path.join(runDir, TEACHER_CHECKPOINT);
  const ckpt = fs.existsSync(own) ? loadCheckpoint(own) : null;
  if (ckpt !== null && E.isRight(ckpt) && ckpt.right.meta.dataScaling !== undefined)
    return dataMetaOf(ckpt.right.meta, own);
  return dataMetaOf({ config }, recording);
};

/** Recorded (model-scale) samples in the data's units, for figures. */
const inDataUnits = (s: Samples, meta: DataMeta): Samples =>
  meta.scaling.mapping === 'none' ? s : { ...s, values: toRaw(meta.scaling, s.values, s.shape[s.shape.length - 1]) };

/** Rebuilds the report of the run in `runDir` from its recording. */
export const buildReport = async (
  runDir: string,
  recording = path.join(runDir, RECORDING_FILE),
): Promise<RunReport> => {
  const summary = E.getOrElseW((e: Error) => {
    throw e;
  })(summariseRecording(recording));
  const latest = latestSamples(summary);
  const data = dataInfoOf(dataConfigOf(summary.header.config, recording), latest[0]?.x.shape.slice(1) ?? []);
  const units = runDataMeta(runDir, summary.header.config, recording);
  const panels = latest.map((s) => ({
    title: `${s.name}${s.nfe !== undefined ? ` (${s.nfe} NFE)` : ''}`,
    samples: inDataUnits(toSamples(s), units),
  }));
  const figures: Array<{ file: string; spec: VegaLiteSpec }> = [];
  const points = lossPoints(summary);
  if (points.length > 0)
    figures.push({
      file: path.join(runDir, 'figures', 'losses.png'),
      spec: lossCurveSpec(points, { title: 'losses' }),
    });
  const range = { lo: units.scaling.lo, hi: units.scaling.hi };
  const samplesSpec = samplesFigure(panels, data, {
    range,
    ...(units.classNames ? { classNames: units.classNames } : {}),
  });
  if (samplesSpec !== null) figures.push({ file: path.join(runDir, 'figures', 'samples.png'), spec: samplesSpec });
  const files = await writeFigures(figures);

  const teacher = latest.find((s) => s.name === 'teacher');
  const student = latest.find((s) => s.name !== 'teacher');
  const evaluation =
    teacher !== undefined && student !== undefined && teacher.x.shape.length >= 2 && student.x.shape[0] >= 2
      ? evaluateSamples(toSamples(student), toSamples(teacher), {
          ...(data.kind === 'points' && data.mixture ? { mixture: data.mixture.mixture } : {}),
          ...(data.kind === 'video' ? { clip: { frames: data.frames, height: data.size, width: data.size } } : {}),
        })
      : null;
  const markdown = markdownOf(summary, runDir, data, latest, evaluation, files);
  const reportFile = path.join(runDir, 'report.md');
  writeFileAtomic(reportFile, markdown);
  const metricsFile = path.join(runDir, 'metrics.json');
  const finals = summary.series.map((s) => ({
    phase: s.phase,
    role: s.role,
    updates: s.step.length,
    finalLoss: finalLoss(s),
  }));
  writeFileAtomic(
    metricsFile,
    `${JSON.stringify({ status: summary.status, last: summary.last, losses: finals, samples: evaluation }, null, 2)}\n`,
  );
  return { summary, files: [reportFile, metricsFile, ...files], evaluation, markdown };
};
