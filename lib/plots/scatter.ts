/**
 * 2-D scatter plots side by side: one panel per method (teacher, DMD, SGTS, Phased …),
 * shared axes so spreads compare at a glance; points coloured by class when labelled.
 */
import type { VegaLiteSpec } from './render';

export interface ScatterPanel {
  readonly title: string;
  /** Row-major [N, 2] (extra columns are ignored). */
  readonly points: ArrayLike<number>;
  readonly dim?: number;
  readonly labels?: ArrayLike<number> | null;
}

export interface ScatterOptions {
  /** At most this many points per panel (the first ones: samples are i.i.d.). */
  readonly maxPoints?: number;
  readonly size?: number;
  readonly title?: string;
  /** Reference centres (e.g. mixture modes) drawn as crosses in every panel. */
  readonly centres?: ReadonlyArray<readonly number[]>;
  /** Axis range shared by every panel; by default the range of these panels' points and centres. */
  readonly domain?: readonly [number, number];
}

/** The range that holds every finite point of the panels and every centre, padded by 5 %. */
export const scatterDomain = (
  panels: readonly ScatterPanel[],
  centres: ReadonlyArray<readonly number[]>,
): [number, number] => {
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of panels) {
    const d = p.dim ?? 2;
    for (let i = 0; i + 1 < p.points.length; i += d) {
      for (const v of [p.points[i], p.points[i + 1]])
        if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    }
  }
  for (const c of centres) for (const v of c.slice(0, 2)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  if (!Number.isFinite(lo)) return [-1, 1];
  const pad = 0.05 * (hi - lo || 1);
  return [lo - pad, hi + pad];
};

export const scatterSpec = (panels: readonly ScatterPanel[], options: ScatterOptions = {}): VegaLiteSpec => {
  const max = options.maxPoints ?? 2000;
  const size = options.size ?? 260;
  const centres = options.centres ?? [];
  const domain = options.domain ?? scatterDomain(panels, centres);
  const scale = { domain, nice: false, zero: false };
  return {
    ...(options.title ? { title: options.title } : {}),
    hconcat: panels.map((p) => {
      const d = p.dim ?? 2;
      const n = Math.min(max, Math.floor(p.points.length / d));
      const values = Array.from({ length: n }, (_, i) => ({
        x: p.points[i * d],
        y: p.points[i * d + 1],
        class: p.labels != null ? String(p.labels[i]) : 'all',
      })).filter((v) => Number.isFinite(v.x) && Number.isFinite(v.y));
      const points: VegaLiteSpec = {
        data: { values },
        mark: { type: 'circle', size: 6, opacity: 0.5, aria: false },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale, title: null },
          y: { field: 'y', type: 'quantitative', scale, title: null },
          color: p.labels != null ? { field: 'class', type: 'nominal', legend: null } : { value: '#1f5fa8' },
        },
      };
      // the centres under the points: a covered mode's samples stay visible, an empty mode shows its cross
      const layers: VegaLiteSpec[] = [];
      if (centres.length > 0)
        layers.push({
          data: { values: centres.map((c) => ({ x: c[0], y: c[1] })) },
          mark: { type: 'point', shape: 'cross', color: '#d62728', size: 60, aria: false },
          encoding: {
            x: { field: 'x', type: 'quantitative', scale, title: null },
            y: { field: 'y', type: 'quantitative', scale, title: null },
          },
        });
      layers.push(points);
      return { title: p.title, width: size, height: size, layer: layers };
    }),
  };
};
