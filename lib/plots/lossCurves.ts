/**
 * Loss curves: one panel per phase, one line per role (teacher, generator, fake …),
 * loss against step. Long runs are thinned to at most `maxPoints` per (phase, role).
 */
import type { VegaLiteSpec } from './render';
import { phaseLabel } from '../phases/label';

export interface LossPoint {
  readonly phase: number;
  readonly role: string;
  readonly step: number;
  readonly loss: number;
}

export interface LossCurveOptions {
  readonly title?: string;
  readonly maxPoints?: number;
  readonly width?: number;
  readonly height?: number;
  /** Log-scale y axis (default: when every loss is positive and they span > 2 decades). */
  readonly logScale?: boolean;
}

/** Keeps every k-th point per (phase, role) so each series has at most `max` points. */
export const thin = (points: readonly LossPoint[], max: number): LossPoint[] => {
  const groups = new Map<string, LossPoint[]>();
  for (const p of points) {
    if (!Number.isFinite(p.loss)) continue;
    const k = `${p.phase}/${p.role}`;
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [p]);
    else g.push(p);
  }
  return [...groups.values()].flatMap((g) => {
    const every = Math.ceil(g.length / max);
    return g.filter((_, i) => i % every === 0 || i === g.length - 1);
  });
};

export const lossCurveSpec = (points: readonly LossPoint[], options: LossCurveOptions = {}): VegaLiteSpec => {
  const values = thin(points, options.maxPoints ?? 400).map((p) => ({ ...p, phase: phaseLabel(p.phase) }));
  const losses = values.map((v) => v.loss);
  const positive = losses.length > 0 && losses.every((l) => l > 0);
  const log = options.logScale ?? (positive && Math.max(...losses) / Math.min(...losses) > 100);
  return {
    ...(options.title ? { title: options.title } : {}),
    data: { values },
    facet: { column: { field: 'phase', type: 'ordinal', title: null } },
    spec: {
      width: options.width ?? 280,
      height: options.height ?? 180,
      mark: { type: 'line', strokeWidth: 1.2, aria: false },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'loss', type: 'quantitative', title: 'loss', scale: log ? { type: 'log' } : { zero: false } },
        color: { field: 'role', type: 'nominal', title: 'role' },
      },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
  };
};
