/**
 * A trained model from a checkpoint, whatever trained it: a teacher (multi-step sampler
 * with CFG) or a distilled student (its experts, few steps). Also what the data looked
 * like (from the config stored in the checkpoint), so samples can be drawn as the right
 * kind of figure.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { CheckpointError, loadCheckpoint } from '../lib/checkpoint/format';
import type { DataInfo, Samples } from '../lib/plots/dataInfo';
import { dataConfigOf, dataInfoOf, dataMetaOf, isRecord } from '../lib/plots/dataInfo';
import { loadTeacher, sampleTeacher, SamplerSettings, teacherNfe } from '../lib/teacher/teacher';
import { loadStudent } from '../lib/distill/distill';
import { sampleStudent, studentNfe } from '../lib/distill/student';
import { UsageError } from './args';
import type { DataScaling } from '../lib/data/scaling';

export interface LoadedModel {
  readonly kind: 'teacher' | 'student';
  /** teacher | dmd | vanilla | sgts | phased. */
  readonly method: string;
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  readonly nfe: number;
  readonly data: DataInfo;
  /** How the training data's values became the model's; samples map back through it (identity when unknown). */
  readonly scaling: DataScaling;
  /** Class names by id, when the data named its classes (an image folder's sub-folders). */
  readonly classNames?: readonly string[];
  sample(n: number, seed: number, labels: Int32Array | null | undefined, sampler?: SamplerSettings): Samples;
  dispose(): void;
}

const read = (x: tf.Tensor, labels: tf.Tensor1D | null): Samples => {
  const out = {
    values: x.dataSync() as Float32Array,
    shape: x.shape,
    labels: labels === null ? null : (labels.dataSync() as Int32Array),
  };
  x.dispose();
  labels?.dispose();
  return out;
};

export const loadModel = (file: string): LoadedModel => {
  const ckpt = loadCheckpoint(file);
  if (E.isLeft(ckpt)) throw ckpt.left;
  const meta = ckpt.right.meta;
  if (meta.kind === 'teacher') {
    const t = loadTeacher(file);
    if (E.isLeft(t)) throw t.left;
    const { model, config } = t.right;
    const trained = (isRecord(config) && isRecord(config.sampler) ? config.sampler : {}) as SamplerSettings;
    return {
      kind: 'teacher',
      method: 'teacher',
      sampleShape: model.sampleShape,
      numClasses: model.numClasses,
      nfe: teacherNfe(trained, model.numClasses),
      data: dataInfoOf(dataConfigOf(meta.config, file), model.sampleShape),
      ...dataMetaOf(meta, file),
      sample: (n, seed, labels, sampler) => {
        const r = sampleTeacher(model, {
          n,
          seed,
          ...(labels !== undefined ? { labels } : {}),
          sampler: { ...trained, ...sampler },
        });
        return read(r.x, r.labels);
      },
      dispose: () => model.dispose(),
    };
  }
  if (meta.kind === 'student') {
    const s = loadStudent(file);
    if (E.isLeft(s)) throw s.left;
    const { experts, method } = s.right;
    const first = experts[0].expert;
    return {
      kind: 'student',
      method,
      sampleShape: first.sampleShape,
      numClasses: first.numClasses,
      nfe: studentNfe(experts),
      data: dataInfoOf(dataConfigOf(meta.config, file), first.sampleShape),
      ...dataMetaOf(meta, file),
      sample: (n, seed, labels) => {
        const r = sampleStudent(experts, { n, seed, ...(labels !== undefined ? { labels } : {}) });
        return read(r.x, r.labels);
      },
      dispose: () => experts.forEach((e) => e.expert.dispose()),
    };
  }
  throw new CheckpointError(file, `meta.kind: expected "teacher" or "student", got ${JSON.stringify(meta.kind)}`);
};

/** Labels for `n` samples of class `c` (checked against the model), or undefined (the sampler's default draw). */
export const classLabels = (
  model: Pick<LoadedModel, 'numClasses'>,
  n: number,
  c: number | undefined,
): Int32Array | undefined => {
  if (c === undefined) return undefined;
  if (model.numClasses === 0) throw new UsageError('--class: the model is unconditional (trained without labels)');
  if (!Number.isInteger(c) || c < 0 || c >= model.numClasses)
    throw new UsageError(`--class: expected a class id in 0…${model.numClasses - 1}, got ${c}`);
  return new Int32Array(n).fill(c);
};
