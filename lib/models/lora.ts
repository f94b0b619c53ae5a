/**
 * Low-rank adapters (LoRA) on one shared frozen backbone, as the paper trains its
 * experts: every dense weight W [in, out] of the backbone — and every 1×1 convolution
 * kernel [1, 1, in, out], which is a dense layer per pixel — reads as
 *
 *   W' = W + A·B,   A [in, r] ~ U(−1/√in, 1/√in),   B [r, out] = 0,
 *
 * so a fresh adapter computes exactly the backbone's function, and only A and B train.
 * Other parameters (biases, class embeddings, k×k convolutions) are the backbone's,
 * untouched. The backbone is shared, never copied, never owned: disposing an adapter
 * frees A and B only.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as t from 'io-ts';
import { Params, NamedTensorData } from './params';
import type { VelocityModel } from './types';
import type { ModelConfig } from './config';
import { PositiveInt, atMost } from '../config/primitives';
import { splitSeed, Seed } from '../random/seed';

export const LoraConfig = t.type({
  rank: atMost(PositiveInt, 16_384, 'a rank above the widest layer (at most 16,384) adds nothing'),
});
export type LoraConfig = t.TypeOf<typeof LoraConfig>;

/** A backbone weight an adapter targets: its name and its [in, out] view. */
export interface LoraTarget {
  readonly name: string;
  readonly shape: readonly number[];
  readonly fanIn: number;
  readonly fanOut: number;
}

/** The backbone's dense weights: `*.W` of shape [in, out], or [1, 1, in, out] (1×1 convolutions). */
export const loraTargets = (backbone: Params): LoraTarget[] =>
  backbone.names.flatMap((name) => {
    if (!name.endsWith('.W')) return [];
    const shape = backbone.get(name).shape;
    if (shape.length === 2) return [{ name, shape, fanIn: shape[0], fanOut: shape[1] }];
    if (shape.length === 4 && shape[0] === 1 && shape[1] === 1)
      return [{ name, shape, fanIn: shape[2], fanOut: shape[3] }];
    return [];
  });

export class LoraModel implements VelocityModel {
  readonly params = new Params();
  readonly targets: readonly LoraTarget[];

  /** A fresh adapter (B = 0: the backbone's function) with A drawn from `seed`. */
  constructor(
    readonly backbone: VelocityModel,
    readonly rank: number,
    seed: Seed,
  ) {
    this.targets = loraTargets(backbone.params);
    if (this.targets.length === 0)
      throw new Error(
        `LoRA: the ${backbone.config.kind} backbone has no dense weights (*.W of shape [in, out] or [1, 1, in, out])`,
      );
    for (const { name, fanIn, fanOut } of this.targets) {
      const bound = 1 / Math.sqrt(fanIn);
      this.params.add(
        `${name}.A`,
        tf.randomUniform([fanIn, rank], -bound, bound, 'float32', splitSeed(seed, 'lora', name)),
      );
      this.params.add(`${name}.B`, tf.zeros([rank, fanOut]));
    }
  }

  get config(): ModelConfig {
    return this.backbone.config;
  }
  get sampleShape(): readonly number[] {
    return this.backbone.sampleShape;
  }
  get numClasses(): number {
    return this.backbone.numClasses;
  }

  /** W + A·B for every target, in the backbone's own shape (call inside a tidy). */
  private adapted(): Map<string, tf.Tensor> {
    return new Map(
      this.targets.map(({ name, shape }) => {
        const delta = tf.matMul(this.params.get(`${name}.A`), this.params.get(`${name}.B`));
        return [
          name,
          tf.add(this.backbone.params.get(name), shape.length === 2 ? delta : tf.reshape(delta, shape as number[])),
        ];
      }),
    );
  }

  /** The backbone's forward with W + A·B read in place of each W: gradients reach A and B only. */
  apply(xt: tf.Tensor, tt: tf.Tensor, labels: tf.Tensor | null): tf.Tensor {
    return tf.tidy(() => {
      const weights = this.adapted();
      return this.backbone.params.withSubstitutes(weights, () => this.backbone.apply(xt, tt, labels));
    });
  }

  /** Another adapter on the same backbone with copied A, B. */
  clone(): LoraModel {
    const copy = new LoraModel(this.backbone, this.rank, 0);
    copy.copyWeightsFrom(this);
    return copy;
  }

  copyWeightsFrom(other: VelocityModel): void {
    this.params.assignFrom(other.params);
  }

  /**
   * A plain model of the backbone's kind with the adapter merged in (W ← W + A·B): what
   * a saved student stores, so that loading it needs no backbone.
   */
  merged(build: (config: ModelConfig) => VelocityModel): VelocityModel {
    const plain = build(this.backbone.config);
    plain.copyWeightsFrom(this.backbone);
    tf.tidy(() => {
      for (const [name, w] of this.adapted()) plain.params.get(name).assign(w);
    });
    return plain;
  }

  /** Host copies of the backbone's parameters with the adapter merged in (W + A·B), in the backbone's order. */
  readMerged(): NamedTensorData[] {
    const merged: Record<string, tf.Tensor> = tf.tidy(() => Object.fromEntries(this.adapted()));
    try {
      return this.backbone.params.read().map((p) => {
        const w = merged[p.name];
        return w === undefined
          ? p
          : { name: p.name, shape: w.shape.slice(), values: Float32Array.from(w.dataSync() as Float32Array) };
      });
    } finally {
      Object.values(merged).forEach((w) => w.dispose());
    }
  }

  /** Frees A and B (the backbone is shared and stays). */
  dispose(): void {
    this.params.dispose();
  }
}

/** A model's weights as a plain model of its kind stores them: LoRA adapters merged into their backbone. */
export const plainWeights = (m: VelocityModel): NamedTensorData[] => (isLora(m) ? m.readMerged() : m.params.read());

/** Is this model a low-rank adapter (so a checkpoint stores A, B and needs the backbone)? */
export const isLora = (m: VelocityModel): m is LoraModel => m instanceof LoraModel;
