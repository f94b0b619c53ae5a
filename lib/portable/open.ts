/**
 * A portable model as a sampler, in Node or in a browser (no Node APIs): a teacher
 * samples with its multi-step CFG sampler, a student runs its experts over their grids.
 * The same description, weights and seed give the same samples on every backend, up to
 * float rounding: every random draw is a seeded tfjs draw, generated in JavaScript.
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import type { NamedTensorData } from '../models/params';
import type { VelocityModel } from '../models/types';
import { buildModel } from '../models/build';
import { sampleGuided, GuidedSampler } from '../samplers/guided';
import { sampleStudent, studentNfe } from '../distill/student';
import type { ExpertPhase } from '../rollout/context';
import { PortableModel, PortableSampler, expertPrefix } from './model';
import { decodeWith, formatIssues } from '../config/report';

export interface PortableSampleOptions {
  readonly n: number;
  readonly seed: number;
  /** Class ids per sample; default: drawn uniformly from the seed (null: unconditional). */
  readonly labels?: Int32Array | null;
  /** Teacher only: overrides of its sampler (e.g. steps: 40). */
  readonly sampler?: Partial<GuidedSampler>;
}

export interface OpenedModel {
  readonly description: PortableModel;
  readonly numClasses: number;
  readonly sampleShape: readonly number[];
  /** Network evaluations per sample (a guided teacher counts its batched CFG pass once). */
  nfe(sampler?: Partial<GuidedSampler>): number;
  sample(o: PortableSampleOptions): { x: tf.Tensor; labels: tf.Tensor1D | null };
  dispose(): void;
}

export const TEACHER_SAMPLER: PortableSampler = {
  steps: 40,
  method: 'euler',
  guidance: 1,
  shift: 1,
} as PortableSampler;

/** A model of the description's architecture holding `tensors` (names without prefix), frozen. */
const frozen = (description: PortableModel, tensors: readonly NamedTensorData[], where: string): VelocityModel => {
  const model = buildModel(description.model);
  try {
    model.params.write(tensors, where);
  } catch (err) {
    model.dispose();
    throw err;
  }
  model.params.setTrainable(false);
  return model;
};

const under = (tensors: readonly NamedTensorData[], prefix: string): NamedTensorData[] =>
  tensors.filter((x) => x.name.startsWith(prefix)).map((x) => ({ ...x, name: x.name.slice(prefix.length) }));

/**
 * Builds the sampler; a wrong description or a missing or misshapen tensor is a Left that
 * names it. Needs an initialised tfjs backend.
 */
export const openPortable = (
  input: unknown,
  tensors: readonly NamedTensorData[],
  where = 'model',
): E.Either<Error, OpenedModel> => {
  const decoded = decodeWith(PortableModel)(input);
  if (E.isLeft(decoded))
    return E.left(new Error(`${where}: not a phased-dmd model description: ${formatIssues(decoded.left)}`));
  const d = decoded.right;
  try {
    if (d.kind === 'teacher') {
      const model = frozen(d, tensors, `${where}: teacher`);
      const base = d.sampler ?? TEACHER_SAMPLER;
      return E.right({
        description: d,
        numClasses: model.numClasses,
        sampleShape: model.sampleShape,
        nfe: (s) => ({ ...base, ...s }).steps,
        sample: (o) =>
          sampleGuided(model, {
            n: o.n,
            seed: o.seed,
            ...(o.labels !== undefined ? { labels: o.labels } : {}),
            sampler: { ...base, ...o.sampler },
          }),
        dispose: () => model.dispose(),
      });
    }
    if (d.grids === undefined || d.grids.length === 0)
      return E.left(new Error(`${where}: a student needs grids (one time grid per phase)`));
    const experts: ExpertPhase[] = [];
    try {
      d.grids.forEach((grid, k) =>
        experts.push({ grid, expert: frozen(d, under(tensors, expertPrefix(k)), `${where}: expert${k}`) }),
      );
    } catch (err) {
      experts.forEach((e) => e.expert.dispose());
      throw err;
    }
    return E.right({
      description: d,
      numClasses: experts[0].expert.numClasses,
      sampleShape: experts[0].expert.sampleShape,
      nfe: () => studentNfe(experts),
      sample: (o) =>
        sampleStudent(experts, { n: o.n, seed: o.seed, ...(o.labels !== undefined ? { labels: o.labels } : {}) }),
      dispose: () => experts.forEach((e) => e.expert.dispose()),
    });
  } catch (err) {
    return E.left(new Error((err as Error).message));
  }
};
