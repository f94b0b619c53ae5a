/**
 * Clip strips for video samples: each clip a row of its frames side by side, one panel
 * per method, so motion (or its absence) shows as the blob moving along the row.
 */
import type { VegaLiteSpec } from './render';
import { sampleGridSpec, GridTile } from './sampleGrid';
import type { Range } from './png';

export interface ClipPanel {
  readonly title: string;
  /** Clips [N, F, H, W] (grey), frame-major then rows: the video toy's flat layout. */
  readonly clips: ArrayLike<number>;
  readonly frames: number;
  readonly height: number;
  readonly width: number;
  /** A name per clip (its class), shown at the row's start. */
  readonly names?: readonly string[];
}

export const clipTiles = (p: ClipPanel, maxClips = 6): GridTile[] => {
  const frame = p.height * p.width;
  const n = Math.min(maxClips, Math.floor(p.clips.length / (frame * p.frames)));
  const tiles: GridTile[] = [];
  for (let i = 0; i < n; i++) {
    const row = `${i + 1}${p.names?.[i] !== undefined ? ` (${p.names[i]})` : ''}`;
    for (let f = 0; f < p.frames; f++) {
      const at = (i * p.frames + f) * frame;
      tiles.push({
        row,
        col: `f${f}`,
        image: {
          height: p.height,
          width: p.width,
          channels: 1,
          values: Array.prototype.slice.call(p.clips, at, at + frame) as number[],
        },
      });
    }
  }
  return tiles;
};

export const clipStripSpec = (
  panels: readonly ClipPanel[],
  options: { title?: string; tile?: number; maxClips?: number; range?: Range } = {},
): VegaLiteSpec =>
  sampleGridSpec(
    panels.map((p) => ({ title: p.title, tiles: clipTiles(p, options.maxClips) })),
    { title: options.title, tile: options.tile ?? 32, range: options.range, rowTitle: 'clip', colTitle: 'frame' },
  );
