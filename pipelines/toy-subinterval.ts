/**
 * The paper's toy check of score matching within a subinterval (Phased DMD, Fig. 2;
 * docs/algorithm.md §5–6), as a runnable pipeline:
 *
 *   tsx pipelines/toy-subinterval.ts [--steps 3000] [--seed 0] [--s 0.5] [--json FILE]
 *
 * Data: 1-D, uniform on {−1, 0, 1, 2}. Three velocity models, same architecture, budget
 * and seeds:
 *   (a) ordinary   flow matching on t ∈ (0, 1] from x0:       target ε − x0;
 *   (b) subinterval on t ∈ (s, 1] from fresh x_s = (1 − s)·x0 + s·ε₁ each batch (the model
 *       never sees x0): x_t = α_{t|s}·x_s + σ_{t|s}·ε,  target v* (§5),  weight min(1, 10σ²_{t|s});
 *   (c) naive      as (b) but with the target ε − x_s.
 * Compared on a grid of (x, t ∈ (s, 1]) with each other and with the exact velocity of
 * the data (a mixture of deltas smoothed by the forward process — closed form):
 *   v(x, t) = (x − E[x0 | x_t = x]) / t,
 *   E[x0 | x_t = x] = Σ_k x_k·N(x; (1 − t)·x_k, t²) / Σ_k N(x; (1 − t)·x_k, t²).
 * Errors are RMS over the grid weighted by p_t(x) (normalised per t, so every t counts
 * equally): where there is no data there is nothing to learn.
 *
 * Read top to bottom: data and exact velocity → the three losses → training stream →
 * evaluation → report.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as t from 'io-ts';
import { lastValueFrom, map, toArray } from 'rxjs';
import { PositiveInt, NonNegativeInt, Positive } from '../lib/config/primitives';
import { decodeOrThrow } from '../lib/config/report';
import { VelocityMlp } from '../lib/models/mlp';
import { MlpConfig } from '../lib/models/config';
import { makeTrainer } from '../lib/optim/trainer';
import { stepKeys } from '../lib/operators/source/stepKeys';
import { optimise } from '../lib/operators/optimise/optimise';
import { drawSeed, LossStep, StepKey } from '../lib/stream/types';
import { normal, uniform } from '../lib/random/draws';
import { randomInts, splitSeed } from '../lib/random/seed';
import {
  forwardSample,
  forwardFromS,
  subintervalVelocityTarget,
  subintervalLossWeightTensor,
} from '../lib/schedule/tensors';
import { flowMatchingMse } from '../lib/losses/flowMatching';
import { fakeScoreLoss } from '../lib/losses/dmd';
import { writeFileAtomic } from '../lib/util/atomicWrite';
import { alphaTS, sigmaTS } from '../lib/schedule/time';

// ── 1. Config ────────────────────────────────────────────────────────────────

export const ToyConfig = t.partial({
  /** Subinterval start s: (b) and (c) train on t ∈ (s, 1] from x_s. */
  s: t.refinement(t.number, (x) => x > 0 && x < 1, 'number in (0, 1)'),
  steps: PositiveInt,
  batchSize: PositiveInt,
  lr: Positive,
  hidden: t.array(PositiveInt),
  seed: NonNegativeInt,
});
export type ToyConfig = t.TypeOf<typeof ToyConfig>;

export const TOY_DEFAULTS = { s: 0.5, steps: 3000, batchSize: 512, lr: 1e-3, hidden: [64, 64], seed: 0 };
export type ResolvedToyConfig = typeof TOY_DEFAULTS;

// ── 2. Data and its exact velocity ──────────────────────────────────────────

export const TOY_POINTS: readonly number[] = [-1, 0, 1, 2];

/** x0 [B, 1], uniform on the toy points. */
export const toyData = (batch: number, seed: number): tf.Tensor2D => {
  const ids = randomInts(seed, batch, TOY_POINTS.length);
  return tf.tensor2d(
    Array.from(ids, (k) => TOY_POINTS[k]),
    [batch, 1],
  );
};

/** p_t(x) = mean_k N(x; (1 − t)·x_k, t²). */
export const toyDensity = (x: number, tt: number): number =>
  TOY_POINTS.reduce(
    (p, xk) => p + Math.exp(-((x - (1 - tt) * xk) ** 2) / (2 * tt * tt)) / (tt * Math.sqrt(2 * Math.PI)),
    0,
  ) / TOY_POINTS.length;

