/**
 * What a pipeline config says about its model: the architecture knobs only. The data
 * decides the rest (dimension, image size, number of classes).
 */
import * as t from 'io-ts';
import { PositiveInt, Width, arrayAtMost, atMost } from '../config/primitives';
import type { Dataset } from '../data/types';
import type { ModelConfig } from './config';
import { ShapeError } from '../util/shapes';

export const ModelSpec = t.union([
  t.intersection([
    t.type({ kind: t.literal('mlp') }),
    t.partial({ hidden: arrayAtMost(Width, 64, 'a deeper MLP is not meant here'), timeEmbedDim: Width }),
  ]),
  t.intersection([
    t.type({ kind: t.literal('unet') }),
    t.partial({ width: atMost(PositiveInt, 1024, 'wider U-Nets do not fit in memory'), timeEmbedDim: Width }),
  ]),
]);
export type ModelSpec = t.TypeOf<typeof ModelSpec>;

/** Completes a spec from the data: class-conditional whenever the data has labels. */
export const modelConfigFor = (spec: ModelSpec, data: Dataset, seed: number): ModelConfig => {
  if (spec.kind === 'mlp') {
    if (data.sampleShape.length !== 1)
      throw new ShapeError(
        `model.kind "mlp" needs vector data, got samples of shape [${data.sampleShape}]; use "unet"`,
      );
    return { ...spec, dim: data.sampleShape[0], numClasses: data.numClasses, seed } as ModelConfig;
  }
  const clip = data.clipDims;
  if (clip !== undefined) {
    // flat clips: the U-Net stacks the frames as channels (lib/models/unet.ts)
    if (clip.height !== clip.width)
      throw new ShapeError(`model.kind "unet" needs square frames, got ${clip.height}×${clip.width} clips`);
    if (clip.height % 4 !== 0)
      throw new ShapeError(
        `data.size: the U-Net halves each frame twice, so the frame size must be divisible by 4, got ` +
          `${clip.height}; use a size like ${4 * Math.max(1, Math.round(clip.height / 4))} or model.kind "mlp"`,
      );
    return {
      ...spec,
      size: clip.height,
      channels: clip.channels ?? 1,
      frames: clip.frames,
      numClasses: data.numClasses,
      seed,
    } as ModelConfig;
  }
  const [h, w, c] = data.sampleShape;
  if (data.sampleShape.length !== 3)
    throw new ShapeError(
      `model.kind "unet" needs images [H, W, C] or video clips, got samples of shape [${data.sampleShape}]; use "mlp"`,
    );
  if (h % 4 !== 0 || w % 4 !== 0)
    throw new ShapeError(
      `model.kind "unet" halves each side twice, so height and width must be divisible by 4, got ${h}×${w} images; ` +
        `pad or crop them (e.g. to ${4 * Math.ceil(h / 4)}×${4 * Math.ceil(w / 4)})`,
    );
  return {
    ...spec,
    size: h,
    ...(w !== h ? { imageWidth: w } : {}),
    channels: c,
    numClasses: data.numClasses,
    seed,
  } as ModelConfig;
};
