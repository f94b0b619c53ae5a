/**
 * A small image classifier whose penultimate layer is the feature space of the image
 * metrics (Fréchet distance to the teacher's samples, per-class feature diversity): the
 * project's stand-in for Inception (FID) and DINO/LPIPS features.
 *
 *   h₁ = pool(ReLU(conv₃ₓ₃(x; C→c₁)))          H/2 × W/2 × c₁
 *   h₂ = pool(ReLU(conv₃ₓ₃(h₁; c₁→c₂)))        H/4 × W/4 × c₂
 *   f  = W_f·flatten(h₂) + b_f                 features [N, F]
 *   logits = W_o·ReLU(f) + b_o                 [N, classes]
 *
 * pool is a 2×2 average pool written as reshape + mean (its gradient is plain reshapes,
 * fast on every backend). Features are f before the ReLU: the head sees ReLU(f), and the
 * pre-activation is never an all-zero vector, so cosine similarity is always defined.
 * Only tfjs-core ops; conv gradients on wasm come from lib/backend/convGradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import type { Dataset, DataBatch } from '../data/types';
import { Params, glorotUniform } from '../models/params';
import { splitSeed, type Seed } from '../random/seed';
import { PositiveInt } from '../config/primitives';
import { decodeWith, formatIssues } from '../config/report';
import { loadCheckpoint, saveCheckpoint, tensorsUnder, withPrefix, CheckpointError } from '../checkpoint/format';
import { MetricError } from './points';

export const ClassifierConfig = t.intersection([
  t.type({
    /** [H, W, C], H and W divisible by 4. */
    inputShape: t.tuple([PositiveInt, PositiveInt, PositiveInt]),
    numClasses: PositiveInt,
  }),
  t.partial({
    /** Conv channels c₁, c₂ (default 16, 32). */
    channels: t.tuple([PositiveInt, PositiveInt]),
    /** Feature dimension F (default 128). */
    featureDim: PositiveInt,
    seed: t.number,
  }),
]);
export type ClassifierConfig = t.TypeOf<typeof ClassifierConfig>;

const CLASSIFIER_DEFAULTS = { channels: [16, 32] as const, featureDim: 128, seed: 0 };

/** Rows per forward chunk when featurising host arrays (bounds peak memory). */
const CHUNK = 500;

export class FeatureClassifier {
  readonly params = new Params();
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  readonly featureDim: number;
  /** Test accuracy measured after training (or stored with the checkpoint); null if never measured. */
  accuracy: number | null = null;

  constructor(readonly config: ClassifierConfig) {
    const [h, w, c] = config.inputShape;
    if (h % 4 !== 0 || w % 4 !== 0)
      throw new MetricError(
        `classifier inputShape: H and W must be divisible by 4, got [${config.inputShape.join(', ')}]`,
      );
    this.inputShape = [h, w, c];
    this.numClasses = config.numClasses;
    this.featureDim = config.featureDim ?? CLASSIFIER_DEFAULTS.featureDim;
    const [c1, c2] = config.channels ?? CLASSIFIER_DEFAULTS.channels;
    const seed = config.seed ?? CLASSIFIER_DEFAULTS.seed;
    const flat = (h / 4) * (w / 4) * c2;
    this.params.add('conv1.W', glorotUniform([3, 3, c, c1], 9 * c, 9 * c1, splitSeed(seed, 'conv1')));
    this.params.add('conv1.b', tf.zeros([c1]));
    this.params.add('conv2.W', glorotUniform([3, 3, c1, c2], 9 * c1, 9 * c2, splitSeed(seed, 'conv2')));
    this.params.add('conv2.b', tf.zeros([c2]));
    this.params.add(
      'features.W',
      glorotUniform([flat, this.featureDim], flat, this.featureDim, splitSeed(seed, 'features')),
    );
    this.params.add('features.b', tf.zeros([this.featureDim]));
    this.params.add(
      'out.W',
      glorotUniform([this.featureDim, this.numClasses], this.featureDim, this.numClasses, splitSeed(seed, 'out')),
    );
    this.params.add('out.b', tf.zeros([this.numClasses]));
  }

