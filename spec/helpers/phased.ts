/** Test models and contexts for the Phased DMD specs (not a spec file). */
import * as tf from '@tensorflow/tfjs-core';
import { Params } from '../../lib/models/params';
import type { VelocityModel } from '../../lib/models/types';
import type { ModelConfig } from '../../lib/models/config';
import { VelocityMlp } from '../../lib/models/mlp';
import { MlpConfig } from '../../lib/models/config';
import { decodeOrThrow } from '../../lib/config/report';
import type { PhaseContext, ExpertPhase, GeneratorBackprop } from '../../lib/rollout/context';
import { resolveSchedule, ResolvedPhase } from '../../lib/phases/resolve';
import { PhasedSchedule } from '../../lib/phases/segment';

/**
 * v(x, t, c) = b (one trainable vector): an Euler step x + (t' − t)·b is affine in b, so
 * the gradient reaching b is (t' − t)·Σ_batch ∂L/∂x — the generator's gradient w.r.t.
 * its output can be read off b exactly.
 */
export class ConstantVelocity implements VelocityModel {
  readonly params = new Params();
  readonly sampleShape: readonly number[];
  readonly config: ModelConfig;
  calls: Array<{ t: number[]; batch: number; labels: number[] | null }> = [];

  constructor(
    readonly b: readonly number[],
    readonly numClasses = 0,
  ) {
    this.sampleShape = [b.length];
    this.config = { kind: 'mlp', dim: b.length, numClasses } as ModelConfig;
    this.params.add('b', tf.tensor1d([...b]));
  }

  apply(xt: tf.Tensor, t: tf.Tensor, labels: tf.Tensor | null): tf.Tensor {
    this.calls.push({
      t: Array.from(t.dataSync()),
      batch: xt.shape[0],
      labels: labels === null ? null : Array.from(labels.dataSync()),
    });
    return tf.tidy(() => tf.add(tf.mul(xt, 0), tf.reshape(this.params.get('b'), [1, -1])));
  }

  clone(): ConstantVelocity {
    const c = new ConstantVelocity(this.b, this.numClasses);
    c.copyWeightsFrom(this);
    return c;
  }

  copyWeightsFrom(other: VelocityModel): void {
    this.params.assignFrom(other.params);
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** A small MLP on 2-D data (hidden 16×2). */
export const tinyMlp = (numClasses = 0, seed = 1, hidden = [16, 16]): VelocityMlp =>
  new VelocityMlp(
    decodeOrThrow(MlpConfig, { kind: 'mlp', dim: 2, hidden, timeEmbedDim: 8, numClasses, seed }, 'mlp config'),
  );

/**
 * A frozen tinyMlp(3, 1) teacher for the specs of one describe block: made in its beforeAll, disposed in its
 * afterAll; the returned holder is filled in place, so it can be handed to trainDistill as `{ teacher }`.
 */
export const frozenTinyTeacher = (): { model: VelocityMlp; modelConfig: ModelConfig } => {
  const holder = {} as { model: VelocityMlp; modelConfig: ModelConfig };
  beforeAll(() => {
    holder.model = tinyMlp(3, 1);
    holder.model.params.setTrainable(false);
    holder.modelConfig = holder.model.config as ModelConfig;
  });
  afterAll(() => holder.model.dispose());
  return holder;
};

/** The paper's 4-step / 2-phase schedule at shift 5: phase 1 = 1 → .938 → .833, phase 2 = .833 → .625 → 0. */
export const phases4x2 = (over: Record<string, unknown> = {}): ResolvedPhase[] =>
  resolveSchedule(
    decodeOrThrow(PhasedSchedule, {
      shift: 5,
      defaults: { batchSize: 8, updateRatio: 1, ...over },
      phases: [
        { interval: { start: 1, end: 5 / 6 }, steps: 2, iterations: 2 },
        { interval: { start: 5 / 6, end: 0 }, steps: 2, iterations: 2 },
      ],
    }),
  );

/** 4 steps / 4 phases at S = 5: boundaries at unshifted 1, .75, .5, .25, 0. */
export const phases4x4 = (over: Record<string, unknown> = {}): ResolvedPhase[] => {
  const b = [1, 0.75, 0.5, 0.25, 0].map((u) => (5 * u) / (1 + 4 * u));
  return resolveSchedule(
    decodeOrThrow(PhasedSchedule, {
      shift: 5,
      defaults: { batchSize: 8, updateRatio: 1, ...over },
      phases: b.slice(0, -1).map((start, k) => ({ interval: { start, end: b[k + 1] }, steps: 1, iterations: 2 })),
    }),
  );
};

export const contextOf = (a: {
  teacher: VelocityModel;
  generator: VelocityModel;
  fake: VelocityModel;
  phase: ResolvedPhase;
  earlier?: ExpertPhase[];
  backprop?: GeneratorBackprop;
}): PhaseContext => ({
  teacher: a.teacher,
  generator: a.generator,
  fake: a.fake,
  earlier: a.earlier ?? [],
  phase: a.phase,
  shift: 5,
  backprop: a.backprop ?? 'sgts',
  gradient: 'paper',
  stepper: 'euler',
  fakeTracks: 'exit',
});

/** Host copies of a model's parameters. */
export const weightsOf = (m: VelocityModel): Float32Array[] => m.params.read().map((p) => Float32Array.from(p.values));

/** Bitwise equality of two weight lists. */
export const sameBits = (a: readonly Float32Array[], b: readonly Float32Array[]): boolean =>
  a.length === b.length && a.every((x, i) => x.length === b[i].length && x.every((v, j) => Object.is(v, b[i][j])));
