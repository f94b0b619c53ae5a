/**
 * All applicable metrics for one sample set against a reference set (the teacher's own
 * samples, as the paper computes FID against the base model), as a JSON-able object.
 *
 * The "evaluation space" is the classifier's feature space when a classifier is given
 * (images), else the raw flattened samples (2-D mixtures, video clips). Distribution
 * distances, k-NN metrics and the Fréchet distance are computed there; mode metrics on the
 * raw samples of a known mixture; motion metrics on the raw clips; per-class diversity on
 * classifier features.
 */
import { modeReport } from './mixture';
import { energyFromDistances } from './energy';
import { medianHeuristic, mmd2FromDistances, pooledMedianHeuristic } from './mmd';
import { slicedWasserstein } from './sliced';
import { precisionRecallFromDistances, densityCoverageFromDistances } from './knn';
import { vendiCosine, vendiRbf } from './vendi';
import { frechetDistanceOfSamples } from './linalg';
import { meanPairwiseCosine, meanPairwiseDistance, type PerClass } from './diversity';
import { motionReport, type ClipDims, type MotionReport } from './motion';
import type { FeatureClassifier } from './classifier';
import { MetricError, pairDistances, strideRows, type Rows } from './points';
import type { GaussianMixture } from '../data/types';
import type { Seed } from '../random/seed';

/** Samples as host values [N, ...sampleShape] (row-major), optional int labels [N]. */
export interface SampleSet {
  readonly values: Rows;
  readonly shape: readonly number[];
  readonly labels?: ArrayLike<number> | null;
}

export interface EvaluateOptions {
  /** Known mixture of the data: modes covered and high-quality share. */
  readonly mixture?: GaussianMixture;
  /** Image feature classifier: metrics in its feature space, diversity, class accuracy. */
  readonly classifier?: FeatureClassifier;
  /** Clip layout of each sample: motion metrics. */
  readonly clip?: ClipDims;
  /** Dynamic-degree threshold, px/frame (default 0.5). */
  readonly motionThreshold?: number;
  /** Seed of the sliced-Wasserstein projections (default 0). */
  readonly seed?: Seed;
  /** Rows used by the O(N²) metrics, per set (default 1000, even stride). */
  readonly maxPoints?: number;
  /** Fréchet distance only up to this evaluation dimension (default 256; its eigenproblems are O(D³)). */
  readonly maxFrechetDim?: number;
}

export interface Evaluation {
  readonly samples: number;
  readonly referenceSamples: number | null;
  readonly space: 'raw' | 'features';
  readonly dim: number;
  readonly mixture?: { readonly modesCovered: number; readonly numModes: number; readonly highQualityPercent: number };
  readonly distances?: {
    readonly energy: number;
    readonly mmd2: number;
    readonly mmdBandwidth: number;
    readonly slicedWasserstein: number;
    readonly slicedSeed: number;
    /** Fréchet distance in the evaluation space (FID-like with features); null above maxFrechetDim. */
    readonly frechet: number | null;
  };
  readonly knn?: {
    readonly precision: number;
    readonly recall: number;
    readonly density: number;
    readonly coverage: number;
  };
  readonly vendi: { readonly score: number; readonly kernel: 'cosine' | 'rbf' };
  readonly diversity?: { readonly cosine: PerClass; readonly distance: PerClass };
  readonly classAccuracy?: number;
  readonly motion?: MotionReport & { readonly reference: MotionReport | null };
}

const f32 = (x: Rows): Float32Array => (x instanceof Float32Array ? x : Float32Array.from(x as ArrayLike<number>));

const rowDim = (s: SampleSet, what: string): { n: number; dim: number } => {
  if (s.shape.length < 2)
    throw new MetricError(`${what}.shape: expected [N, ...sampleShape], got [${s.shape.join(', ')}]`);
  const n = s.shape[0];
  const dim = s.shape.slice(1).reduce((a, b) => a * b, 1);
  if (s.values.length !== n * dim)
    throw new MetricError(`${what}: shape [${s.shape.join(', ')}] needs ${n * dim} values, got ${s.values.length}`);
  if (s.labels != null && s.labels.length !== n)
    throw new MetricError(`${what}.labels: expected ${n} labels, got ${s.labels.length}`);
  return { n, dim };
};

