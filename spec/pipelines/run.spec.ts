/** runConfig: one entry point for every method; a teacher checkpoint feeds each distillation method. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { runConfig, disposeRun, RUN_METHODS } from '../../pipelines/run';
import { evaluateCheckpoint } from '../../pipelines/evaluate';
import { ConfigError } from '../../lib/config/report';

beforeAll(async () => {
  await useBackend('wasm');
});

const teacherConfig = {
  method: 'teacher',
  data: { kind: 'mixture', name: 'ring8' },
  model: { kind: 'mlp', hidden: [16, 16], timeEmbedDim: 8 },
  steps: 5,
  batchSize: 32,
  sampler: { steps: 4 },
  logEvery: 1000,
};
const small = { iterations: 2, batchSize: 16, updateRatio: 1, logEvery: 1000 };

describe('runConfig', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-config-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true }));

  it(
    'teacher, then dmd / sgts / vanilla / phased from its checkpoint; each writes its checkpoint and frees its ' +
      'tensors',
    async () => {
      const before = tf.memory().numTensors;
      const t = await runConfig(teacherConfig, { outDir: path.join(dir, 'teacher') });
      expect(t.method).toBe('teacher');
      expect(t.checkpoint).toBe(path.join(dir, 'teacher', 'teacher.ckpt'));
      expect(fs.existsSync(t.checkpoint!)).toBe(true);
      expect(t.seconds).toBeGreaterThan(0);
      disposeRun(t);
      for (const [method, steps] of [
        ['dmd', 1],
        ['sgts', 2],
        ['vanilla', 2],
        ['phased', 2],
      ] as const) {
        const out = path.join(dir, method);
        const r = await runConfig(
          { method, teacher: t.checkpoint, steps, ...small, ...(method === 'phased' ? { preset: '4x2' } : {}) },
          { outDir: out },
        );
        expect(r.method).toBe(method);
        expect(r.checkpoint).toBe(path.join(out, 'student.ckpt'));
        const report = evaluateCheckpoint(r.checkpoint!, { mixture: 'ring8', n: 64, seed: 1 });
        expect(report).toMatchObject({ kind: 'student', method, nfe: steps, n: 64, numModes: 8 });
        disposeRun(r);
      }
      expect(evaluateCheckpoint(t.checkpoint!, { mixture: 'ring8', n: 64, seed: 1 })).toMatchObject({
        kind: 'teacher',
        nfe: 4,
      });
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('an inline teacher config is trained first', async () => {
    const r = await runConfig({ method: 'dmd', teacher: teacherConfig, ...small });
    expect(r.method).toBe('dmd');
    expect(r.checkpoint).toBeNull();
    disposeRun(r);
  });

  it('names the method field when it is missing or unknown, and the distill field when it is wrong', async () => {
    await expect(runConfig({ teacher: 'x' })).rejects.toThrow(ConfigError);
    expect(RUN_METHODS).toEqual(expect.arrayContaining(['teacher', 'dmd', 'sgts', 'vanilla', 'phased']));
    await expect(runConfig({ teacher: 'x' })).rejects.toThrow(
      `method: expected one of ${RUN_METHODS.map((m) => `"${m}"`).join(' | ')}, got nothing`,
    );
    await expect(runConfig({ method: 'gan' })).rejects.toThrow(/method: .* got "gan"/);
    await expect(runConfig([1])).rejects.toThrow(
      /method: expected a config object with a "method" field, got an array/,
    );
    await expect(runConfig({ method: 'dmd', teacher: 'x', batchSize: 0 })).rejects.toThrow(
      /batchSize: expected PositiveInt, got 0/,
    );
    await expect(runConfig({ method: 'dmd', teacher: path.join(os.tmpdir(), 'no-such.ckpt') })).rejects.toThrow(
      /file not found/,
    );
  });
});