/** The exact velocity E[ε − x0 | x_t = x] = (x − E[x0 | x_t = x]) / t (log-sum-exp weights). */
export const toyVelocity = (x: number, tt: number): number => {
  const logw = TOY_POINTS.map((xk) => -((x - (1 - tt) * xk) ** 2) / (2 * tt * tt));
  const m = Math.max(...logw);
  const w = logw.map((l) => Math.exp(l - m));
  const mean = w.reduce((a, wk, k) => a + wk * TOY_POINTS[k], 0) / w.reduce((a, b) => a + b, 0);
  return (x - mean) / tt;
};

/**
 * What the naive objective (c) converges to: E[ε − x_s | x_t = x]. Given x0 = x_k,
 * n = x_t − (1 − t)·x_k = α_{t|s}·s·ε₁ + σ_{t|s}·ε ~ N(0, t²), so E[ε | n] = σ_{t|s}·n/t²,
 * E[x_s | n] = (1 − s)·x_k + α_{t|s}·s²·n/t²; averaged over the posterior of k.
 */
export const toyNaiveLimit = (x: number, tt: number, s: number): number => {
  const [al, sg] = [alphaTS(tt, s), sigmaTS(tt, s)];
  const logw = TOY_POINTS.map((xk) => -((x - (1 - tt) * xk) ** 2) / (2 * tt * tt));
  const m = Math.max(...logw);
  const w = logw.map((l) => Math.exp(l - m));
  const z = w.reduce((a, b) => a + b, 0);
  return TOY_POINTS.reduce((acc, xk, k) => {
    const n = x - (1 - tt) * xk;
    return acc + (w[k] / z) * ((sg * n) / (tt * tt) - (1 - s) * xk - (al * s * s * n) / (tt * tt));
  }, 0);
};

// ── 3. The three objectives, as loss steps ──────────────────────────────────

export type ToyObjective = 'ordinary' | 'subinterval' | 'naive';
export const TOY_OBJECTIVES: readonly ToyObjective[] = ['ordinary', 'subinterval', 'naive'];

/**
 * StepKey → LossStep for one objective. Each draw comes from (seed, objective, step,
 * role); (b) and (c) share the same x_s, t and ε at every step, so they differ only in
 * their target.
 */
export const toyLossStep =
  (model: VelocityMlp, objective: ToyObjective, c: ResolvedToyConfig) =>
  (key: StepKey): LossStep => {
    const B = c.batchSize;
    const x0 = toyData(B, drawSeed(key, 'x0'));
    if (objective === 'ordinary') {
      const tt = uniform([B], 1e-3, 1, drawSeed(key, 't')) as tf.Tensor1D;
      const eps = normal([B, 1], drawSeed(key, 'eps'));
      const xt = forwardSample(x0, eps, tt);
      return {
        key,
        role: 'model',
        owned: [x0, tt, eps, xt],
        loss: () => flowMatchingMse(model.apply(xt, tt, null), x0, eps),
      };
    }
    // fresh x_s each batch; x0 is dropped right here — the subinterval models never see it
    const xs = forwardSample(x0, normal([B, 1], drawSeed(key, 'eps1')), c.s);
    x0.dispose();
    const tt = uniform([B], c.s, 1, drawSeed(key, 't')) as tf.Tensor1D;
    const eps = normal([B, 1], drawSeed(key, 'eps'));
    const xt = forwardFromS(xs, eps, tt, c.s);
    const target = objective === 'subinterval' ? subintervalVelocityTarget(xs, eps, tt, c.s) : tf.sub(eps, xs);
    const weight = subintervalLossWeightTensor(tt, c.s);
    return {
      key,
      role: 'model',
      owned: [xs, tt, eps, xt, target, weight],
      loss: () => fakeScoreLoss(model.apply(xt, tt, null), target, weight),
    };
  };

// ── 4. Training ──────────────────────────────────────────────────────────────

export const toyModel = (c: ResolvedToyConfig): VelocityMlp =>
  new VelocityMlp(
    decodeOrThrow(
      MlpConfig,
      { kind: 'mlp', dim: 1, hidden: c.hidden, timeEmbedDim: 16, seed: splitSeed(c.seed, 'init') },
      'toy model',
    ),
  );

