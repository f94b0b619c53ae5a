/**
 * Report figures from a recording (no retraining): the loss curves per phase and role,
 * and a scatter of the last sample snapshot of each model when the data is 2-D —
 * as vega-lite specs for lib/plots (renderSvgs / writeFigures).
 */
import type { LossPoint } from '../plots/lossCurves';
import { lossCurveSpec } from '../plots/lossCurves';
import { scatterSpec } from '../plots/scatter';
import type { VegaLiteSpec } from '../plots/render';
import type { RecordingSummary, SampleSummary } from './summary';
import { phaseLabel } from '../phases/label';

/** Every recorded finite loss as a loss-curve point. */
export const lossPoints = (s: RecordingSummary): LossPoint[] =>
  s.series.flatMap((x) =>
    x.step.flatMap((step, i) =>
      x.loss[i] === null || !Number.isFinite(x.loss[i]!)
        ? []
        : [{ phase: x.phase, role: x.role, step, loss: x.loss[i]! }],
    ),
  );

/** The latest snapshot of each sampled model. */
export const lastSamples = (s: RecordingSummary): SampleSummary[] => {
  const by = new Map<string, SampleSummary>();
  for (const x of s.samples) {
    const prev = by.get(x.name);
    if (prev === undefined || x.phase > prev.phase || (x.phase === prev.phase && x.step >= prev.step))
      by.set(x.name, x);
  }
  return [...by.values()];
};

export interface RecordingFigures {
  readonly lossCurves: VegaLiteSpec;
  /** Present when the recording holds 2-D samples. */
  readonly samples?: VegaLiteSpec;
}

export const recordingFigures = (
  s: RecordingSummary,
  title = `${s.header.kind ?? 'run'} ${s.header.configHash.slice(0, 8)}`,
): RecordingFigures => {
  const flat = lastSamples(s).filter((x) => x.x.shape.length === 2 && x.x.shape[1] === 2 && x.x.dtype === 'float32');
  return {
    lossCurves: lossCurveSpec(lossPoints(s), { title: `${title}: losses` }),
    ...(flat.length === 0
      ? {}
      : {
          samples: scatterSpec(
            flat.map((x) => ({
              title: `${x.name} (${phaseLabel(x.phase)}, step ${x.step})`,
              points: x.x.values,
              labels: x.labels?.values ?? null,
            })),
            { title: `${title}: samples` },
          ),
        }),
  };
};
