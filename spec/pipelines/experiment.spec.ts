/**
 * The experiment pipeline: its config codec (bad configs refused with paths), a tiny
 * ring8 experiment end to end (report, results, .npy samples that read back, reuse of
 * finished runs, a report rebuilt from the recordings alone), and the mean ± std
 * aggregation against hand-computed values.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { ConfigError } from '../../lib/config/report';
import { readNpy, npyToFloat32 } from '../../lib/data/npy';
import { summariseRecording } from '../../lib/record/summary';
import {
  decodeExperiment,
  distillConfigFor,
  POINTS_DMD_REGRESSION,
  studentVariantLines,
  teacherConfigFor,
  teacherKey,
  experimentDataset,
  balancedLabels,
  methodDir,
  teacherDir,
  runExperiment,
  experimentMemoryIssues,
  experimentPlan,
  RECORDING,
  classifierFile,
  describeImages,
  ensureClassifier,
  imageSide,
} from '../../pipelines/experiment';
import { writeSyntheticIdx } from '../helpers/idxImages';
import { FASHION_MNIST_DIRS } from '../../lib/data/mnist';
import { loadCheckpoint, saveCheckpoint } from '../../lib/checkpoint/format';
import {
  buildExperimentReport,
  meanStd,
  aggregate,
  formatMeanStd,
  trajectoryFeatures,
} from '../../pipelines/experimentReport';
import { runConfig } from '../../pipelines/run';

beforeAll(async () => {
  await useBackend('wasm');
});

const issuesOf = (input: unknown): Array<{ path: string; message: string }> => {
  try {
    decodeExperiment(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected the config to be refused');
};

describe('the run plan a progress display shows', () => {
  it('lists a teacher per seed, or once when every seed shares it (teacher.seed)', () => {
    const own = experimentPlan(decodeExperiment({ method: 'experiment', task: 'ring8', seeds: [0, 1] }));
    expect(own.map((p) => `${p.seed} ${p.method}`)).toEqual([
      ...['0 teacher', '0 dmd', '0 sgts', '0 phased-4x2', '0 phased-4x4'],
      ...['1 teacher', '1 dmd', '1 sgts', '1 phased-4x2', '1 phased-4x4'],
    ]);
    const shared = experimentPlan(
      decodeExperiment({ method: 'experiment', task: 'ring8', seeds: [3, 4], teacher: { seed: 0 } }),
    );
    expect(shared.filter((p) => p.method === 'teacher').map((p) => p.seed)).toEqual([3]);
    expect(shared).toHaveLength(9);
    // a phased run's budget is split evenly over its phases
    expect(shared.find((p) => p.method === 'phased-4x4')?.totals).toEqual([100, 100, 100, 100]);
  });
});

describe('experiment config', () => {
  it(
    'fills the task defaults: three seeds, the five methods of the paper comparison, one budget for every ' + 'student',
    () => {
      const r = decodeExperiment({ method: 'experiment', task: 'grid25' });
      expect(r.seeds).toEqual([0, 1, 2]);
      expect(r.methods).toEqual(['teacher', 'dmd', 'sgts', 'phased-4x2', 'phased-4x4']);
      expect(r.students).toEqual(['dmd', 'sgts', 'phased-4x2', 'phased-4x4']);
      const configs = r.students.map((m) => distillConfigFor(r, m, 0, 't.ckpt'));
      expect(new Set(configs.map((c) => c.iterations)).size).toBe(1);
      expect(configs.map((c) => [c.method, c.steps, c.preset])).toEqual([
        ['dmd', 1, undefined],
        ['sgts', 4, undefined],
        ['phased', 4, '4x2'],
        ['phased', 4, '4x4'],
      ]);
      expect(teacherConfigFor(r, 0).sampler).toEqual({ steps: 40, method: 'euler', guidance: r.guidance });
    },
  );

  it("2-D students distil with the teacher's training shift unless distill.shift is given", () => {
    const shift = (c: Record<string, unknown>) => decodeExperiment({ method: 'experiment', ...c }).distill.shift;
    expect(shift({ task: 'grid25' })).toBe(0.3);
    expect(shift({ task: 'uneven7' })).toBe(1);
    expect(shift({ task: 'ring8', teacher: { timesteps: { shift: 0.5 } } })).toBe(0.5);
    expect(shift({ task: 'grid25', distill: { shift: 2 } })).toBe(2);
    expect(shift({ task: 'mnist' })).toBeUndefined();
  });

  it('distill.regression goes to the dmd student only; without it, dmd takes the 2-D default, no other has one', () => {
    const configs = (c: Record<string, unknown>) => {
      const r = decodeExperiment({ method: 'experiment', task: 'ring8', ...c });
      return r.students.map((m) => [m, distillConfigFor(r, m, 0, 't.ckpt').regression]);
    };
    const regression = { weight: 0.25, pairs: 512 };
    expect(configs({ distill: { regression } })).toEqual([
      ['dmd', regression],
      ['sgts', undefined],
      ['phased-4x2', undefined],
      ['phased-4x4', undefined],
    ]);
    // 2-D tasks: the dmd student has the task's term by default; a config's term replaces it whole
    expect(configs({})).toEqual([
      ['dmd', POINTS_DMD_REGRESSION],
      ['sgts', undefined],
      ['phased-4x2', undefined],
      ['phased-4x4', undefined],
    ]);
    expect(configs({ distill: { regression: { weight: 0 } } })[0]).toEqual(['dmd', { weight: 0 }]);
    // distill.fewStepRegression goes to every other student as its regression; dmd keeps its own
    const fewStep = { warmup: 100, warmupLr: 0.001 };
    expect(configs({ distill: { fewStepRegression: fewStep } })).toEqual([
      ['dmd', POINTS_DMD_REGRESSION],
      ['sgts', fewStep],
      ['phased-4x2', fewStep],
      ['phased-4x4', fewStep],
    ]);
  });

  it("the report's variant lines name dmd's term and the 4-step students' apart from the shared settings", () => {
    const lines = studentVariantLines(
      {
        stepper: 'euler',
        regression: { weight: 4, warmup: 8, warmupLr: 1e-3 },
        fewStepRegression: { warmup: 6 },
      } as never,
      'every student',
    );
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^- every student: gradient reference, .*phasing sequential$/);
    expect(lines[1]).toMatch(/^- dmd adds the regression loss .*λ_reg 4.*after 8 regression-only warm-up updates/);
    expect(lines[2]).toMatch(/^- the 4-step students add 6 regression-only warm-up updates per phase at lr 0\.0002 /);
    expect(studentVariantLines({}, 'every student')).toHaveLength(1);
  });

  it('a student config never carries the experiment-only field fewStepRegression', () => {
    const r = decodeExperiment({
      method: 'experiment',
      task: 'uneven7',
      distill: { fewStepRegression: { warmup: 1 } },
    });
    for (const m of r.students) expect(distillConfigFor(r, m, 0, 't.ckpt')).not.toHaveProperty('fewStepRegression');
  });

  it.each([
    [{ task: 'cifar' }, 'task', /grid25/],
    [{ task: 'ring8', seeds: [] }, 'seeds', /empty list/],
    [{ task: 'ring8', seeds: [1, 1] }, 'seeds', /1 twice/],
    [{ task: 'ring8', seeds: [0, -1] }, 'seeds[1]', /NonNegativeInt/],
    [{ task: 'ring8', methods: ['teacher', 'gan'] }, 'methods[1]', /got "gan"/],
    [{ task: 'ring8', budget: { iterations: 0 } }, 'budget.iterations', /PositiveInt/],
    [{ task: 'ring8', budget: { iterations: 6 } }, 'budget.iterations', /multiple of 4/],
    [{ task: 'ring8', budget: { iteratons: 8 } }, 'budget.iteratons', /./],
    [{ task: 'ring8', samples: 1 }, 'samples', /at least 2/],
    [{ task: 'ring8', condition: 'none', guidance: 3 }, 'guidance', /condition "none"/],
    [{ task: 'mnist', condition: 'group' }, 'condition', /2-D tasks/],
    [{ task: 'grid25', video: { frames: 4 } }, 'video', /task "video"/],
    [{ task: 'ring8', images: { pool: 2, size: 16 } }, 'images', /tasks "mnist" and "fashion-mnist", not "ring8"/],
    [{ task: 'video', images: { pool: 2, size: 16 } }, 'images', /tasks "mnist" and "fashion-mnist", not "video"/],
    [{ task: 'ring8', classifier: { steps: 10 } }, 'classifier', /tasks "mnist" and "fashion-mnist"/],
    [{ task: 'mnist', images: { pool: 0 } }, 'images.pool', /PositiveInt/],
    [{ task: 'mnist', images: { pool: 3 } }, 'images.pool', /divisor of the stored side 28/],
    [
      { task: 'mnist', images: { pool: 2 } },
      'images.pool',
      /multiple of 4 .*got 14; set images.size to 12 \(crop\) or 16/,
    ],
    [{ task: 'fashion-mnist', images: { pool: 2, size: 10 } }, 'images.size', /multiple of 4 .*got 10/],
    [{ task: 'mnist', images: { pool: 2, size: 13 } }, 'images.size', /differs from the pooled 14 by an even number/],
    [{ task: 'mnist', images: { pool: 2, size: 16, crop: 1 } }, 'images.crop', /./],
    [{ task: 'ring8', distill: { updateRatio: 1.5 } }, 'distill.updateRatio', /PositiveInt/],
    [{ task: 'ring8', distill: { regression: { weight: -0.25 } } }, 'distill.regression.weight', /NonNegative/],
    [{ task: 'ring8', distill: { regression: { distance: 'l2' } } }, 'distill.regression.distance', /"l1"/],
  ])('refuses %j at %s', (patch, at, message) => {
    const issues = issuesOf({ method: 'experiment', ...patch });
    const issue = issues.find((i) => i.path === at);
    expect(issue).toBeDefined();
    expect(issue!.message).toMatch(message);
  });

  it('teacher.seed shares one teacher across seeds (same key, trained once); without it each seed has its own', () => {
    const shared = decodeExperiment({ method: 'experiment', task: 'ring8', teacher: { seed: 7 } });
    expect(teacherKey(shared, 0)).toBe(teacherKey(shared, 1));
    expect(teacherConfigFor(shared, 2).seed).toBe(7);
    const own = decodeExperiment({ method: 'experiment', task: 'ring8' });
    expect(teacherKey(own, 0)).not.toBe(teacherKey(own, 1));
    expect(issuesOf({ method: 'experiment', task: 'ring8', teacher: { seed: -1 } }).map((i) => i.path)).toContain(
      'teacher.seed',
    );
  });

  it('the group condition relabels a mixture by rows (grid25) with a lookup, and none drops the labels', () => {
    const group = experimentDataset(decodeExperiment({ method: 'experiment', task: 'grid25', condition: 'group' }));
    expect(group.numClasses).toBe(5);
    const b = group.sample(64, 3);
    const x = b.x0.arraySync() as number[][];
    const labels = b.labels!.arraySync() as number[];
    // row y = label − 2 for every sample (σ = 0.05 keeps it within ±0.5 of its row)
    labels.forEach((l, i) => expect(Math.abs(x[i][1] - (l - 2))).toBeLessThan(0.5));
    tf.dispose([b.x0, b.labels!]);
    const none = experimentDataset(decodeExperiment({ method: 'experiment', task: 'grid25', condition: 'none' }));
    const u = none.sample(8, 3);
    expect(none.numClasses).toBe(0);
    expect(u.labels).toBeNull();
    u.x0.dispose();
    expect(balancedLabels(7, 3)).toEqual(Int32Array.from([0, 1, 2, 0, 1, 2, 0]));
    expect(balancedLabels(4, 0)).toBeNull();
  });
});

describe('image tasks: MNIST and Fashion-MNIST, as stored or smaller', () => {
  const resolve = (c: object) => decodeExperiment({ method: 'experiment', seeds: [0], ...c });

  it('images goes into the data config, so the teacher key and the classifier file follow dataset and size', () => {
    const plain = resolve({ task: 'mnist' });
    const small = resolve({ task: 'mnist', images: { pool: 2, size: 16 } });
    const fashion = resolve({ task: 'fashion-mnist', images: { pool: 2, size: 16 } });
    expect([plain.data, small.data, fashion.data]).toEqual([
      { kind: 'mnist', split: 'train' },
      { kind: 'mnist', split: 'train', pool: 2, size: 16 },
      { kind: 'fashion-mnist', split: 'train', pool: 2, size: 16 },
    ]);
    expect(new Set([plain, small, fashion].map((r) => teacherKey(r, 0))).size).toBe(3);
    expect([plain, small, fashion].map((r) => path.relative('run', classifierFile('run', r)))).toEqual([
      path.join('classifier', 'classifier.ckpt'),
      path.join('classifier', 'mnist-16px-pool2', 'classifier.ckpt'),
      path.join('classifier', 'fashion-mnist-16px-pool2', 'classifier.ckpt'),
    ]);
    expect([plain, small, fashion].map(imageSide)).toEqual([28, 16, 16]);
    expect(imageSide(resolve({ task: 'ring8' }))).toBeNull();
  });

  it('describes the images for the reports', () => {
    expect(describeImages(resolve({ task: 'mnist' }))).toBe('mnist images 28×28 (as stored)');
    expect(describeImages(resolve({ task: 'fashion-mnist', images: { pool: 2, size: 12 } }))).toBe(
      'fashion-mnist images 12×12 (28×28 averaged over 2×2 blocks, then cropped by 1 pixel each side)',
    );
    expect(describeImages(resolve({ task: 'mnist', images: { size: 32 } }))).toBe(
      'mnist images 32×32 (28×28 padded with 2 pixels of background each side)',
    );
    expect(describeImages(resolve({ task: 'ring8' }))).toBeNull();
  });

  it('the memory estimate sees the smaller images: a budget that refuses 28×28 takes 16×16', () => {
    const students = { methods: ['phased-4x4'], budget: { batchSize: 4096 } };
    const big = experimentMemoryIssues(resolve({ task: 'mnist', ...students }), 1e9);
    const small = experimentMemoryIssues(resolve({ task: 'mnist', images: { pool: 2, size: 16 }, ...students }), 1e9);
    expect(big.map((i) => i.path)).toContain('budget.batchSize');
    expect(small).toEqual([]);
  });

  const installed = fs.existsSync(path.join(FASHION_MNIST_DIRS[0], 'train-images-idx3-ubyte.gz'));
  (installed ? it.skip : it)(
    "without Debian's dataset-fashion-mnist, task fashion-mnist stops with the install hint (skipped where it is " +
      'installed: the loader then finds it)',
    () => {
      const r = resolve({ task: 'fashion-mnist', images: { pool: 2, size: 16 } });
      expect(() => experimentDataset(r)).toThrow(
        /Fashion-MNIST is not installed .*apt-get install dataset-fashion-mnist/,
      );
    },
  );

  it('trains the classifier on the task at its size, reuses it, and refuses a given one of another size', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'experiment-classifier-'));
    const before = process.env.FASHION_MNIST_DIR;
    process.env.FASHION_MNIST_DIR = writeSyntheticIdx(path.join(dir, 'idx'), 40, 20);
    try {
      const r = resolve({
        task: 'fashion-mnist',
        images: { pool: 2, size: 16 },
        classifier: { steps: 3, batchSize: 8 },
      });
      const lines: string[] = [];
      ensureClassifier(r, dir, (l) => lines.push(l)).dispose();
      expect(lines[0]).toMatch(/training the feature classifier/);
      const saved = loadCheckpoint(classifierFile(dir, r));
      if (E.isLeft(saved)) throw saved.left;
      expect(saved.right.meta.trainedOn).toBe('fashion-mnist-16px-pool2 train');
      const again: string[] = [];
      const clf = ensureClassifier(r, dir, (l) => again.push(l));
      expect([again, clf.inputShape]).toEqual([[], [16, 16, 1]]);
      clf.dispose();
      const other = resolve({
        task: 'fashion-mnist',
        images: { pool: 2, size: 12 },
        classifier: { path: classifierFile(dir, r) },
      });
      expect(() => ensureClassifier(other, dir)).toThrow(
        /classifier\.path: .*expected a classifier of \[12, 12, 1\] images \(the task's\), got \[16, 16, 1\]/,
      );
    } finally {
      if (before === undefined) delete process.env.FASHION_MNIST_DIR;
      else process.env.FASHION_MNIST_DIR = before;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the experiment memory estimate', () => {
  const issues = (c: Record<string, unknown>, budget: number) =>
    experimentMemoryIssues(decodeExperiment({ method: 'experiment', task: 'ring8', ...c }), budget);

  test('the defaults fit in a gigabyte; each stage over the budget is refused at the field to change', () => {
    expect(issues({}, 1e9)).toEqual([]);
    // ring8's MLP (128, 128, 128; time 16): the teacher's batch dominates its training at 65 536
    const teacher = issues({ methods: ['teacher'], budget: { teacherBatchSize: 65536 } }, 1e8);
    expect(teacher.map((i) => i.path)).toEqual(['budget.teacherBatchSize']);
    expect(teacher[0].message).toContain('training the teacher');
    const student = issues({ methods: ['teacher', 'dmd'], budget: { batchSize: 65536 } }, 1e8);
    expect(student.map((i) => i.path)).toEqual(['budget.batchSize']);
    expect(student[0].message).toContain('distilling a student');
    const wide = issues({ model: { kind: 'mlp', hidden: [4096, 4096] }, budget: { teacherBatchSize: 1 } }, 1e8);
    expect(wide.map((i) => i.path)).toEqual(['model.hidden', 'model.hidden']);
  });

  test('evaluation: a seed’s sample sets and the O(N²) distances, at samples or evalPoints', () => {
    // 6 sets (reference, teacher, 4 students) of 2-D points: 48 bytes a sample
    const sets = issues({ samples: 100000, evalPoints: 10 }, 4e6);
    expect(sets.map((i) => i.path)).toEqual(['samples']);
    expect(sets[0].message).toContain('6 sets of 100,000 samples of 2 values');
    // 2·N²·8 bytes: 16 MB at N = 1000, so the points dominate
    const pairs = issues({ samples: 1000, evalPoints: 1000 }, 1e7);
    expect(pairs.map((i) => i.path)).toEqual(['evalPoints']);
    // only min(samples, evalPoints) points enter the metrics
    expect(issues({ samples: 100, evalPoints: 100000 }, 1e7)).toEqual([]);
  });
});

describe('aggregation', () => {
  it('mean ± sample std over seeds, by hand', () => {
    // mean 2.5; Σ(x − 2.5)² = 2.25 + 0.25 + 0.25 + 2.25 = 5; std = √(5/3)
    expect(meanStd([1, 2, 3, 4]).mean).toBe(2.5);
    expect(meanStd([1, 2, 3, 4]).std).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(meanStd([7])).toEqual({ mean: 7, std: 0, n: 1 });
    expect(meanStd([2, NaN, 4])).toEqual({ mean: 3, std: Math.SQRT2, n: 2 });
    expect(meanStd([]).n).toBe(0);
    const agg = aggregate([
      { method: 'sgts', scalars: { recall: 0.5, vendi: 10 } },
      { method: 'sgts', scalars: { recall: 0.7, vendi: 14 } },
      { method: 'phased', scalars: { recall: 0.9 } },
    ]);
    expect(agg.sgts.recall.mean).toBeCloseTo(0.6, 12);
    expect(agg.sgts.recall.std).toBeCloseTo(Math.sqrt(0.02), 12); // (0.1² + 0.1²) / 1
    expect(agg.sgts.vendi).toEqual({ mean: 12, std: 2 * Math.SQRT2, n: 2 });
    expect(agg.phased.recall).toEqual({ mean: 0.9, std: 0, n: 1 });
    expect(formatMeanStd(agg.sgts.vendi, 2)).toBe('12.00 ± 2.83');
    expect(formatMeanStd(agg.phased.recall, 3)).toBe('0.900');
  });

  it(
    'clip trajectories: a blob at one pixel per frame has that centroid path; a blank frame sits at the ' + 'centre',
    () => {
      const dims = { frames: 2, height: 4, width: 4 };
      const clip = new Float32Array(32).fill(-1);
      clip[1 * 4 + 2] = 1; // frame 0: row 1, col 2
      const f = trajectoryFeatures(clip, dims);
      expect(Array.from(f.slice(0, 2))).toEqual([1, 2]);
      expect(Array.from(f.slice(2, 4))).toEqual([1.5, 1.5]);
    },
  );
});

describe('a tiny experiment end to end', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'experiment-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const config = {
    method: 'experiment',
    task: 'ring8',
    seeds: [3],
    model: { kind: 'mlp', hidden: [16, 16], timeEmbedDim: 8 },
    budget: { teacherSteps: 12, teacherBatchSize: 32, iterations: 4, batchSize: 16 },
    // the task's dmd regression term with a warm-up of a few updates, not thousands
    distill: { updateRatio: 1, regression: { weight: 4, warmup: 4, warmupLr: 1e-3 } },
    samples: 48,
    logEvery: 1000,
  };

  it(
    'trains, samples and evaluates every method; writes report.md, results.json and .npy samples that read back; ' +
      'frees its tensors',
    async () => {
      const before = tf.memory().numTensors;
      const out = path.join(dir, 'run');
      const r = await runConfig(config, { outDir: out });
      expect(r.method).toBe('experiment');
      expect(tf.memory().numTensors).toBe(before);
      const report = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
      for (const title of [
        'Teacher (40 Euler steps, CFG 2)',
        'DMD (1 step)',
        'DMD + SGTS (4 steps)',
        'Phased DMD (4 steps / 2 phases)',
        'Phased DMD (4 steps / 4 phases)',
      ])
        expect(report).toContain(`| ${title} |`);
      const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
      expect(results.problems).toEqual([]);
      expect(
        results.runs.map((x: { method: string; nfe: number; generatorUpdates: number }) => [
          x.method,
          x.nfe,
          x.generatorUpdates,
        ]),
      ).toEqual([
        ['teacher', 80, 0],
        ['dmd', 1, 4],
        ['sgts', 4, 4],
        ['phased-4x2', 4, 4],
        ['phased-4x4', 4, 4],
      ]);
      expect(Object.keys(results.aggregate)).toEqual(['teacher', 'dmd', 'sgts', 'phased-4x2', 'phased-4x4']);
      for (const m of Object.keys(results.aggregate)) expect(results.aggregate[m].energy.n).toBe(1);
      for (const f of ['figures/samples-seed3.png', 'figures/losses-teacher.png', 'figures/losses-phased-4x4.png'])
        expect(fs.statSync(path.join(out, f)).size).toBeGreaterThan(1000);

      // the .npy files hold exactly the recorded samples
      const rec = summariseRecording(path.join(methodDir(out, 3, 'sgts'), RECORDING));
      if (E.isLeft(rec)) throw rec.left;
      const recorded = rec.right.samples.find((s) => s.name === 'sgts')!;
      const npy = readNpy(path.join(out, 'samples', 'seed-3', 'sgts.npy'));
      if (E.isLeft(npy)) throw npy.left;
      expect(npy.right.shape).toEqual([48, 2]);
      expect(npyToFloat32(npy.right)).toEqual(recorded.x.values);
      const labels = readNpy(path.join(out, 'samples', 'seed-3', 'sgts.labels.npy'));
      if (E.isLeft(labels)) throw labels.left;
      expect(Array.from(npyToFloat32(labels.right))).toEqual(Array.from(balancedLabels(48, 2)!));

      // a second run of the same config reuses every finished run and gives the same numbers
      const again = await runConfig(config, { outDir: out });
      if (again.method !== 'experiment') throw new Error('expected an experiment');
      expect(again.experiment.reused).toEqual([
        'seed 3 teacher (training)',
        'seed 3 teacher (samples)',
        'seed 3 dmd',
        'seed 3 sgts',
        'seed 3 phased-4x2',
        'seed 3 phased-4x4',
      ]);
      const results2 = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
      expect(results2.aggregate).toEqual(results.aggregate);
      // a copy of the run directory elsewhere reuses every run, although the students' recorded
      // configs name the teacher by its old path
      const moved = path.join(dir, 'moved');
      fs.cpSync(out, moved, { recursive: true });
      const copied = await runConfig(config, { outDir: moved });
      if (copied.method !== 'experiment') throw new Error('expected an experiment');
      expect(copied.experiment.reused).toEqual(again.experiment.reused);
      expect(JSON.parse(fs.readFileSync(path.join(moved, 'results.json'), 'utf8')).aggregate).toEqual(
        results.aggregate,
      );
      const report2 = fs.readFileSync(path.join(out, 'report.md'), 'utf8');

      // and the report alone is rebuilt from the recordings, without a model
      fs.rmSync(path.join(out, 'report.md'));
      const rebuilt = await buildExperimentReport(out);
      expect(rebuilt.markdown).toEqual(report2);
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});

describe('a killed experiment teacher resumes', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'experiment-resume-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const config = {
    method: 'experiment',
    task: 'ring8',
    seeds: [5],
    methods: ['teacher'],
    model: { kind: 'mlp', hidden: [16, 16], timeEmbedDim: 8 },
    budget: { teacherSteps: 12, teacherBatchSize: 32 },
    samples: 24,
    logEvery: 1000,
  };

  /** The teacher's files of a run directory: its checkpoint's meta and tensors, and its recording's summary. */
  const teacherOf = (out: string) => {
    const r = decodeExperiment(config);
    const tdir = teacherDir(out, teacherKey(r, 5));
    const ckpt = loadCheckpoint(path.join(tdir, 'teacher.ckpt'));
    if (E.isLeft(ckpt)) throw ckpt.left;
    const rec = summariseRecording(path.join(tdir, RECORDING));
    if (E.isLeft(rec)) throw rec.left;
    return { ckpt: ckpt.right, rec: rec.right };
  };

  it(
    'continues from its last progress checkpoint and the same recording, giving the checkpoint, losses and ' +
      'samples of an uninterrupted run bit for bit',
    async () => {
      const before = tf.memory().numTensors;
      const whole = path.join(dir, 'whole');
      await runExperiment(config, { outDir: whole, checkpointEvery: 4, log: () => undefined });

      // killed during step 7: the progress checkpoint of step 4 is the teacher file, not yet complete
      const cut = path.join(dir, 'cut');
      let seen = 0;
      const kill = () => {
        if (++seen === 7) throw new Error('killed');
      };
      await expect(
        runExperiment(config, { outDir: cut, checkpointEvery: 4, onStep: kill, log: () => undefined }),
      ).rejects.toThrow('killed');
      expect(tf.memory().numTensors).toBe(before);
      const stopped = teacherOf(cut);
      expect(stopped.ckpt.meta.step).toBe(4);
      expect(stopped.ckpt.meta.complete).toBe(false);
      expect(stopped.rec.status).toBe('failed');

      const lines: string[] = [];
      let steps = 0;
      const resumed = await runExperiment(config, {
        outDir: cut,
        checkpointEvery: 4,
        onStep: () => void steps++,
        log: (l) => lines.push(l),
      });
      expect(resumed.reused).toEqual([]);
      expect(steps).toBe(8);
      expect(lines.some((l) => l.includes('resumed at step 4'))).toBe(true);
      expect(tf.memory().numTensors).toBe(before);

      const a = teacherOf(whole);
      const b = teacherOf(cut);
      expect(b.rec.status).toBe('complete');
      expect(b.rec.resumes).toBe(1);
      expect(b.ckpt.meta.complete).toBe(true);
      // weights and Adam state, bit for bit
      expect(b.ckpt.tensors.map((x) => x.name)).toEqual(a.ckpt.tensors.map((x) => x.name));
      expect(b.ckpt.tensors.some((x) => x.name.startsWith('opt/teacher/'))).toBe(true);
      b.ckpt.tensors.forEach((x, i) =>
        expect(Buffer.from(x.values.buffer)).toEqual(Buffer.from(a.ckpt.tensors[i].values.buffer)),
      );
      expect(b.ckpt.meta).toEqual(a.ckpt.meta);
      // the recording's losses, step by step
      expect(b.rec.series.map((s) => [s.role, s.step, s.loss, s.gradNorm])).toEqual(
        a.rec.series.map((s) => [s.role, s.step, s.loss, s.gradNorm]),
      );
      expect(a.rec.series[0].step).toEqual(Array.from({ length: 12 }, (_, i) => i));
      // and what the teacher draws from them
      const samplesOf = (out: string) => {
        const rec = summariseRecording(path.join(methodDir(out, 5, 'teacher'), RECORDING));
        if (E.isLeft(rec)) throw rec.left;
        return rec.right.samples.map((s) => [s.name, Array.from(s.x.values)]);
      };
      expect(samplesOf(cut)).toEqual(samplesOf(whole));
      const results = (out: string) => JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
      expect(results(cut).aggregate).toEqual(results(whole).aggregate);
    },
  );

  it('a progress checkpoint that does not fit the model is kept aside; the teacher trains from the start', async () => {
    const whole = path.join(dir, 'whole');
    if (!fs.existsSync(whole)) await runExperiment(config, { outDir: whole, checkpointEvery: 4, log: () => undefined });
    const before = tf.memory().numTensors;
    const out = path.join(dir, 'misfit');
    let seen = 0;
    const kill = () => {
      if (++seen === 7) throw new Error('killed');
    };
    await expect(
      runExperiment(config, { outDir: out, checkpointEvery: 4, onStep: kill, log: () => undefined }),
    ).rejects.toThrow('killed');
    // a first layer one row short
    const file = path.join(teacherDir(out, teacherKey(decodeExperiment(config), 5)), 'teacher.ckpt');
    const saved = loadCheckpoint(file);
    if (E.isLeft(saved)) throw saved.left;
    const [first, ...rest] = saved.right.tensors;
    const rows = first.shape[0] - 1;
    const cut = {
      ...first,
      shape: [rows, ...first.shape.slice(1)],
      values: first.values.slice(0, first.values.length - first.values.length / first.shape[0]),
    };
    saveCheckpoint(file, { meta: saved.right.meta, tensors: [cut, ...rest] });
    const lines: string[] = [];
    let steps = 0;
    await runExperiment(config, {
      outDir: out,
      checkpointEvery: 4,
      onStep: () => void steps++,
      log: (l) => lines.push(l),
    });
    expect(steps).toBe(12);
    expect(lines.some((l) => l.includes('does not fit') && l.includes('training from the start'))).toBe(true);
    const a = teacherOf(whole);
    const b = teacherOf(out);
    b.ckpt.tensors.forEach((x, i) =>
      expect(Buffer.from(x.values.buffer)).toEqual(Buffer.from(a.ckpt.tensors[i].values.buffer)),
    );
    expect(b.rec.resumes).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });
});
