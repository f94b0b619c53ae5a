/**
 * Image sample grids: one panel per method, one row per class, one column per seed.
 * Each tile is a pngjs-encoded sample embedded as a vega image mark.
 */
import type { VegaLiteSpec } from './render';
import { encodeImage, pngDataUrl, ImageData, Range, DATA_RANGE } from './png';

export interface GridTile {
  readonly row: string;
  readonly col: string;
  readonly image: ImageData;
}

export interface GridPanel {
  readonly title: string;
  readonly tiles: readonly GridTile[];
}

export interface GridOptions {
  readonly title?: string;
  /** Pixels per tile side on the figure. */
  readonly tile?: number;
  readonly range?: Range;
  readonly rowTitle?: string;
  readonly colTitle?: string;
}

/** Tiles of one panel from samples [N, H, W, C] with a row and a column name each. */
export const tilesOf = (
  values: ArrayLike<number>,
  shape: readonly [number, number, number],
  rows: readonly string[],
  cols: readonly string[],
): GridTile[] => {
  const [h, w, c] = shape;
  const size = h * w * c;
  return rows.map((row, i) => ({
    row,
    col: cols[i],
    image: {
      height: h,
      width: w,
      channels: c,
      values: Array.prototype.slice.call(values, i * size, (i + 1) * size) as number[],
    },
  }));
};

export const sampleGridSpec = (panels: readonly GridPanel[], options: GridOptions = {}): VegaLiteSpec => {
  const tile = options.tile ?? 40;
  const range = options.range ?? DATA_RANGE;
  return {
    ...(options.title ? { title: options.title } : {}),
    hconcat: panels.map((p) => ({
      title: p.title,
      data: {
        values: p.tiles.map((t) => ({
          row: t.row,
          col: t.col,
          url: pngDataUrl(encodeImage(t.image, range, Math.max(1, Math.floor(tile / t.image.width)))),
        })),
      },
      width: { step: tile },
      height: { step: tile },
      mark: {
        type: 'image',
        width: tile - 2,
        height: tile - 2,
        align: 'center',
        baseline: 'middle',
        aspect: false,
        smooth: false,
        aria: false,
      },
      encoding: {
        x: { field: 'col', type: 'ordinal', title: options.colTitle ?? null, sort: null, axis: { labelAngle: 0 } },
        y: { field: 'row', type: 'ordinal', title: options.rowTitle ?? null, sort: null },
        url: { field: 'url', type: 'nominal' },
      },
    })),
  };
};
