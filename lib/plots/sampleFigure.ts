/**
 * The figure for a set of samples, by data kind: a scatter plot (2-D points), an image
 * grid (one row per class), or clip strips (video). Several panels (methods) side by side.
 */
import type { VegaLiteSpec } from './render';
import { scatterSpec } from './scatter';
import { sampleGridSpec, GridTile } from './sampleGrid';
import { clipStripSpec } from './clipStrip';
import type { Range } from './png';
import type { DataInfo, Samples } from './dataInfo';

export interface SamplePanel {
  readonly title: string;
  readonly samples: Samples;
}

export interface FigureOptions {
  readonly title?: string;
  /** Values shown as black…white in image figures (default [−1, 1]). */
  readonly range?: Range;
  /** Row names of class ids (default "class <id>"). */
  readonly classNames?: readonly string[];
}

/** How many samples each class row shows: as many as every class has, at most `perRow`. */
const perClassCount = (labels: Int32Array, perRow: number): number => {
  const counts = new Map<number, number>();
  labels.forEach((l) => counts.set(l, (counts.get(l) ?? 0) + 1));
  return Math.min(perRow, ...counts.values());
};

/**
 * Image tiles: one row per class, the same number in every row (the fewest any class has,
 * at most `perRow`), so no class looks better or worse by having more tiles; unlabelled
 * samples fill rows of `perRow` in order.
 */
export const imageTiles = (s: Samples, perRow = 8, classNames?: readonly string[]): GridTile[] => {
  const [n, h, w, c] = s.shape;
  const size = h * w * c;
  const limit = s.labels === null ? perRow : perClassCount(s.labels, perRow);
  const used = new Map<number, number>();
  const tiles: Array<GridTile & { readonly order: number }> = [];
  for (let i = 0; i < n; i++) {
    const order = s.labels === null ? Math.floor(i / perRow) : s.labels[i];
    const k = s.labels === null ? i % perRow : (used.get(order) ?? 0);
    if (k >= limit) continue;
    used.set(order, k + 1);
    const row = s.labels === null ? `${order}` : (classNames?.[order] ?? `class ${order}`);
    tiles.push({
      row,
      order,
      col: `${k}`,
      image: { height: h, width: w, channels: c, values: s.values.subarray(i * size, (i + 1) * size) },
    });
  }
  return tiles.sort((a, b) => a.order - b.order).map(({ row, col, image }) => ({ row, col, image }));
};

export const samplesFigure = (
  panels: readonly SamplePanel[],
  data: DataInfo,
  options: FigureOptions = {},
): VegaLiteSpec | null => {
  const { title } = options;
  if (panels.length === 0) return null;
  const shape = panels[0].samples.shape;
  if (data.kind === 'video')
    return clipStripSpec(
      panels.map((p) => ({
        title: p.title,
        clips: p.samples.values,
        frames: data.frames,
        height: data.size,
        width: data.size,
        names: p.samples.labels === null ? undefined : Array.from(p.samples.labels, (l) => `class ${l}`),
      })),
      { title },
    );
  if (shape.length === 4) {
    const grid = panels.map((p) => ({ title: p.title, tiles: imageTiles(p.samples, 8, options.classNames) }));
    return sampleGridSpec(grid, { title, ...(options.range !== undefined ? { range: options.range } : {}) });
  }
  // a scatter of the first two coordinates only says something about low-dimensional points
  if (data.kind === 'points' && shape.length === 2 && shape[1] >= 2)
    return scatterSpec(
      panels.map((p) => ({ title: p.title, points: p.samples.values, dim: shape[1], labels: p.samples.labels })),
      { title, centres: data.mixture ? data.mixture.mixture.centers : [] },
    );
  return null;
};