/** Trains one model with one objective (same initial weights for all three). Returns it and its last losses. */
export const trainToy = async (
  objective: ToyObjective,
  c: ResolvedToyConfig,
): Promise<{ model: VelocityMlp; finalLoss: number }> => {
  const model = toyModel(c);
  const trainer = makeTrainer(
    model.params.variables,
    { lr: c.lr, betas: [0.9, 0.999] },
    { lr: c.lr, betas: [0.9, 0.999] },
  );
  const phase = TOY_OBJECTIVES.indexOf(objective) === 0 ? 0 : 1; // (b) and (c) share draws
  const last = Math.max(0, c.steps - 50);
  const losses = await lastValueFrom(
    stepKeys(c.seed, phase, 0, c.steps).pipe(
      map(toyLossStep(model, objective, c)),
      optimise({ model: trainer }, { metricsDue: (k) => k.step >= last }),
      toArray(),
    ),
  );
  trainer.optimizer.dispose();
  const tail = losses.filter((m) => m.loss !== null).map((m) => m.loss as number);
  return { model, finalLoss: tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length) };
};

// ── 5. Evaluation on a grid of (x, t) ───────────────────────────────────────

export interface ToyGrid {
  readonly xs: readonly number[];
  readonly ts: readonly number[];
}

/** x from −3 to 4 by .05, t from s + .05 to 1 by .05 (t = s itself is excluded: σ_{t|s} = 0 there). */
export const toyGrid = (s: number): ToyGrid => ({
  xs: Array.from({ length: 141 }, (_, i) => -3 + 0.05 * i),
  ts: Array.from({ length: Math.round((1 - s) / 0.05) }, (_, i) => +(s + 0.05 * (i + 1)).toFixed(6)),
});

/** A model's velocity on the grid, row-major [t][x]. */
export const velocityOnGrid = (model: VelocityMlp, g: ToyGrid): number[][] =>
  g.ts.map((tt) =>
    tf.tidy(() =>
      Array.from(
        model
          .apply(tf.tensor2d([...g.xs], [g.xs.length, 1]), tf.fill([g.xs.length], tt) as tf.Tensor1D, null)
          .dataSync(),
      ),
    ),
  );

/** √(Σ w·(a − b)²) with w = p_t(x) normalised per t and averaged over t; optionally only for t in [tLo, tHi]. */
export const weightedRms = (g: ToyGrid, a: number[][], b: number[][], tLo = -Infinity, tHi = Infinity): number => {
  let num = 0;
  let den = 0;
  g.ts.forEach((tt, i) => {
    if (tt < tLo || tt > tHi) return;
    const p = g.xs.map((x) => toyDensity(x, tt));
    const z = p.reduce((u, v) => u + v, 0);
    g.xs.forEach((_, j) => {
      num += (p[j] / z) * (a[i][j] - b[i][j]) ** 2;
      den += p[j] / z;
    });
  });
  return Math.sqrt(num / den);
};

export interface ToyReport {
  readonly config: ResolvedToyConfig;
  /** p_t-weighted RMS velocity differences over the grid t ∈ (s, 1]. */
  readonly rms: {
    readonly subintervalVsOrdinary: number;
    readonly naiveVsOrdinary: number;
    readonly ordinaryVsExact: number;
    readonly subintervalVsExact: number;
    readonly naiveVsExact: number;
    /** Training-free: the naive objective's own optimum (`toyNaiveLimit`) against the exact velocity — its bias. */
    readonly naiveLimitVsExact: number;
  };
  /** The same errors against the exact velocity, split into t ≤ (1 + s)/2 and t > (1 + s)/2. */
  readonly byBand: ReadonlyArray<{
    readonly band: string;
    readonly ordinary: number;
    readonly subinterval: number;
    readonly naive: number;
  }>;
  readonly finalLoss: Readonly<Record<ToyObjective, number>>;
  readonly seconds: number;
}

