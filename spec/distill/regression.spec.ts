/**
 * One-step DMD's regression term as a run sets it up (docs/algorithm.md §3): the config
 * codec (good and bad values, each error naming its field), which methods take it, the
 * pairs (the teacher's Euler sample with CFG, the same for a seed), the generator loss
 * L_G + λ_reg·L_reg against host arithmetic, and tensors freed.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { DistillConfig, describeVariant, trainDistill } from '../../lib/distill/distill';
import { decodeWith, formatIssues } from '../../lib/config/report';
import { REGRESSION_DEFAULTS, regressionFor, teacherPairs, PAIR_CHUNK } from '../../lib/distill/regression';
import { disposePairs, RegressionTerm } from '../../lib/losses/regression';
import { generatorLossStep, pairBatch } from '../../lib/operators/distill/generatorLoss';
import { regressionWarmup, WARMUP_ROLE } from '../../lib/operators/distill/regressionWarmup';
import { of, lastValueFrom } from 'rxjs';
import { sampleFlow } from '../../lib/samplers/flow';
import { guidedVelocity } from '../../lib/score/velocity';
import { timeGrid } from '../../lib/schedule/time';
import { drawSeed, StepKey } from '../../lib/stream/types';
import { randomInts } from '../../lib/random/seed';
import { resolveSchedule } from '../../lib/phases/resolve';
import { PhasedSchedule } from '../../lib/phases/segment';
import { decodeOrThrow } from '../../lib/config/report';
import { ConstantVelocity, contextOf, frozenTinyTeacher, tinyMlp, weightsOf, sameBits } from '../helpers/phased';

beforeAll(async () => {
  await useBackend('wasm');
});

const decode = (regression: unknown, method = 'dmd') =>
  decodeWith(DistillConfig)({ method, teacher: 't.ckpt', regression });
const errors = (regression: unknown): string => {
  const r = decode(regression);
  return E.isLeft(r) ? formatIssues(r.left) : '';
};

describe('regression config codec', () => {
  it('accepts every field, and an empty object', () => {
    const full = {
      weight: 0.25,
      pairs: 1000,
      batchSize: 64,
      distance: 'l1',
      steps: 20,
      shift: 0.5,
      warmup: 100,
      warmupLr: 0.001,
    };
    const r = decode(full);
    expect(E.isRight(r) && r.right.regression).toEqual(full);
    expect(E.isRight(decode({}))).toBe(true);
  });

  it.each([
    [{ weight: -1 }, 'regression.weight'],
    [{ weight: 'big' }, 'regression.weight'],
    [{ pairs: 0 }, 'regression.pairs'],
    [{ pairs: 2.5 }, 'regression.pairs'],
    [{ pairs: 2_000_000 }, 'regression.pairs'],
    [{ batchSize: 0 }, 'regression.batchSize'],
    [{ distance: 'lpips' }, 'regression.distance'],
    [{ steps: 0 }, 'regression.steps'],
    [{ shift: 0 }, 'regression.shift'],
    [{ warmup: -1 }, 'regression.warmup'],
    [{ warmup: 2.5 }, 'regression.warmup'],
    [{ warmupLr: 0 }, 'regression.warmupLr'],
  ])('refuses %j with an error naming %s', (bad, field) => {
    expect(errors(bad)).toContain(field);
  });

  it('says what it expected: the held-in-memory bound of pairs', () => {
    expect(errors({ pairs: 2_000_000 })).toMatch(/≤ 1,000,000 \(the pairs are held in memory\)/);
  });
});

describe('regressionFor: which methods take the term', () => {
  it('is off by default for every method; sgts, vanilla and phased never get it unless asked', () => {
    for (const m of ['dmd', 'sgts', 'vanilla', 'phased']) expect(regressionFor(m, undefined)).toBeNull();
    for (const m of ['sgts', 'vanilla', 'phased']) expect(regressionFor(m, { weight: 0 } as never)).toBeNull();
  });

  it('fills the defaults of the fields a dmd config leaves out', () => {
    expect(regressionFor('dmd', { weight: 0.5 } as never)).toEqual({ ...REGRESSION_DEFAULTS, weight: 0.5 });
  });

  it('a report names the term when one-step DMD has it, and says nothing of it otherwise', () => {
    expect(describeVariant({ regression: { weight: 4 } } as never)).toMatch(
      /one-step DMD adds the regression loss \(λ_reg 4, mse, 4096 teacher pairs\)$/,
    );
    expect(describeVariant({ regression: { weight: 4, warmup: 100, warmupLr: 0.001 } } as never)).toMatch(
      /\(λ_reg 4, mse, 4096 teacher pairs, after 100 regression-only updates at lr 0\.001\)$/,
    );
    expect(describeVariant({})).not.toMatch(/regression/);
    expect(describeVariant({ regression: { weight: 0 } } as never)).not.toMatch(/regression/);
  });

  it('refuses a weight on another method, naming regression.weight', () => {
    expect(() => regressionFor('sgts', { weight: 1 } as never)).toThrow(/regression\.weight: .*"dmd" only/);
  });
});

describe('teacherPairs', () => {
  const opts = { n: 24, seed: 3, guidance: 2, steps: 6, shift: 1 };

  it('y is the teacher Euler sample with CFG from z and labels, and the pairs are the same for a seed', () => {
    const teacher = tinyMlp(3, 2);
    const before = tf.memory().numTensors;
    const a = teacherPairs(teacher, opts);
    const b = teacherPairs(teacher, opts);
    const other = teacherPairs(teacher, { ...opts, seed: 4 });
    const y = sampleFlow(guidedVelocity(teacher, 2), a.z, a.labels, timeGrid(6, 1), 'euler');
    expect(a.z.shape).toEqual([24, 2]);
    expect(a.labels!.shape).toEqual([24]);
    expect(Array.from(a.y.dataSync())).toEqual(Array.from(y.dataSync()));
    expect(Array.from(b.z.dataSync())).toEqual(Array.from(a.z.dataSync()));
    expect(Array.from(b.labels!.dataSync())).toEqual(Array.from(a.labels!.dataSync()));
    expect(Array.from(b.y.dataSync())).toEqual(Array.from(a.y.dataSync()));
    expect(Array.from(other.z.dataSync())).not.toEqual(Array.from(a.z.dataSync()));
    // the labels cover the classes (uniform draws, 24 of 3 classes)
    expect(new Set(a.labels!.dataSync()).size).toBe(3);
    y.dispose();
    [a, b, other].forEach(disposePairs);
    expect(tf.memory().numTensors).toBe(before);
    teacher.dispose();
  });

  it('made in chunks, a large set equals the one-batch Euler sample; unconditional pairs have no labels', () => {
    const teacher = tinyMlp(0, 2);
    const before = tf.memory().numTensors;
    const n = PAIR_CHUNK + 5;
    const p = teacherPairs(teacher, { ...opts, n, guidance: 1 });
    const y = sampleFlow(guidedVelocity(teacher, 1), p.z, null, timeGrid(6, 1), 'euler');
    expect(p.labels).toBeNull();
    const [got, want] = [p.y.dataSync(), y.dataSync()];
    expect(got.length).toBe(2 * n);
    got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-5));
    y.dispose();
    disposePairs(p);
    expect(tf.memory().numTensors).toBe(before);
    teacher.dispose();
  });
});

describe('generator loss with the regression term: L = L_G + λ_reg·L_reg', () => {
  const phase = resolveSchedule(
    decodeOrThrow(PhasedSchedule, {
      shift: 1,
      defaults: { batchSize: 8, updateRatio: 1 },
      phases: [{ interval: { start: 1, end: 0 }, steps: 1, iterations: 1 }],
    }),
  )[0];
  const key: StepKey = { seed: 7, phase: 0, step: 2 };

  it('adds λ·mean((z − b − y)²) over the drawn pairs, and reports regLoss; tensors stay flat', () => {
    const teacher = tinyMlp(0, 1);
    const fake = tinyMlp(0, 3);
    const b = [0.2, -0.1];
    const generator = new ConstantVelocity(b);
    const zs = [
      [0.5, 1],
      [-1, 0.25],
      [2, -0.5],
    ];
    const ys = [
      [0, 0],
      [1, 1],
      [-0.5, 2],
    ];
    const pairs = { z: tf.tensor2d(zs), labels: null, y: tf.tensor2d(ys) };
    const term: RegressionTerm = { pairs, weight: 0.25, batchSize: 5, distance: 'mse' };
    const before = tf.memory().numTensors;
    const plain = { ...contextOf({ teacher, generator, fake, phase }), shift: 1, gradient: 'reference' as const };
    const withReg = { ...plain, regression: term };
    const run = (ctx: typeof plain) => {
      const step = generatorLossStep(ctx)({ key, role: 'generator', sub: 0 });
      const loss = tf.tidy(() => step.loss());
      const value = loss.dataSync()[0];
      const reg = step.extras?.regLoss?.dataSync()[0];
      tf.dispose([loss, ...step.owned, ...Object.values(step.extras ?? {})]);
      return { value, reg };
    };
    const a = run(plain);
    const r = run(withReg);
    // host: the drawn pair indices, G(z) = z − 1·b
    const idx = randomInts(drawSeed(key, 'generator', 0, 'reg'), 5, 3);
    const expected =
      Array.from(idx).reduce((acc, i) => acc + zs[i].reduce((s, z, d) => s + (z - b[d] - ys[i][d]) ** 2, 0), 0) / 10;
    expect(a.reg).toBeUndefined();
    expect(r.reg).toBeCloseTo(expected, 5);
    expect(r.value - a.value).toBeCloseTo(0.25 * expected, 5);
    expect(expected).toBeGreaterThan(0.1); // a real signal
    expect(tf.memory().numTensors).toBe(before);
    disposePairs(pairs);
    [teacher, fake, generator].forEach((m) => m.dispose());
  });

  it('a warm-up step is the regression loss alone, mean((z − b − y)²), as role "regression"; no leak', async () => {
    const generator = new ConstantVelocity([0.5, -0.25]);
    const teacher = tinyMlp(0, 1);
    const fake = tinyMlp(0, 3);
    const zs = [
      [1, 2],
      [-1, 0.5],
    ];
    const ys = [
      [0, 1],
      [2, -1],
    ];
    const pairs = { z: tf.tensor2d(zs), labels: null, y: tf.tensor2d(ys) };
    const term: RegressionTerm = { pairs, weight: 4, batchSize: 3, distance: 'mse', warmup: 1 };
    const ctx = { ...contextOf({ teacher, generator, fake, phase }), shift: 1, regression: term };
    const before = tf.memory().numTensors;
    const step = await lastValueFrom(of(key).pipe(regressionWarmup(ctx)));
    const loss = tf.tidy(() => step.loss());
    const idx = randomInts(drawSeed(key, WARMUP_ROLE), 3, 2);
    // the weight λ does not scale the warm-up: its loss is L_reg itself
    const expected =
      Array.from(idx).reduce(
        (acc, i) => acc + zs[i].reduce((a, z, d) => a + (z - [0.5, -0.25][d] - ys[i][d]) ** 2, 0),
        0,
      ) / 6;
    expect(step.role).toBe('regression');
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 5);
    expect(expected).toBeGreaterThan(0.5);
    tf.dispose([loss, ...step.owned]);
    expect(tf.memory().numTensors).toBe(before);
    disposePairs(pairs);
    [teacher, fake, generator].forEach((m) => m.dispose());
  });

  it('a warm-up step on a phase without the term says so', () => {
    const generator = new ConstantVelocity([0, 0]);
    const ctx = { ...contextOf({ teacher: generator, generator, fake: generator, phase }), shift: 1 };
    expect(() => regressionWarmup(ctx)).toThrow(/no regression term/);
    generator.dispose();
  });

  it('pairBatch gathers rows (and labels) by seeded indices, the same for a seed', () => {
    const pairs = {
      z: tf.tensor2d([
        [0, 0],
        [1, 1],
        [2, 2],
      ]),
      labels: tf.tensor1d([0, 1, 2], 'int32') as tf.Tensor1D,
      y: tf.tensor2d([
        [10, 10],
        [11, 11],
        [12, 12],
      ]),
    };
    const term: RegressionTerm = { pairs, weight: 1, batchSize: 6, distance: 'l1' };
    const before = tf.memory().numTensors;
    const p = pairBatch(term, 11);
    const q = pairBatch(term, 11);
    const idx = Array.from(randomInts(11, 6, 3));
    expect(Array.from(p.labels!.dataSync())).toEqual(idx);
    expect(Array.from(p.z.dataSync())).toEqual(idx.flatMap((i) => [i, i]));
    expect(Array.from(p.y.dataSync())).toEqual(idx.flatMap((i) => [10 + i, 10 + i]));
    expect(Array.from(q.labels!.dataSync())).toEqual(idx);
    tf.dispose([p.z, p.y, p.labels!, q.z, q.y, q.labels!]);
    expect(tf.memory().numTensors).toBe(before);
    disposePairs(pairs);
  });
});

describe('trainDistill with the regression term', () => {
  const teacher = frozenTinyTeacher();
  const config = (over: Record<string, unknown> = {}) => ({
    method: 'dmd',
    teacher: '/nonexistent/teacher.ckpt',
    iterations: 3,
    batchSize: 8,
    updateRatio: 1,
    guidance: 2,
    seed: 5,
    logEvery: 1000,
    ...over,
  });

  it('changes the dmd student, reports regLoss every generator update, and frees its pairs', async () => {
    const before = tf.memory().numTensors;
    const plain = await trainDistill(config(), { teacher });
    const reg = await trainDistill(config({ regression: { weight: 1, pairs: 16, batchSize: 8 } }), { teacher });
    const regLosses = reg.metrics.filter((m) => m.role === 'generator').map((m) => m.extras.regLoss);
    expect(regLosses).toHaveLength(3);
    regLosses.forEach((l) => expect(l).toBeGreaterThan(0));
    expect(plain.metrics.every((m) => m.extras.regLoss === undefined)).toBe(true);
    expect(sameBits(weightsOf(plain.experts[0].expert), weightsOf(reg.experts[0].expert))).toBe(false);
    [plain, reg].forEach((r) => r.experts.forEach((e) => e.expert.dispose()));
    expect(tf.memory().numTensors).toBe(before);
  });

  it("warm-up: that many regression-only updates come first, lower the pairs' loss, change the student", async () => {
    const before = tf.memory().numTensors;
    const term = { weight: 1, pairs: 16, batchSize: 8 };
    const plain = await trainDistill(config({ regression: term }), { teacher });
    const warm = await trainDistill(config({ regression: { ...term, warmup: 6, warmupLr: 0.01 } }), { teacher });
    const roles = warm.metrics.map((m) => m.role);
    expect(roles.slice(0, 6)).toEqual(new Array(6).fill(WARMUP_ROLE));
    expect(roles.filter((r) => r === WARMUP_ROLE)).toHaveLength(6);
    expect(roles.filter((r) => r === 'generator')).toHaveLength(3);
    const losses = warm.metrics.filter((m) => m.role === WARMUP_ROLE).map((m) => m.loss!);
    expect(losses[5]).toBeLessThan(losses[0]);
    expect(plain.metrics.some((m) => m.role === WARMUP_ROLE)).toBe(false);
    expect(sameBits(weightsOf(plain.experts[0].expert), weightsOf(warm.experts[0].expert))).toBe(false);
    [plain, warm].forEach((r) => r.experts.forEach((e) => e.expert.dispose()));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses the term on sgts before training anything, naming regression.weight', async () => {
    await expect(trainDistill(config({ method: 'sgts', regression: { weight: 0.25 } }), { teacher })).rejects.toThrow(
      /regression\.weight/,
    );
  });
});
