import * as tf from '@tensorflow/tfjs-core';
import { MonoTypeOperatorFunction, tap } from 'rxjs';

/**
 * Debug tap: records tf.memory().numTensors as each element passes, so a spec (or a
 * user hunting a leak) can see which operator holds on to tensors.
 */
export const countTensors = <T>(
  label: string,
  sink: (label: string, numTensors: number) => void,
): MonoTypeOperatorFunction<T> => tap(() => sink(label, tf.memory().numTensors));
