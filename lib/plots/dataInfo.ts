/**
 * What a run's samples are, for figures and metrics: the data kind its config trained on
 * (found through a distillation config's teacher, inline or by checkpoint path) and host
 * copies of drawn samples.
 */
import * as E from 'fp-ts/Either';
import * as fs from 'fs';
import * as path from 'path';
import { loadCheckpoint } from '../checkpoint/format';
import { resolveVideoOptions } from '../data/video';
import { MIXTURES, MixtureName } from '../data/mixtures';
import type { GaussianMixture } from '../data/types';

/** What the training data was, as far as figures and metrics care. */
export type DataInfo =
  | { readonly kind: 'points'; readonly mixture?: { readonly name: MixtureName; readonly mixture: GaussianMixture } }
  | { readonly kind: 'images' }
  | { readonly kind: 'video'; readonly frames: number; readonly size: number }
  | { readonly kind: 'unknown' };

export interface Samples {
  /** Row-major [N, ...sampleShape]. */
  readonly values: Float32Array;
  readonly shape: readonly number[];
  readonly labels: Int32Array | null;
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The data config a run config trains on: a teacher config's own, or its teacher's (inline,
 * or by checkpoint path relative to the cwd or to `file`).
 */
export const dataConfigOf = (config: unknown, file?: string, depth = 0): unknown => {
  if (!isRecord(config)) return undefined;
  if (isRecord(config.data)) return config.data;
  const teacher = config.teacher;
  if (isRecord(teacher)) return teacher.data;
  if (typeof teacher === 'string' && depth < 3) {
    for (const candidate of [teacher, ...(file === undefined ? [] : [path.resolve(path.dirname(file), teacher)])]) {
      if (!fs.existsSync(candidate)) continue;
      const ckpt = loadCheckpoint(candidate);
      if (E.isRight(ckpt)) return dataConfigOf(ckpt.right.meta.config, candidate, depth + 1);
    }
  }
  return undefined;
};

export const dataInfoOf = (data: unknown, sampleShape: readonly number[]): DataInfo => {
  if (isRecord(data) && data.kind === 'mixture' && typeof data.name === 'string' && data.name in MIXTURES)
    return { kind: 'points', mixture: { name: data.name as MixtureName, mixture: MIXTURES[data.name as MixtureName] } };
  if (isRecord(data) && data.kind === 'video') {
    const v = resolveVideoOptions(data as never);
    if (E.isRight(v)) return { kind: 'video', frames: v.right.frames, size: v.right.size };
  }
  if (sampleShape.length === 3) return { kind: 'images' };
  if (sampleShape.length === 1 && sampleShape[0] <= 16) return { kind: 'points' };
  return { kind: 'unknown' };
};
