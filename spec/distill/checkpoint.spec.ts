/**
 * Non-finite values stop a distillation run with a clear message, and the last good
 * checkpoint (written every `checkpointEvery` generator updates) is left intact.
 * The NaN is injected by poisoning the teacher mid-run: the next generator update's
 * DMD gradient, hence its loss, is NaN.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import { useBackend } from '../../lib/backend';
import { trainDistill } from '../../lib/distill/distill';
import { NonFiniteLossError } from '../../lib/operators/optimise/optimise';
import { loadCheckpoint, tensorsUnder } from '../../lib/checkpoint/format';
import { openPhase, DistillSettings } from '../../lib/distill/segment';
import { saveProgress, NonFiniteWeightsError } from '../../lib/distill/checkpoint';
import type { ModelConfig } from '../../lib/models/config';
import { smallMlp } from '../helpers/operators';
import { onePhase } from '../helpers/analytic';

beforeAll(async () => {
  await useBackend('wasm');
});

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'distill-ckpt-'));
const config = (extra: object = {}) => ({
  method: 'dmd',
  teacher: 'unused.ckpt',
  iterations: 12,
  batchSize: 32,
  updateRatio: 2,
  checkpointEvery: 4,
  logEvery: 1000,
  ...extra,
});

describe('a non-finite loss stops the run and leaves the last good checkpoint', () => {
  it(
    'stops at the poisoned generator update, names role and step; last.ckpt holds iteration 8, finite, equal to a ' +
      'clean 8-iteration run',
    async () => {
      const teacher = smallMlp(3, 7);
      const before = tf.memory().numTensors;
      const dir = tmp();
      const last = path.join(dir, 'last.ckpt');
      const lines: string[] = [];
      let bytesAtPoison: Buffer | null = null;
      const run = trainDistill(config({ ema: 0.5 }), {
        outDir: dir,
        teacher: { model: teacher, modelConfig: teacher.config as ModelConfig },
        log: (l) => lines.push(l),
        onStep: (m) => {
          if (m.role === 'generator' && m.key.step === 8) {
            bytesAtPoison = fs.readFileSync(last);
            const nan = tf.tensor1d([NaN, NaN]);
            teacher.params.get('out.b').assign(nan);
            nan.dispose();
          }
        },
      });
      await expect(run).rejects.toThrow(NonFiniteLossError);
      await expect(run).rejects.toThrow(
        /non-finite loss \(NaN\) for role "generator" at phase 1, step 9: training stopped/,
      );
      expect(lines.some((l) => l.includes(`last good checkpoint: ${last} (phase 1, 8 iterations)`))).toBe(true);
      // the file is byte-for-byte what it was before the poison, and loads (checksum verified)
      expect(bytesAtPoison).not.toBeNull();
      expect(fs.readFileSync(last).equals(bytesAtPoison!)).toBe(true);
      const ckpt = loadCheckpoint(last);
      if (E.isLeft(ckpt)) throw ckpt.left;
      expect(ckpt.right.meta).toMatchObject({
        kind: 'distill-progress',
        method: 'dmd',
        phase: 0,
        iterations: 8,
        ema: true,
      });
      for (const t of ckpt.right.tensors) expect(t.values.every(Number.isFinite)).toBe(true);
      expect(fs.existsSync(path.join(dir, 'student.ckpt'))).toBe(false);
      // the failed run freed its roles: only the teacher's tensors remain
      expect(tf.memory().numTensors).toBe(before);

      // the checkpoint is the state after 8 updates: a clean 8-iteration run ends with the same generator and EMA
      const clean = smallMlp(3, 7);
      const r = await trainDistill(config({ ema: 0.5, iterations: 8 }), {
        teacher: { model: clean, modelConfig: clean.config as ModelConfig },
      });
      const ema = tensorsUnder(ckpt.right, 'phase/ema/');
      const expert = r.experts[0].expert.params.read();
      expect(ema.map((t) => t.name)).toEqual(expert.map((t) => t.name));
      ema.forEach((t, i) => expect(Array.from(t.values)).toEqual(Array.from(expert[i].values)));
      expect(tensorsUnder(ckpt.right, 'phase/generator/').length).toBe(expert.length);
      expect(tensorsUnder(ckpt.right, 'phase/fake/').length).toBe(expert.length);
      r.experts.forEach((e) => e.expert.dispose());
      [teacher, clean].forEach((m) => m.dispose());
      fs.rmSync(dir, { recursive: true });
    },
  );

  it('a run that finishes writes last.ckpt at each multiple of checkpointEvery and the student', async () => {
    const teacher = smallMlp(0, 8);
    const dir = tmp();
    const r = await trainDistill(config({ method: 'sgts', steps: 2, iterations: 6, checkpointEvery: 3 }), {
      outDir: dir,
      teacher: { model: teacher, modelConfig: teacher.config as ModelConfig },
    });
    const ckpt = loadCheckpoint(path.join(dir, 'last.ckpt'));
    if (E.isLeft(ckpt)) throw ckpt.left;
    expect(ckpt.right.meta).toMatchObject({ kind: 'distill-progress', method: 'sgts', iterations: 6, ema: false });
    expect(fs.existsSync(path.join(dir, 'student.ckpt'))).toBe(true);
    r.experts.forEach((e) => e.expert.dispose());
    teacher.dispose();
    fs.rmSync(dir, { recursive: true });
  });
});

describe('saveProgress', () => {
  it('refuses non-finite weights and leaves the existing file untouched', () => {
    const teacher = smallMlp(0, 2);
    const settings: DistillSettings = {
      teacher,
      seed: 0,
      shift: 5,
      backprop: 'sgts',
      gradient: 'paper',
      betas: [0, 0.999],
    };
    const roles = openPhase(settings, onePhase(1), { experts: [] });
    const dir = tmp();
    const file = path.join(dir, 'last.ckpt');
    saveProgress(file, roles, { experts: [] }, { phase: 0, iterations: 1 });
    const good = fs.readFileSync(file);
    const inf = tf.fill([16], Infinity);
    roles.context.fake.params.get('dense1.b').assign(inf);
    inf.dispose();
    expect(() => saveProgress(file, roles, { experts: [] }, { phase: 0, iterations: 2 })).toThrow(
      NonFiniteWeightsError,
    );
    expect(() => saveProgress(file, roles, { experts: [] }, { phase: 0, iterations: 2 })).toThrow(
      /non-finite weight phase\/fake\/dense1\.b\[0\] = Infinity: not checkpointed/,
    );
    expect(fs.readFileSync(file).equals(good)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['last.ckpt']);
    [roles.context.generator, roles.context.fake, teacher].forEach((m) => m.dispose());
    roles.trainers.generator.optimizer.dispose();
    roles.trainers.fake.optimizer.dispose();
    fs.rmSync(dir, { recursive: true });
  });
});
