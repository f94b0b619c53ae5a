/**
 * Velocity MLP for low-dimensional data:
 *   h₀ = SiLU(W₀·[x_t, emb(t)] + b₀ + E·onehot(c))
 *   hᵢ = SiLU(Wᵢ·hᵢ₋₁ + bᵢ),   v = W_out·h + b_out
 * with a sinusoidal time embedding and a learned class embedding that includes ∅.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ParamModel, glorotUniform } from './params';
import type { VelocityModel } from './types';
import type { MlpConfig } from './config';
import { sinusoidalEmbedding, labelOneHot } from './timeEmbedding';
import { splitSeed } from '../random/seed';
import { assertShape } from '../util/shapes';
import { silu as fusedSilu, mlpForward, DenseLayer } from '../backend/ops';

export const MLP_DEFAULTS = { hidden: [256, 256, 256], timeEmbedDim: 32, numClasses: 0, seed: 0 } as const;

/** SiLU(x) = x·σ(x): one fused kernel per direction where the backend has one (lib/backend/ops). */
export const silu = fusedSilu;

export class VelocityMlp extends ParamModel<MlpConfig> implements VelocityModel {
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  private readonly hidden: number[];
  private readonly timeEmbedDim: number;

  constructor(config: MlpConfig) {
    super(config);
    this.hidden = [...(config.hidden ?? MLP_DEFAULTS.hidden)];
    this.timeEmbedDim = config.timeEmbedDim ?? MLP_DEFAULTS.timeEmbedDim;
    // the sinusoidal embedding is sin/cos pairs: an odd width would not match the first layer
    if (this.timeEmbedDim % 2 !== 0)
      throw new Error(`model.timeEmbedDim: expected an even number (sin/cos pairs), got ${this.timeEmbedDim}`);
    this.numClasses = config.numClasses ?? MLP_DEFAULTS.numClasses;
    this.sampleShape = [config.dim];
    const seed = config.seed ?? MLP_DEFAULTS.seed;
    let fanIn = config.dim + this.timeEmbedDim;
    this.hidden.forEach((width, i) => {
      this.params.add(`dense${i}.W`, glorotUniform([fanIn, width], fanIn, width, splitSeed(seed, 'dense', i)));
      this.params.add(`dense${i}.b`, tf.zeros([width]));
      fanIn = width;
    });
    if (this.numClasses > 0) {
      this.params.add(
        'classEmbedding',
        tf.randomNormal([this.numClasses + 1, this.hidden[0]], 0, 0.1, 'float32', splitSeed(seed, 'classEmbedding')),
      );
    }
    this.params.add('out.W', glorotUniform([fanIn, config.dim], fanIn, config.dim, splitSeed(seed, 'out')));
    this.params.add('out.b', tf.zeros([config.dim]));
  }

  apply(xt: tf.Tensor, t: tf.Tensor, labels: tf.Tensor | null): tf.Tensor {
    assertShape(xt, [null, ...this.sampleShape], 'mlp input x_t');
    return tf.tidy(() => {
      const inputs = [xt, sinusoidalEmbedding(t, this.timeEmbedDim)];
      let W0: tf.Tensor = this.params.get('dense0.W');
      if (this.numClasses > 0) {
        // E·onehot(c) folded into the first layer: [x, emb, onehot]·[W₀; E] = W₀·[x, emb] + E·onehot, one product
        inputs.push(labelOneHot(labels ?? tf.fill([xt.shape[0]], this.numClasses, 'int32'), this.numClasses));
        W0 = tf.concat([W0, this.params.get('classEmbedding')], 0);
      }
      const layers: DenseLayer[] = this.hidden.map((_, i) => ({
        W: i === 0 ? W0 : this.params.get(`dense${i}.W`),
        b: this.params.get(`dense${i}.b`),
        activation: 'silu',
      }));
      layers.push({ W: this.params.get('out.W'), b: this.params.get('out.b'), activation: 'linear' });
      return mlpForward(tf.concat(inputs, 1), layers);
    });
  }
}
