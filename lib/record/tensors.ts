/** Live tensors ⇄ recorded host tensors. Reading a tensor is a host sync: recording costs one per recorded tensor. */
import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor, TensorDtype } from './events';

const DTYPES: readonly string[] = ['float32', 'int32', 'bool'];

export const toHost = (x: tf.Tensor): HostTensor => {
  if (!DTYPES.includes(x.dtype))
    throw new TypeError(`record: cannot store a ${x.dtype} tensor (expected float32, int32 or bool)`);
  const data = x.dataSync();
  const dtype = x.dtype as TensorDtype;
  const values =
    dtype === 'float32'
      ? Float32Array.from(data as Float32Array)
      : dtype === 'int32'
        ? Int32Array.from(data as Int32Array)
        : Uint8Array.from(data as Uint8Array);
  return { dtype, shape: x.shape.slice(), values };
};

/** A new tensor owned by the caller. */
export const toTensor = (h: HostTensor): tf.Tensor => tf.tensor(h.values, h.shape as number[], h.dtype);