export const runToy = async (
  input: unknown = {},
  log: (line: string) => void = () => undefined,
): Promise<ToyReport> => {
  const started = performance.now();
  const c: ResolvedToyConfig = { ...TOY_DEFAULTS, ...decodeOrThrow(ToyConfig, input, 'toy config') };
  const g = toyGrid(c.s);
  const exact = g.ts.map((tt) => g.xs.map((x) => toyVelocity(x, tt)));
  const v: Partial<Record<ToyObjective, number[][]>> = {};
  const finalLoss: Partial<Record<ToyObjective, number>> = {};
  for (const objective of TOY_OBJECTIVES) {
    const { model, finalLoss: l } = await trainToy(objective, c);
    v[objective] = velocityOnGrid(model, g);
    finalLoss[objective] = l;
    model.dispose();
    log(`trained (${objective}): final loss ${l.toPrecision(4)}`);
  }
  const [a, b, n] = [v.ordinary!, v.subinterval!, v.naive!];
  const mid = (1 + c.s) / 2;
  const band = (lo: number, hi: number, name: string) => ({
    band: name,
    ordinary: weightedRms(g, a, exact, lo, hi),
    subinterval: weightedRms(g, b, exact, lo, hi),
    naive: weightedRms(g, n, exact, lo, hi),
  });
  return {
    config: c,
    rms: {
      subintervalVsOrdinary: weightedRms(g, b, a),
      naiveVsOrdinary: weightedRms(g, n, a),
      ordinaryVsExact: weightedRms(g, a, exact),
      subintervalVsExact: weightedRms(g, b, exact),
      naiveVsExact: weightedRms(g, n, exact),
      naiveLimitVsExact: weightedRms(
        g,
        g.ts.map((tt) => g.xs.map((x) => toyNaiveLimit(x, tt, c.s))),
        exact,
      ),
    },
    byBand: [band(-Infinity, mid, `t in (${c.s}, ${mid}]`), band(mid + 1e-9, Infinity, `t in (${mid}, 1]`)],
    finalLoss: finalLoss as Record<ToyObjective, number>,
    seconds: (performance.now() - started) / 1000,
  };
};

export const formatToyReport = (r: ToyReport): string => {
  const f = (x: number) => x.toFixed(4);
  return [
    `toy subinterval check: data {${TOY_POINTS.join(', ')}}, s = ${r.config.s}, ${r.config.steps} steps × batch ` +
      `${r.config.batchSize}, MLP ${r.config.hidden.join('×')}, seed ${r.config.seed} (${r.seconds.toFixed(0)} s)`,
    `p_t-weighted RMS of velocity differences on x ∈ [−3, 4], t ∈ (${r.config.s}, 1]:`,
    `  (b) subinterval − (a) ordinary : ${f(r.rms.subintervalVsOrdinary)}`,
    `  (c) naive       − (a) ordinary : ${f(r.rms.naiveVsOrdinary)}`,
    `  (a) ordinary    − exact        : ${f(r.rms.ordinaryVsExact)}`,
    `  (b) subinterval − exact        : ${f(r.rms.subintervalVsExact)}`,
    `  (c) naive       − exact        : ${f(r.rms.naiveVsExact)}`,
    `  naive objective's optimum − exact (closed form, no training): ${f(r.rms.naiveLimitVsExact)}`,
    ...r.byBand.map(
      (b) => `  vs exact, ${b.band}: ordinary ${f(b.ordinary)}, subinterval ${f(b.subinterval)}, naive ${f(b.naive)}`,
    ),
  ].join('\n');
};

// ── 6. Command line ──────────────────────────────────────────────────────────

const main = async (args: string[]): Promise<void> => {
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i < 0 ? undefined : args[i + 1];
  };
  const num = (name: string) => (opt(name) === undefined ? undefined : Number(opt(name)));
  const { useBackend } = await import('../lib/backend');
  await useBackend((opt('backend') as 'wasm' | 'cpu' | undefined) ?? 'wasm');
  const input = Object.fromEntries(
    Object.entries({ steps: num('steps'), seed: num('seed'), s: num('s'), batchSize: num('batch') }).filter(
      ([, v]) => v !== undefined,
    ),
  );
  const report = await runToy(input, (l) => process.stderr.write(`${l}\n`));
  process.stdout.write(`${formatToyReport(report)}\n`);
  const json = opt('json');
  if (json !== undefined) writeFileAtomic(json, JSON.stringify(report, null, 2));
};

if (require.main === module)
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
