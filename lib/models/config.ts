/** Model configs, as io-ts codecs next to their types. */
import * as t from 'io-ts';
import { PositiveInt, NonNegativeInt } from '../config/primitives';

export const MlpConfig = t.intersection([
  t.type({
    kind: t.literal('mlp'),
    /** Data dimension D. */
    dim: PositiveInt,
  }),
  t.partial({
    hidden: t.array(PositiveInt),
    timeEmbedDim: PositiveInt,
    /** 0 = unconditional. */
    numClasses: NonNegativeInt,
    seed: NonNegativeInt,
  }),
]);
export type MlpConfig = t.TypeOf<typeof MlpConfig>;

export const UnetConfig = t.intersection([
  t.type({
    kind: t.literal('unet'),
    /** Image height (28 for MNIST); also the width unless imageWidth is set. */
    size: PositiveInt,
    channels: PositiveInt,
  }),
  t.partial({
    /** Base channel width. */
    width: PositiveInt,
    /** Image width in pixels when it differs from size (non-square images); default size. */
    imageWidth: PositiveInt,
    timeEmbedDim: PositiveInt,
    numClasses: NonNegativeInt,
    seed: NonNegativeInt,
    /**
     * Clips: samples are flat frame-major vectors [frames·size·size·channels] (the video
     * toy's layout) and the U-Net stacks the frames as input channels. Unset: images.
     */
    frames: PositiveInt,
  }),
]);
export type UnetConfig = t.TypeOf<typeof UnetConfig>;

export const ModelConfig = t.union([MlpConfig, UnetConfig]);
export type ModelConfig = t.TypeOf<typeof ModelConfig>;