  /** x [N, H, W, C] (or [N, H·W·C]) → features f [N, F]. */
  featureTensor(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const [h, w, c] = this.inputShape;
      if (x.size !== x.shape[0] * h * w * c)
        throw new MetricError(
          `classifier input: expected [N, ${h}, ${w}, ${c}] (or flat [N, ${h * w * c}]), got [${x.shape.join(', ')}]`,
        );
      const img = tf.reshape(x, [-1, h, w, c]) as tf.Tensor4D;
      const h1 = avgPool2(
        tf.relu(
          tf.add(tf.conv2d(img, this.params.get('conv1.W') as tf.Tensor4D, 1, 'same'), this.params.get('conv1.b')),
        ) as tf.Tensor4D,
      );
      const h2 = avgPool2(
        tf.relu(
          tf.add(tf.conv2d(h1, this.params.get('conv2.W') as tf.Tensor4D, 1, 'same'), this.params.get('conv2.b')),
        ) as tf.Tensor4D,
      );
      const flat = tf.reshape(h2, [h2.shape[0], -1]);
      return tf.add(tf.matMul(flat, this.params.get('features.W')), this.params.get('features.b')) as tf.Tensor2D;
    });
  }

  /** logits = W_o·ReLU(f) + b_o, [N, classes]. */
  logits(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(
      () =>
        tf.add(
          tf.matMul(tf.relu(this.featureTensor(x)), this.params.get('out.W')),
          this.params.get('out.b'),
        ) as tf.Tensor2D,
    );
  }

  /** Penultimate features of host images (flat N·H·W·C values or a tensor), as Float32Array [N, F]. */
  features(x: Float32Array | tf.Tensor): Float32Array {
    return this.mapChunks(x, this.featureDim, (chunk) => this.featureTensor(chunk));
  }

  /** Predicted class per image, Int32Array [N]. */
  predict(x: Float32Array | tf.Tensor): Int32Array {
    return Int32Array.from(this.mapChunks(x, 1, (chunk) => tf.cast(tf.argMax(this.logits(chunk), 1), 'float32')));
  }

  /** Runs `f` over chunks of CHUNK rows and concatenates its [n, width] outputs on the host. */
  private mapChunks(x: Float32Array | tf.Tensor, width: number, f: (chunk: tf.Tensor) => tf.Tensor): Float32Array {
    const rowSize = this.inputShape[0] * this.inputShape[1] * this.inputShape[2];
    const size = x instanceof Float32Array ? x.length : x.size;
    if (size % rowSize !== 0)
      throw new MetricError(
        `classifier input: ${size} values is not a whole number of [${this.inputShape.join(', ')}] images`,
      );
    const n = size / rowSize;
    const out = new Float32Array(n * width);
    const host = x instanceof Float32Array ? x : null;
    const flat = x instanceof Float32Array ? null : tf.reshape(x, [n, rowSize]);
    for (let start = 0; start < n; start += CHUNK) {
      const rows = Math.min(CHUNK, n - start);
      const y = tf.tidy(() =>
        f(
          host !== null
            ? tf.tensor2d(host.subarray(start * rowSize, (start + rows) * rowSize), [rows, rowSize])
            : tf.slice(flat!, [start, 0], [rows, rowSize]),
        ),
      );
      out.set(y.dataSync(), start * width);
      y.dispose();
    }
    flat?.dispose();
    return out;
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** 2×2 average pool as reshape + mean: [N, H, W, C] → [N, H/2, W/2, C]. */
export const avgPool2 = (x: tf.Tensor4D): tf.Tensor4D =>
  tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    return tf.mean(tf.reshape(x, [n, h / 2, 2, w / 2, 2, c]), [2, 4]) as tf.Tensor4D;
  });

/** Cross-entropy of logits against int labels: L = −(1/N) Σ_i log softmax(z_i)[y_i]. */
export const crossEntropy = (logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar =>
  tf.tidy(
    () =>
      tf.neg(
        tf.mean(
          tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, logits.shape[1])), 1),
        ),
      ) as tf.Scalar,
  );

/** A dataset whose examples can be enumerated (IndexedDataset fits): exact test accuracy. */
export interface EnumerableDataset extends Dataset {
  gather(indices: ArrayLike<number>): DataBatch;
}

/** Share of correctly classified examples of a whole (enumerable) dataset, or of its first `limit`. */
export const classifierAccuracy = (clf: FeatureClassifier, data: EnumerableDataset, limit = data.size): number => {
  const n = Math.min(limit, data.size);
  let correct = 0;
  for (let start = 0; start < n; start += CHUNK) {
    const rows = Math.min(CHUNK, n - start);
    const { x0, labels } = data.gather(Array.from({ length: rows }, (_, k) => start + k));
    if (labels === null) throw new MetricError(`classifier accuracy: dataset ${data.name} has no labels`);
    const predicted = clf.predict(x0);
    const truth = labels.dataSync();
    for (let k = 0; k < rows; k++) if (predicted[k] === truth[k]) correct++;
    tf.dispose([x0, labels]);
  }
  return correct / n;
};

export interface TrainClassifierOptions {
  /** Optimiser steps (default 1500: about 3 epochs of MNIST at batch 128). */
  readonly steps?: number;
  readonly batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  readonly lr?: number;
  readonly seed?: Seed;
  readonly channels?: readonly [number, number];
  readonly featureDim?: number;
  /** Held-out set for the reported accuracy (all of it, or its first `testLimit` examples). */
  readonly test?: EnumerableDataset;
  readonly testLimit?: number;
  /** Called every `logEvery` steps (default 100) with the mean loss since the last call. */
  readonly onLog?: (step: number, loss: number) => void;
  readonly logEvery?: number;
}

export interface TrainedClassifier {
  readonly classifier: FeatureClassifier;
  /** Test accuracy (null without a test set). */
  readonly accuracy: number | null;
  readonly losses: ReadonlyArray<{ step: number; loss: number }>;
  readonly seconds: number;
}

/**
 * Trains the classifier with Adam on cross-entropy, batches drawn from
 * dataset.sample(B, splitSeed(seed, 'classifier-batch', step)) (same seed → same run).
 */
