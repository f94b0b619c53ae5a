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
import {
  REGRESSION_DEFAULTS,
  regressionFor,
  teacherPairs,
  pathSegments,
  PAIR_CHUNK,
} from '../../lib/distill/regression';
import { disposePairs, pairState, RegressionTerm } from '../../lib/losses/regression';
import {
  generatorLossStep,
  pairBatch,
  pathRegressionLoss,
  regressionTimes,
} from '../../lib/operators/distill/generatorLoss';
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

describe('regressionFor: when a run takes the term', () => {
  it('is off unless asked: no config, or weight 0 with no warm-up', () => {
    expect(regressionFor(undefined)).toBeNull();
    expect(regressionFor({ weight: 0 } as never)).toBeNull();
    expect(regressionFor({ weight: 0, warmup: 0 } as never)).toBeNull();
  });

  it('fills the defaults of the fields a config leaves out', () => {
    expect(regressionFor({ weight: 0.5 } as never)).toEqual({ ...REGRESSION_DEFAULTS, weight: 0.5 });
  });

  it('a warm-up alone turns it on, with weight 0 after the warm-up', () => {
    expect(regressionFor({ warmup: 10 } as never)).toEqual({ ...REGRESSION_DEFAULTS, warmup: 10 });
  });

  it('a report names the term when the student has it, and says nothing of it otherwise', () => {
    expect(describeVariant({ regression: { weight: 4 } } as never)).toMatch(
      /phasing sequential; the regression loss on the teacher's path \(λ_reg 4, 4096 teacher pairs, mse\)$/,
    );
    expect(describeVariant({ regression: { weight: 4, warmup: 100, warmupLr: 0.001 } } as never)).toMatch(
      /\(λ_reg 4, 4096 teacher pairs, mse\), after 100 regression-only warm-up updates per phase at lr 0\.001$/,
    );
    // a warm-up alone: at the generator's lr unless given, and no loss afterwards
    expect(describeVariant({ regression: { warmup: 50 }, lr: { generator: 3e-4 } } as never)).toMatch(
      /; 50 regression-only warm-up updates per phase at lr 0\.0003 \(4096 teacher pairs, mse\), then no regression/,
    );
    expect(describeVariant({})).not.toMatch(/regression/);
    expect(describeVariant({ regression: { weight: 0 } } as never)).not.toMatch(/regression/);
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

describe("the teacher's path at a few-step student's times", () => {
  it('pathSegments cuts the union of both grids at each student time', () => {
    expect(pathSegments([1, 0.75, 0.5, 0.25, 0], [0.6, 0.25])).toEqual([
      [1, 0.75, 0.6],
      [0.6, 0.5, 0.25],
      [0.25, 0],
    ]);
    // no stops: the teacher's grid as it is (one-step DMD's pairs keep their bits)
    expect(pathSegments([1, 0.5, 0], [])).toEqual([[1, 0.5, 0]]);
  });

  it('keeps the states at the interior times, equal to one Euler run over the merged grid; y unchanged', () => {
    const teacher = tinyMlp(3, 2);
    const opts = { n: 24, seed: 3, guidance: 2, steps: 6, shift: 1 };
    const before = tf.memory().numTensors;
    const one = teacherPairs(teacher, opts);
    const p = teacherPairs(teacher, { ...opts, times: [1, 0.6, 0.25, 0] });
    const v = guidedVelocity(teacher, 2);
    // timeGrid(6, 1) = [1, 5/6, …, 0]; merged with 0.6 and 0.25
    const merged = [...new Set([...timeGrid(6, 1), 0.6, 0.25])].sort((a, b) => b - a);
    const upTo = (t: number) =>
      sampleFlow(
        v,
        p.z,
        p.labels,
        merged.filter((u) => u >= t),
        'euler',
      );
    const [at06, at025] = [upTo(0.6), upTo(0.25)];
    expect(p.path!.times).toEqual([0.6, 0.25]);
    expect(Array.from(pairState(p, 0.6).dataSync())).toEqual(Array.from(at06.dataSync()));
    expect(Array.from(pairState(p, 0.25).dataSync())).toEqual(Array.from(at025.dataSync()));
    expect(pairState(p, 1)).toBe(p.z);
    expect(pairState(p, 0)).toBe(p.y);
    expect(() => pairState(p, 0.5)).toThrow(/no teacher state at t = 0\.5.*another step grid/);
    // same noise; y moves only by the two extra stops on the teacher's path
    expect(Array.from(p.z.dataSync())).toEqual(Array.from(one.z.dataSync()));
    expect(one.path).toBeUndefined();
    tf.dispose([at06, at025]);
    [one, p].forEach(disposePairs);
    expect(tf.memory().numTensors).toBe(before);
    teacher.dispose();
  });

  it('in chunks too; refuses a grid that does not descend strictly to 0 from at most 1', () => {
    const teacher = tinyMlp(0, 2);
    const opts = { n: PAIR_CHUNK + 3, seed: 1, guidance: 1, steps: 4, shift: 1 };
    const before = tf.memory().numTensors;
    const p = teacherPairs(teacher, { ...opts, times: [1, 0.5, 0] });
    const mid = sampleFlow(guidedVelocity(teacher, 1), p.z, null, [1, 0.75, 0.5], 'euler');
    const [got, want] = [pairState(p, 0.5).dataSync(), mid.dataSync()];
    expect(got.length).toBe(2 * opts.n);
    got.forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThan(1e-5));
    mid.dispose();
    disposePairs(p);
    for (const times of [
      [1, 0.5],
      [1.2, 0.5, 0],
      [1, 0.5, 0.5, 0],
      [1, 0.4, 0.6, 0],
    ])
      expect(() => teacherPairs(teacher, { ...opts, n: 4, times })).toThrow(/descend strictly from 1 \(or less\) to 0/);
    // a grid that starts a hair below 1 (a shifted boundary, rounded) keeps its first state too: z, one tiny step on
    const start = 0.3 / (1 + (0.3 - 1)); // shift 0.3 applied to 1: 0.9999999999999998
    expect(start).toBeLessThan(1);
    const q = teacherPairs(teacher, { ...opts, n: 4, times: [start, 0.5, 0] });
    expect(q.path!.times).toEqual([start, 0.5]);
    const [a, zq] = [pairState(q, start).dataSync(), q.z.dataSync()];
    a.forEach((x, i) => expect(Math.abs(x - zq[i])).toBeLessThan(1e-6));
    disposePairs(q);
    expect(tf.memory().numTensors).toBe(before);
    teacher.dispose();
  });
});

describe("pathRegressionLoss: each step from the teacher's state towards the next (teacher forcing)", () => {
  const phaseOf = (start: number, end: number, steps: number) =>
    resolveSchedule(
      decodeOrThrow(PhasedSchedule, {
        shift: 1,
        defaults: { batchSize: 4, updateRatio: 1 },
        phases: [
          ...(start < 1 ? [{ interval: { start: 1, end: start }, steps: 1, iterations: 1 }] : []),
          { interval: { start, end }, steps, iterations: 1 },
          ...(end > 0 ? [{ interval: { start: end, end: 0 }, steps: 1, iterations: 1 }] : []),
        ],
      }),
    )[start < 1 ? 1 : 0];
  // one pair, 2-D, with the teacher's states at 1, .5 and 0 (timeGrid(2, 1) = [1, .5, 0])
  const z = [1, -2];
  const mid = [0.25, 0.5];
  const y = [-1, 2];
  const b = [0.5, -0.25];
  const pairsOf = () => ({
    z: tf.tensor2d([z]),
    labels: null,
    y: tf.tensor2d([y]),
    path: { times: [0.5], states: [tf.tensor2d([mid])] },
  });
  const run = (stepper: 'euler' | 'x0-noise', phase = phaseOf(1, 0, 2)) => {
    const generator = new ConstantVelocity(b);
    const pairs = pairsOf();
    const term: RegressionTerm = { pairs, weight: 1, batchSize: 1, distance: 'mse' };
    const ctx = { ...contextOf({ teacher: generator, generator, fake: generator, phase }), stepper };
    const before = tf.memory().numTensors;
    const batch = pairBatch(term, 3, regressionTimes(ctx));
    const loss = pathRegressionLoss(ctx, batch);
    const value = loss.dataSync()[0];
    tf.dispose([loss, ...batch.owned]);
    const flat = tf.memory().numTensors === before;
    disposePairs(pairs);
    generator.dispose();
    return { value, flat };
  };
  const mse = (a: number[], c: number[]) => a.reduce((s, v, i) => s + (v - c[i]) ** 2, 0) / a.length;

  it('Euler: mean over the steps of d(x_j + (t_{j+1} − t_j)·v, x_{j+1})', () => {
    // step 1 → .5: z − .5·b against mid; step .5 → 0: mid − .5·b against y
    const step1 = mse([z[0] - 0.5 * b[0], z[1] - 0.5 * b[1]], mid);
    const step2 = mse([mid[0] - 0.5 * b[0], mid[1] - 0.5 * b[1]], y);
    const { value, flat } = run('euler');
    expect(value).toBeCloseTo((step1 + step2) / 2, 6);
    expect(flat).toBe(true);
  });

  it("x0-noise: every step's x0 prediction against y", () => {
    const step1 = mse([z[0] - b[0], z[1] - b[1]], y);
    const step2 = mse([mid[0] - 0.5 * b[0], mid[1] - 0.5 * b[1]], y);
    expect(run('x0-noise').value).toBeCloseTo((step1 + step2) / 2, 6);
  });

  it("x0-noise in a phase that stops short of 0: the batch also holds y, the step's x0 target", () => {
    // the phase [1, .5] of a two-phase schedule: z − 1·b against y
    const phase = phaseOf(1, 0.5, 1);
    expect(phase.grid).toEqual([1, 0.5]);
    const m = new ConstantVelocity(b);
    const ctx = { ...contextOf({ teacher: m, generator: m, fake: m, phase }), stepper: 'x0-noise' as const };
    expect(regressionTimes(ctx)).toEqual([1, 0.5, 0]);
    expect(regressionTimes({ ...ctx, stepper: 'euler' })).toEqual([1, 0.5]);
    m.dispose();
    const { value, flat } = run('x0-noise', phase);
    expect(value).toBeCloseTo(mse([z[0] - b[0], z[1] - b[1]], y), 6);
    expect(flat).toBe(true);
  });

  it("a later phase starts from the teacher's state at its start, not from z", () => {
    // the phase [.5, 0] of a two-phase schedule: one step from mid to y
    const phase = phaseOf(0.5, 0, 1);
    expect(phase.grid).toEqual([0.5, 0]);
    expect(run('euler', phase).value).toBeCloseTo(mse([mid[0] - 0.5 * b[0], mid[1] - 0.5 * b[1]], y), 6);
  });

  it("one step from 1 to 0 is one-step DMD's term to the bit: d(z − G(z), y)", () => {
    const phase = phaseOf(1, 0, 1);
    const generator = tinyMlp(0, 5);
    const pairs = {
      z: tf.randomNormal([6, 2], 0, 1, 'float32', 1),
      labels: null,
      y: tf.randomNormal([6, 2], 0, 1, 'float32', 2),
    };
    const term: RegressionTerm = { pairs, weight: 1, batchSize: 6, distance: 'l1' };
    const ctx = { ...contextOf({ teacher: generator, generator, fake: generator, phase }) };
    const batch = pairBatch(term, 9, regressionTimes(ctx));
    const got = pathRegressionLoss(ctx, batch);
    const want = tf.tidy(() =>
      tf.mean(
        tf.abs(
          tf.sub(
            tf.sub(batch.states[0], tf.mul(1, generator.apply(batch.states[0], tf.fill([6], 1), null))),
            batch.states[1],
          ),
        ),
      ),
    );
    expect(sameBits([got.dataSync() as Float32Array], [want.dataSync() as Float32Array])).toBe(true);
    tf.dispose([got, want, ...batch.owned]);
    disposePairs(pairs);
    generator.dispose();
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
    expect(Array.from(p.states[0].dataSync())).toEqual(idx.flatMap((i) => [i, i]));
    expect(Array.from(p.states[1].dataSync())).toEqual(idx.flatMap((i) => [10 + i, 10 + i]));
    expect(Array.from(q.labels!.dataSync())).toEqual(idx);
    expect(p.owned).toHaveLength(3);
    tf.dispose([...p.owned, ...q.owned]);
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

  it.each([
    ['sgts', {}],
    ['phased', {}],
    ['phased', { phasing: 'concurrent' }],
    // shift 0.3 rounds the first boundary to 0.9999999999999998
    ['phased', { shift: 0.3 }],
  ])(
    '%s %j: a warm-up per phase on its stretch of the path, lowering its loss; deterministic, no leak',
    async (method, extra) => {
      const before = tf.memory().numTensors;
      const c = config({
        method,
        steps: 4,
        ...extra,
        regression: { pairs: 16, batchSize: 8, warmup: 5, warmupLr: 0.01 },
      });
      const a = await trainDistill(c, { teacher });
      const b = await trainDistill(c, { teacher });
      const phases = method === 'phased' ? 2 : 1;
      const warm = a.metrics.filter((m) => m.role === WARMUP_ROLE);
      expect(warm).toHaveLength(5 * phases);
      for (let p = 0; p < phases; p++) {
        const losses = warm.filter((m) => m.key.phase === p).map((m) => m.loss!);
        expect(losses[4]).toBeLessThan(losses[0]);
      }
      // weight 0: the DMD updates carry no regression loss
      expect(a.metrics.filter((m) => m.role === 'generator').every((m) => m.extras.regLoss === undefined)).toBe(true);
      a.experts.forEach((e, i) => expect(sameBits(weightsOf(e.expert), weightsOf(b.experts[i].expert))).toBe(true));
      [a, b].forEach((r) => r.experts.forEach((e) => e.expert.dispose()));
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});
