/** The experiment on the video toy: the motion table's metrics and the clip strips, from a tiny run. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { readNpy } from '../../lib/data/npy';
import { motionReport } from '../../lib/metrics/motion';
import { runExperiment } from '../../pipelines/experiment';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('video experiment', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'experiment-video-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reports mean displacement, dynamic degree and the trajectory Fréchet distance per method, and draws clip strips', async () => {
    const before = tf.memory().numTensors;
    const r = await runExperiment(
      {
        method: 'experiment',
        task: 'video',
        video: { frames: 4, size: 8, sigma: 0.75 },
        seeds: [1],
        methods: ['teacher', 'sgts'],
        model: { kind: 'mlp', hidden: [32], timeEmbedDim: 8 },
        budget: { teacherSteps: 6, teacherBatchSize: 16, iterations: 2, batchSize: 8 },
        distill: { updateRatio: 1 },
        samples: 24,
        logEvery: 1000,
      },
      { outDir: dir },
    );
    expect(tf.memory().numTensors).toBe(before);
    const results = JSON.parse(fs.readFileSync(r.results, 'utf8'));
    expect(results.problems).toEqual([]);
    for (const m of ['teacher', 'sgts']) for (const k of ['meanDisplacement', 'dynamicDegree', 'trajectoryFrechet', 'energy']) expect(Number.isFinite(results.aggregate[m][k].mean)).toBe(true);
    // the table's motion numbers are those of the exported clips
    const clips = readNpy(path.join(dir, 'samples', 'seed-1', 'sgts.npy'));
    if (E.isLeft(clips)) throw clips.left;
    expect(clips.right.shape).toEqual([24, 4 * 8 * 8]);
    const motion = motionReport(clips.right.values as Float32Array, { frames: 4, height: 8, width: 8 }, 0.5);
    expect(results.aggregate.sgts.meanDisplacement.mean).toBeCloseTo(motion.meanDisplacement, 10);
    expect(fs.readFileSync(r.report, 'utf8')).toContain('trajectory FD to teacher (FVD-like)');
    expect(fs.statSync(path.join(dir, 'figures', 'clips.png')).size).toBeGreaterThan(1000);
  });
});