export const trainFeatureClassifier = (dataset: Dataset, opts: TrainClassifierOptions = {}): TrainedClassifier => {
  if (dataset.sampleShape.length !== 3)
    throw new MetricError(
      `trainFeatureClassifier: dataset ${dataset.name} has sampleShape [${dataset.sampleShape.join(', ')}]; ` +
        `expected images [H, W, C]`,
    );
  if (dataset.numClasses < 2)
    throw new MetricError(
      `trainFeatureClassifier: dataset ${dataset.name} needs at least 2 classes, has ${dataset.numClasses}`,
    );
  const steps = opts.steps ?? 1500;
  const batchSize = opts.batchSize ?? 128;
  const lr0 = opts.lr ?? 1e-3;
  const seed = opts.seed ?? 0;
  const logEvery = opts.logEvery ?? 100;
  const started = Date.now();
  const [h, w, c] = dataset.sampleShape;
  const config = decodeConfig({
    inputShape: [h, w, c],
    numClasses: dataset.numClasses,
    channels: opts.channels,
    featureDim: opts.featureDim,
    seed,
  });
  const clf = new FeatureClassifier(config);
  const optimizer: tf.Optimizer = tf.train.adam(lr0);
  const losses: Array<{ step: number; loss: number }> = [];
  let sum = 0;
  let count = 0;
  for (let step = 0; step < steps; step++) {
    const { x0, labels } = dataset.sample(batchSize, splitSeed(seed, 'classifier-batch', step));
    if (labels === null) throw new MetricError(`trainFeatureClassifier: dataset ${dataset.name} gave no labels`);
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => crossEntropy(clf.logits(x0), labels), clf.params.variables);
      optimizer.applyGradients(grads);
      return value;
    });
    sum += loss.dataSync()[0];
    count++;
    tf.dispose([x0, labels, loss]);
    if ((step + 1) % logEvery === 0 || step + 1 === steps) {
      losses.push({ step: step + 1, loss: sum / count });
      opts.onLog?.(step + 1, sum / count);
      sum = 0;
      count = 0;
    }
  }
  optimizer.dispose();
  clf.accuracy = opts.test === undefined ? null : classifierAccuracy(clf, opts.test, opts.testLimit);
  return { classifier: clf, accuracy: clf.accuracy, losses, seconds: (Date.now() - started) / 1000 };
};

const decodeConfig = (raw: unknown): ClassifierConfig =>
  pipe(
    decodeWith(ClassifierConfig)(JSON.parse(JSON.stringify(raw))),
    E.getOrElseW((issues) => {
      throw new MetricError(`classifier config:\n${formatIssues(issues)}`);
    }),
  );

const PREFIX = 'classifier/';
const META_KIND = 'feature-classifier';

/** Saves weights, config and measured accuracy (atomic, checksummed: lib/checkpoint/format). */
export const saveClassifier = (file: string, clf: FeatureClassifier, extra: Record<string, unknown> = {}): void =>
  saveCheckpoint(file, {
    meta: { ...extra, kind: META_KIND, config: clf.config, accuracy: clf.accuracy },
    tensors: withPrefix(PREFIX, clf.params.read()),
  });

/** Loads a classifier saved by saveClassifier; Left names what is wrong with the file. */
export const loadClassifier = (file: string): E.Either<CheckpointError, FeatureClassifier> =>
  pipe(
    loadCheckpoint(file),
    E.chain((data) => {
      if (data.meta.kind !== META_KIND)
        return E.left(
          new CheckpointError(file, `meta.kind: expected "${META_KIND}", got ${JSON.stringify(data.meta.kind)}`),
        );
      const config = decodeWith(ClassifierConfig)(data.meta.config);
      if (E.isLeft(config)) return E.left(new CheckpointError(file, `meta.config: ${formatIssues(config.left)}`));
      const clf = new FeatureClassifier(config.right);
      try {
        clf.params.write(tensorsUnder(data, PREFIX), `${file}: tensors`);
      } catch (err) {
        clf.dispose();
        return E.left(new CheckpointError(file, (err as Error).message));
      }
      clf.accuracy = typeof data.meta.accuracy === 'number' ? data.meta.accuracy : null;
      return E.right(clf);
    }),
  );

/**
 * The classifier cached at `file` when it was trained on a dataset of the same name (meta.trainedOn),
 * else a fresh one trained with `opts` and saved there. Pipelines call this so the minutes of
 * training happen once per machine.
 */
export const loadOrTrainClassifier = (
  file: string,
  dataset: Dataset,
  opts: TrainClassifierOptions = {},
): { classifier: FeatureClassifier; trained: boolean } => {
  const cached = loadCheckpoint(file);
  if (E.isRight(cached) && cached.right.meta.trainedOn === dataset.name) {
    const clf = loadClassifier(file);
    if (E.isRight(clf)) return { classifier: clf.right, trained: false };
  }
  const r = trainFeatureClassifier(dataset, opts);
  saveClassifier(file, r.classifier, { trainedOn: dataset.name, steps: opts.steps ?? 1500, seconds: r.seconds });
  return { classifier: r.classifier, trained: true };
};
