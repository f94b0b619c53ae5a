/**
 * The figure for a set of samples, by data kind: a scatter plot (2-D points), an image
 * grid (one row per class), or clip strips (video). Several panels (methods) side by side.
 */
import type { VegaLiteSpec } from './render';
import { scatterSpec } from './scatter';
import { sampleGridSpec, GridTile } from './sampleGrid';
import { clipStripSpec } from './clipStrip';
import type { DataInfo, Samples } from './dataInfo';

export interface SamplePanel {
  readonly title: string;
  readonly samples: Samples;
}

/** Image tiles: one row per class (or one row), at most `perRow` samples per row. */
export const imageTiles = (s: Samples, perRow = 8): GridTile[] => {
  const [n, h, w, c] = s.shape;
  const size = h * w * c;
  const used = new Map<string, number>();
  const tiles: GridTile[] = [];
  for (let i = 0; i < n; i++) {
    const row = s.labels === null ? `${Math.floor(i / perRow)}` : `class ${s.labels[i]}`;
    const k = used.get(row) ?? 0;
    if (k >= perRow) continue;
    used.set(row, k + 1);
    tiles.push({ row, col: `${k}`, image: { height: h, width: w, channels: c, values: s.values.subarray(i * size, (i + 1) * size) } });
  }
  return tiles.sort((a, b) => a.row.localeCompare(b.row, undefined, { numeric: true }));
};

export const samplesFigure = (panels: readonly SamplePanel[], data: DataInfo, title?: string): VegaLiteSpec | null => {
  if (panels.length === 0) return null;
  const shape = panels[0].samples.shape;
  if (data.kind === 'video')
    return clipStripSpec(
      panels.map((p) => ({ title: p.title, clips: p.samples.values, frames: data.frames, height: data.size, width: data.size, names: p.samples.labels === null ? undefined : Array.from(p.samples.labels, (l) => `class ${l}`) })),
      { title },
    );
  if (shape.length === 4) return sampleGridSpec(panels.map((p) => ({ title: p.title, tiles: imageTiles(p.samples) })), { title });
  // a scatter of the first two coordinates only says something about low-dimensional points
  if (data.kind === 'points' && shape.length === 2 && shape[1] >= 2)
    return scatterSpec(
      panels.map((p) => ({ title: p.title, points: p.samples.values, dim: shape[1], labels: p.samples.labels })),
      { title, centres: data.mixture ? data.mixture.mixture.centers : [] },
    );
  return null;
};