/** Metrics of `samples` against `reference` (null: only the metrics that need no reference). */
export const evaluateSamples = (
  samples: SampleSet,
  reference: SampleSet | null,
  opts: EvaluateOptions = {},
): Evaluation => {
  const { n, dim: rawDim } = rowDim(samples, 'samples');
  const ref = reference === null ? null : rowDim(reference, 'reference');
  if (ref !== null && ref.dim !== rawDim)
    throw new MetricError(`reference: samples have ${rawDim} values each, reference ${ref.dim}`);
  const maxPoints = opts.maxPoints ?? 1000;
  const seed = opts.seed ?? 0;
  const clf = opts.classifier;
  const toSpace = (s: SampleSet): Rows => (clf === undefined ? s.values : clf.features(f32(s.values)));
  const dim = clf === undefined ? rawDim : clf.featureDim;
  const x = toSpace(samples);
  const xs = strideRows(x, dim, maxPoints);
  const ys = reference === null ? null : strideRows(toSpace(reference), dim, maxPoints);
  const out: { -readonly [K in keyof Evaluation]: Evaluation[K] } = {
    samples: n,
    referenceSamples: ref === null ? null : ref.n,
    space: clf === undefined ? 'raw' : 'features',
    dim,
    // RBF bandwidth from the reference, so every method evaluated against it shares one kernel (see vendiRbf)
    vendi:
      clf !== undefined
        ? { score: vendiCosine(xs, dim), kernel: 'cosine' }
        : { score: vendiRbf(xs, dim, { sigma: medianHeuristic(ys ?? xs, dim) }), kernel: 'rbf' },
  };
  if (opts.mixture !== undefined) {
    const m = modeReport(f32(samples.values), rawDim, opts.mixture);
    out.mixture = { modesCovered: m.modesCovered, numModes: m.numModes, highQualityPercent: m.highQualityPercent };
  }
  if (ys !== null) {
    if (n < 2 || ref!.n < 2)
      throw new MetricError(
        `evaluateSamples: distances need at least 2 samples and 2 reference samples, got ${n} and ${ref!.n}`,
      );
    const d = pairDistances(ys, xs, dim); // reference first: it is the "real" set of the k-NN metrics
    const bandwidth = pooledMedianHeuristic(d);
    out.distances = {
      energy: energyFromDistances(d),
      mmd2: mmd2FromDistances(d, bandwidth),
      mmdBandwidth: bandwidth,
      slicedWasserstein: slicedWasserstein(xs, ys, dim, { seed }),
      slicedSeed: seed,
      frechet: dim <= (opts.maxFrechetDim ?? 256) ? frechetDistanceOfSamples(xs, ys, dim) : null,
    };
    // k-NN radii need more than k = 5 points per set
    if (d.n > 5 && d.m > 5) out.knn = { ...precisionRecallFromDistances(d), ...densityCoverageFromDistances(d) };
  }
  if (clf !== undefined) {
    const labels = samples.labels ?? null;
    out.diversity = { cosine: meanPairwiseCosine(x, dim, labels), distance: meanPairwiseDistance(x, dim, labels) };
    if (labels !== null) {
      const predicted = clf.predict(f32(samples.values));
      out.classAccuracy = predicted.reduce((a, p, i) => a + (p === labels[i] ? 1 : 0), 0) / n;
    }
  }
  if (opts.clip !== undefined) {
    const report = motionReport(samples.values, opts.clip, opts.motionThreshold);
    out.motion = {
      ...report,
      reference: reference === null ? null : motionReport(reference.values, opts.clip, opts.motionThreshold),
    };
  }
  return out;
};
