/**
 * The experiment on the video toy: the motion table's metrics and the clip strips, from
 * tiny runs (an MLP on the flat clips, and the default U-Net over frames as channels),
 * and the config checks of a U-Net on clips.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { readNpy } from '../../lib/data/npy';
import { motionReport } from '../../lib/metrics/motion';
import { ConfigError } from '../../lib/config/report';
import { runExperiment, decodeExperiment, TASK_DEFAULTS } from '../../pipelines/experiment';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('video experiment', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'experiment-video-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(
    'reports mean displacement, dynamic degree and the trajectory Fréchet distance per method, and draws clip ' +
      'strips',
    async () => {
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
      for (const m of ['teacher', 'sgts'])
        for (const k of ['meanDisplacement', 'dynamicDegree', 'trajectoryFrechet', 'energy'])
          expect(Number.isFinite(results.aggregate[m][k].mean)).toBe(true);
      // the table's motion numbers are those of the exported clips
      const clips = readNpy(path.join(dir, 'samples', 'seed-1', 'sgts.npy'));
      if (E.isLeft(clips)) throw clips.left;
      expect(clips.right.shape).toEqual([24, 4 * 8 * 8]);
      const motion = motionReport(clips.right.values as Float32Array, { frames: 4, height: 8, width: 8 }, 0.5);
      expect(results.aggregate.sgts.meanDisplacement.mean).toBeCloseTo(motion.meanDisplacement, 10);
      expect(fs.readFileSync(r.report, 'utf8')).toContain('trajectory FD to teacher (FVD-like)');
      expect(fs.statSync(path.join(dir, 'figures', 'clips.png')).size).toBeGreaterThan(1000);
    },
  );

  it(
    'with the default U-Net (frames as channels) the clips, motion numbers and strips come out in the same flat ' +
      'layout',
    async () => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'experiment-video-unet-'));
      try {
        const r = await runExperiment(
          {
            method: 'experiment',
            task: 'video',
            video: { frames: 4, size: 8, sigma: 0.75 },
            seeds: [2],
            methods: ['teacher', 'dmd'],
            model: { kind: 'unet', width: 4, timeEmbedDim: 8 },
            budget: { teacherSteps: 4, teacherBatchSize: 8, iterations: 1, batchSize: 4 },
            distill: { updateRatio: 1 },
            samples: 8,
            logEvery: 1000,
          },
          { outDir: out },
        );
        const results = JSON.parse(fs.readFileSync(r.results, 'utf8'));
        expect(results.problems).toEqual([]);
        const clips = readNpy(path.join(out, 'samples', 'seed-2', 'dmd.npy'));
        if (E.isLeft(clips)) throw clips.left;
        expect(clips.right.shape).toEqual([8, 4 * 8 * 8]);
        const motion = motionReport(clips.right.values as Float32Array, { frames: 4, height: 8, width: 8 }, 0.5);
        expect(results.aggregate.dmd.meanDisplacement.mean).toBeCloseTo(motion.meanDisplacement, 10);
        expect(fs.statSync(path.join(out, 'figures', 'clips.png')).size).toBeGreaterThan(1000);
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    },
  );
});

describe('video experiment config', () => {
  const issuesOf = (input: Record<string, unknown>): Array<{ path: string; message: string }> => {
    try {
      decodeExperiment({ method: 'experiment', ...input });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return [...(err as ConfigError).issues];
    }
    return [];
  };

  it('defaults to a U-Net over the clip (frames as channels)', () => {
    expect(TASK_DEFAULTS.video.model.kind).toBe('unet');
    expect(decodeExperiment({ method: 'experiment', task: 'video' }).model.kind).toBe('unet');
  });

  it.each([
    [{ task: 'video', video: { size: 18 } }, 'video.size', /multiple of 4 with model.kind "unet".*got 18/],
    [{ task: 'video', model: { kind: 'unet' }, video: { size: 10 } }, 'video.size', /got 10/],
    [{ task: 'grid25', model: { kind: 'unet' } }, 'model.kind', /expected "mlp" for the 2-D task "grid25"/],
  ])('refuses %j at %s', (patch, at, message) => {
    const issue = issuesOf(patch).find((i) => i.path === at);
    expect(issue).toBeDefined();
    expect(issue!.message).toMatch(message);
  });

  it('an MLP on flat clips takes any frame size', () => {
    expect(issuesOf({ task: 'video', model: { kind: 'mlp' }, video: { size: 18 } })).toEqual([]);
  });
});
