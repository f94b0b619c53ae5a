/**
 * What a run's samples are, for figures and metrics: the data kind its config trained on
 * (found through a distillation config's teacher, inline or by checkpoint path) and host
 * copies of drawn samples.
 */
import * as E from 'fp-ts/Either';
import * as fs from 'fs';
import * as path from 'path';
import { resolveVideoOptions } from '../data/video';
import { MIXTURES, MixtureName } from '../data/mixtures';
import type { GaussianMixture } from '../data/types';
import { DataScaling, IDENTITY_SCALING } from '../data/scaling';
import { loadDataset, DataConfig } from '../data/config';
import { CheckpointError, loadCheckpoint } from '../checkpoint/format';

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

/** What a run knows about its data's values: the scaling and class names. */
export interface DataMeta {
  readonly scaling: DataScaling;
  readonly classNames?: readonly string[];
}

const fromMeta = (meta: Readonly<Record<string, unknown>>, file: string): DataMeta | null => {
  if (meta.dataScaling === undefined) return null;
  const scaling = DataScaling.decode(meta.dataScaling);
  if (E.isLeft(scaling))
    throw new CheckpointError(file, 'meta.dataScaling: expected {mapping, shift, scale, lo, hi, dtype}');
  const names = meta.classNames;
  const classNames =
    Array.isArray(names) && names.every((n) => typeof n === 'string') ? (names as string[]) : undefined;
  return { scaling: scaling.right, ...(classNames !== undefined ? { classNames } : {}) };
};

/**
 * The data meta of a checkpoint (meta.dataScaling), else of the teacher its config names
 * (students keep their teacher's data units), else of the built-in data its config trains
 * on, else the identity (see dataMetaOfConfig).
 */
export const dataMetaOf = (meta: Readonly<Record<string, unknown>>, file: string, depth = 0): DataMeta => {
  const own = fromMeta(meta, file);
  if (own !== null) return own;
  const config = meta.config;
  const teacher = isRecord(config) ? config.teacher : undefined;
  if (typeof teacher === 'string' && depth < 3) {
    for (const candidate of [teacher, path.resolve(path.dirname(file), teacher)]) {
      if (!fs.existsSync(candidate)) continue;
      const ckpt = loadCheckpoint(candidate);
      if (E.isRight(ckpt)) return dataMetaOf(ckpt.right.meta, candidate, depth + 1);
    }
  }
  return dataMetaOfConfig(dataConfigOf(config, file));
};

/**
 * The data meta of a checkpoint saved without one: built-in data (MNIST, mixtures, clips) was
 * always scaled as it is now, so it is opened again; user files were then used as given, so
 * their checkpoints get the identity.
 */
export const dataMetaOfConfig = (data: unknown): DataMeta => {
  const decoded = DataConfig.decode(data);
  if (E.isLeft(decoded) || decoded.right.kind === 'npy' || decoded.right.kind === 'image-folder')
    return { scaling: IDENTITY_SCALING };
  const loaded = loadDataset(decoded.right);
  if (E.isLeft(loaded)) return { scaling: IDENTITY_SCALING };
  const d = loaded.right;
  return {
    scaling: d.scaling ?? IDENTITY_SCALING,
    ...(d.classNames !== undefined ? { classNames: d.classNames } : {}),
  };
};
