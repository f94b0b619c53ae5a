/**
 * Conv2D gradients as forward convolutions, for the wasm backend.
 *
 * wasm has no Conv2DBackpropFilter kernel and its Conv2DBackpropInput is a slow scalar
 * loop. Both gradients of y = conv2d(x, W; stride s, pads p) are forward convolutions
 * (XNNPACK-fast on wasm):
 *   ∂L/∂x = conv(pad(dilate_s(dy)), flip(W)ᵀ)     stride 1, "valid"
 *   ∂L/∂W = conv(pad_p(x)ᵀ, dyᵀ; dilation s)ᵀ     batch and channel axes swapped
 * Registered globally (tfjs gradients are not per backend) and taken by backend:
 * - wasm: both formulas;
 * - cpu: the filter formula only — the cpu Conv2DBackpropFilter kernel is a scalar loop
 *   ~45× slower than a forward conv (a 28×28×32 layer, batch 8: 13 s vs 0.3 s of CPU);
 *   its Conv2DBackpropInput is as fast as a forward conv and stays;
 * - any other backend (tfjs-node): the stock gradient, native kernels.
 * NHWC, filter dilation 1 only (the stock gradient has the same limits).
 */
import * as tf from '@tensorflow/tfjs-core';
import { addGradientRegistration } from './gradients';

type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];
export type ConvPad = 'valid' | 'same' | number | ExplicitPadding;
type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;
type Shape4 = [number, number, number, number];

interface ConvAttrs {
  readonly strides: [number, number] | number;
  readonly pad: ConvPad;
  readonly dataFormat?: 'NHWC' | 'NCHW';
  readonly dilations?: [number, number] | number;
  readonly dimRoundingMode?: RoundingMode;
}

const convInfo = (
  xShape: Shape4,
  filterShape: Shape4,
  strides: ConvAttrs['strides'],
  pad: ConvPad,
  rounding: RoundingMode,
) => tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, rounding);

/** Pads (n > 0) or crops (n < 0) axis 1 or 2 of a rank-4 tensor at its start/end. */
const padOrCrop = (x: tf.Tensor4D, axis: 1 | 2, before: number, after: number): tf.Tensor4D => {
  let y = x;
  if (before < 0 || after < 0) {
    const begin = [0, 0, 0, 0];
    const size = [-1, -1, -1, -1];
    begin[axis] = Math.max(0, -before);
    size[axis] = y.shape[axis] - begin[axis] - Math.max(0, -after);
    y = tf.slice(y, begin, size);
  }
  if (before > 0 || after > 0) {
    const paddings: Array<[number, number]> = [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ];
    paddings[axis] = [Math.max(0, before), Math.max(0, after)];
    y = tf.pad(y, paddings);
  }
  return y;
};

