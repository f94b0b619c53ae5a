/**
 * A portable model: the weights of a teacher or a distilled student plus everything
 * needed to sample from it without the run that made it — its architecture, the student's
 * phase grids or the teacher's sampler, and what its samples are (points or images).
 * The same description travels in an exported safetensors file (`__metadata__`) and in a
 * tfjs model.json (`userDefinedMetadata`), so Node, a browser and Python read one thing.
 */
import * as t from 'io-ts';
import { ModelConfig } from '../models/config';
import { NonNegative, Positive, PositiveInt } from '../config/primitives';

export const PORTABLE_FORMAT = 'phased-dmd-model';
export const PORTABLE_VERSION = 1;

export const PortableSampler = t.type({
  steps: PositiveInt,
  method: t.keyof({ euler: null, heun: null }),
  guidance: NonNegative,
  shift: Positive,
});
export type PortableSampler = t.TypeOf<typeof PortableSampler>;

/** How samples look: 2-D points, or images [size, size, channels]; other shapes are plain vectors. */
export const SampleKind = t.keyof({ points: null, images: null, vectors: null });
export type SampleKind = t.TypeOf<typeof SampleKind>;

export const PortableModel = t.intersection([
  t.type({
    kind: t.keyof({ teacher: null, student: null }),
    /** teacher | dmd | vanilla | sgts | phased. */
    method: t.string,
    model: ModelConfig,
    samples: SampleKind,
  }),
  t.partial({
    /** Student: each phase's step times, start … end; tensors `expert<k>/<param>`. */
    grids: t.array(t.array(t.number)),
    /** Teacher: its trained sampler; tensors `<param>`. */
    sampler: PortableSampler,
    /** The run config that trained it, for the record. */
    config: t.unknown,
  }),
]);
export type PortableModel = t.TypeOf<typeof PortableModel>;

/** Tensor name prefix of a student's phase-k expert. */
export const expertPrefix = (k: number): string => `expert${k}/`;