/** Inserts s−1 zeros between neighbouring rows / columns: [B, H, W, C] → [B, sₕ·H, s_w·W, C] (trailing zeros kept). */
const dilate = (dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D => {
  if (sh === 1 && sw === 1) return dy;
  const [b, h, w, c] = dy.shape;
  const spread = tf.pad(tf.reshape(dy, [b, h, 1, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  return tf.reshape(spread, [b, h * sh, w * sw, c]);
};

/**
 * ∂L/∂x of y = conv2d(x, W): dx[i] = Σₐ dŷ[i + p_top − a]·W[a] with dŷ the s-dilated dy,
 * i.e. a stride-1 "valid" correlation of the padded dŷ with the spatially flipped
 * kernel, its in/out channels swapped. The padding makes the output exactly H × W.
 */
export const conv2dInputGrad = (
  xShape: Shape4,
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: ConvAttrs['strides'],
  pad: ConvPad,
  rounding?: RoundingMode,
): tf.Tensor4D =>
  tf.tidy(() => {
    const info = convInfo(xShape, filter.shape, strides, pad, rounding);
    const [kh, kw] = [info.filterHeight, info.filterWidth];
    const { top, left } = info.padInfo;
    let d = dilate(dy, info.strideHeight, info.strideWidth);
    const beforeH = kh - 1 - top;
    const beforeW = kw - 1 - left;
    d = padOrCrop(d, 1, beforeH, info.inHeight + kh - 1 - beforeH - d.shape[1]);
    d = padOrCrop(d, 2, beforeW, info.inWidth + kw - 1 - beforeW - d.shape[2]);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(d, flipped, 1, 'valid');
  });

/**
 * ∂L/∂W of y = conv2d(x, W): dW[a, b, i, o] = Σ_{n,u,v} x̂[n, s·u + a, s·v + b, i]·dy[n, u, v, o]
 * with x̂ the padded input: a convolution of x̂ (batch ↔ channel) with dy as the
 * kernel (batch as its input channels), dilated by the stride.
 */
export const conv2dFilterGrad = (
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: Shape4,
  strides: ConvAttrs['strides'],
  pad: ConvPad,
  rounding?: RoundingMode,
): tf.Tensor4D =>
  tf.tidy(() => {
    const info = convInfo(x.shape, filterShape, strides, pad, rounding);
    const [kh, kw] = [info.filterHeight, info.filterWidth];
    const [sh, sw] = [info.strideHeight, info.strideWidth];
    const { top, left } = info.padInfo;
    // rows/cols the forward pass actually read: (out − 1)·s + k, starting at −pad
    const needH = (info.outHeight - 1) * sh + kh;
    const needW = (info.outWidth - 1) * sw + kw;
    let xp = padOrCrop(x, 1, top, needH - top - x.shape[1]);
    xp = padOrCrop(xp, 2, left, needW - left - x.shape[2]);
    const xT = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [Cin, H', W', B]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, B, Cout]
    const g = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [sh, sw]); // [Cin, kh, kw, Cout]
    return tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D;
  });

type GradFunc = tf.GradConfig['gradFunc'];

const isOne = (d: ConvAttrs['dilations']): boolean =>
  d === undefined || (typeof d === 'number' ? d === 1 : d[0] === 1 && d[1] === 1);
/** 'wasm' / 'cpu' where the forward-conv formulas apply, else null (stock gradient). */
const formulaBackend = (attrs: ConvAttrs): 'wasm' | 'cpu' | null => {
  const backend = tf.getBackend();
  if ((backend !== 'wasm' && backend !== 'cpu') || (attrs.dataFormat ?? 'NHWC') !== 'NHWC' || !isOne(attrs.dilations))
    return null;
  return backend;
};

const conv2dGrad =
  (orig: GradFunc): GradFunc =>
  (dy, saved, attrs) => {
    const a = attrs as unknown as ConvAttrs;
    const backend = formulaBackend(a);
    if (backend === null) return orig(dy, saved, attrs);
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const g = dy as tf.Tensor4D;
    return {
      x:
        backend === 'wasm'
          ? () => conv2dInputGrad(x.shape, g, filter, a.strides, a.pad, a.dimRoundingMode)
          : orig(dy, saved, attrs).x,
      filter: () => conv2dFilterGrad(x, g, filter.shape, a.strides, a.pad, a.dimRoundingMode),
    };
  };

/** conv2dTranspose: y = Conv2DBackpropInput(dy, W); its W-gradient is the conv filter gradient with x = upstream. */
const conv2dTransposeGrad =
  (orig: GradFunc): GradFunc =>
  (ddx, saved, attrs) => {
    const a = attrs as unknown as ConvAttrs;
    if (formulaBackend(a) === null) return orig(ddx, saved, attrs);
    const [dy, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const up = ddx as tf.Tensor4D;
    return {
      dy: () => tf.conv2d(up, filter, a.strides, a.pad, 'NHWC', 1, a.dimRoundingMode),
      filter: () => conv2dFilterGrad(up, dy, filter.shape, a.strides, a.pad, a.dimRoundingMode),
    };
  };

let installed = false;
/** Replaces the Conv2D and Conv2DBackpropInput gradients (idempotent). */
export const installConvGradients = (): void => {
  if (installed) return;
  for (const [kernelName, make, inputsToSave] of [
    ['Conv2D', conv2dGrad, ['x', 'filter']],
    ['Conv2DBackpropInput', conv2dTransposeGrad, ['dy', 'filter']],
  ] as const) {
    const orig = tf.getGradient(kernelName);
    if (orig === undefined) throw new Error(`no gradient registered for ${kernelName}; load @tensorflow/tfjs first`);
    tf.registerGradient({ kernelName, inputsToSave: [...inputsToSave], gradFunc: make(orig.gradFunc) });
  }
  installed = true;
};

addGradientRegistration((backend) => {
  if (backend === 'wasm' || backend === 'cpu') installConvGradients();
});
