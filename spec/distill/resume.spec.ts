/**
 * Resume mid-schedule: a run stopped in phase 2 resumes in phase 2 with
 * phase 1's frozen expert loaded from the checkpoint — not retrained (0 phase-1
 * iterations after resume) — and ends with weights equal bit for bit to an uninterrupted
 * run on the same backend (randomness is a pure function of (seed, phase, step, role);
 * Adam's state is restored exactly).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../lib/backend';
import { trainDistill, loadStudent } from '../../lib/distill/distill';
import { loadDistillState } from '../../lib/distill/checkpoint';
import type { ExpertPhase } from '../../lib/rollout/context';
import type { StepMetrics } from '../../lib/stream/types';
import { frozenTinyTeacher, weightsOf, sameBits } from '../helpers/phased';
import * as E from 'fp-ts/Either';

beforeAll(async () => {
  await useBackend('wasm');
});

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'phased-resume-'));

/** The teacher path does not exist: a resumed run must take the teacher from its checkpoint. */
const config = (over: Record<string, unknown> = {}) => ({
  method: 'phased',
  teacher: '/nonexistent/teacher.ckpt',
  preset: '4x2',
  iterations: 8, // 4 per phase
  batchSize: 16,
  updateRatio: 2,
  guidance: 2,
  seed: 5,
  checkpointEvery: 1,
  logEvery: 1000,
  ...over,
});

class Crash extends Error {}

/** Stops the run (as a crash would) right after the checkpoint of generator update `step` of `phase`. */
const crashAt = (phase: number, step: number) => (m: StepMetrics) => {
  if (m.role === 'generator' && m.key.phase === phase && m.key.step === step)
    throw new Crash(`stopped at phase ${phase} step ${step}`);
};

const expertWeights = (experts: readonly ExpertPhase[]) => experts.map((e) => weightsOf(e.expert));

describe('trainDistill({ resume })', () => {
  const teacher = frozenTinyTeacher();

  const roundTrip = async (
    over: Record<string, unknown>,
    stop: { phase: number; step: number },
    checkpointEvery = 1,
  ) => {
    const reference = await trainDistill(config(over), { teacher });
    const ref = expertWeights(reference.experts);
    const dir = tmp();
    await expect(
      trainDistill(config({ ...over, checkpointEvery }), {
        teacher,
        outDir: dir,
        onStep: crashAt(stop.phase, stop.step),
      }),
    ).rejects.toThrow(Crash);
    const saved = loadDistillState(path.join(dir, 'last.ckpt'));
    if (E.isLeft(saved)) throw saved.left;
    const seen: StepMetrics[] = [];
    const resumed = await trainDistill(config({ ...over, checkpointEvery }), {
      resume: path.join(dir, 'last.ckpt'),
      outDir: dir,
      onStep: (m) => seen.push(m),
    });
    const got = expertWeights(resumed.experts);
    const result = { ref, got, seen, saved: saved.right, dir, resumed, reference };
    return result;
  };

  const dispose = (...runs: Array<{ experts: readonly ExpertPhase[] }>) =>
    runs.forEach((r) => r.experts.forEach((e) => e.expert.dispose()));

  it(
    'stopped in phase 2 mid-way: resumes in phase 2 at the saved iteration, phase 1 not retrained, final experts ' +
      'bit-identical',
    async () => {
      const r = await roundTrip({}, { phase: 1, step: 1 });
      expect(r.saved.phase).toBe(1);
      expect(r.saved.iterations).toBe(2);
      expect(r.saved.live).not.toBeNull();
      expect(r.seen.filter((m) => m.key.phase === 0)).toHaveLength(0); // phase-1 iterations after resume
      expect(r.seen.filter((m) => m.role === 'generator').map((m) => `${m.key.phase}:${m.key.step}`)).toEqual([
        '1:2',
        '1:3',
      ]);
      expect(r.got).toHaveLength(2);
      expect(sameBits(r.got[0], r.ref[0])).toBe(true); // phase 1's expert: loaded
      expect(sameBits(r.got[1], r.ref[1])).toBe(true); // phase 2's expert: continued exactly
      // the resumed run wrote a loadable student
      const student = loadStudent(path.join(r.dir, 'student.ckpt'));
      if (E.isLeft(student)) throw student.left;
      expect(sameBits(expertWeights(student.right.experts)[1], r.ref[1])).toBe(true);
      dispose(r.resumed, r.reference, student.right);
    },
  );

  it(
    'stopped right after the phase boundary (no periodic checkpoint yet): resumes phase 2 from its start with the ' +
      'frozen phase-1 expert',
    async () => {
      const r = await roundTrip({}, { phase: 1, step: 0 }, 1000);
      expect(r.saved.phase).toBe(1);
      expect(r.saved.iterations).toBe(0);
      expect(r.saved.live).toBeNull();
      expect(r.seen.filter((m) => m.key.phase === 0)).toHaveLength(0);
      expect(r.seen.filter((m) => m.role === 'generator').map((m) => m.key.step)).toEqual([0, 1, 2, 3]);
      r.got.forEach((w, k) => expect(sameBits(w, r.ref[k])).toBe(true));
      dispose(r.resumed, r.reference);
    },
  );

  it('stopped in phase 1: resumes phase 1 mid-way, with a generator EMA and LoRA experts, bit-identical', async () => {
    const r = await roundTrip({ ema: 0.9, experts: { lora: { rank: 2 } } }, { phase: 0, step: 2 });
    expect(r.saved.phase).toBe(0);
    expect(r.saved.iterations).toBe(3);
    expect(r.saved.live?.ema).not.toBeNull();
    expect(r.seen.filter((m) => m.role === 'generator').map((m) => `${m.key.phase}:${m.key.step}`)).toEqual([
      '0:3',
      '1:0',
      '1:1',
      '1:2',
      '1:3',
    ]);
    r.got.forEach((w, k) => expect(sameBits(w, r.ref[k])).toBe(true));
    dispose(r.resumed, r.reference);
  });

  it(
    'one-step DMD with the regression term stopped mid-way: its pairs are made again from the restored teacher, ' +
      'final student bit-identical; no tensors leak',
    async () => {
      const before = tf.memory().numTensors;
      const over = { method: 'dmd', regression: { weight: 0.5, pairs: 24, batchSize: 8 } };
      const r = await roundTrip(over, { phase: 0, step: 3 });
      expect(r.saved.phase).toBe(0);
      expect(r.saved.iterations).toBe(4);
      expect(r.seen.filter((m) => m.role === 'generator').map((m) => m.key.step)).toEqual([4, 5, 6, 7]);
      r.seen.filter((m) => m.role === 'generator').forEach((m) => expect(m.extras.regLoss).toBeGreaterThan(0));
      expect(r.got).toHaveLength(1);
      expect(sameBits(r.got[0], r.ref[0])).toBe(true);
      dispose(r.resumed, r.reference);
      r.resumed.teacher.dispose(); // the resumed run rebuilt it from the checkpoint and handed it back
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('one-step DMD with a warm-up stopped mid-way: the resumed run does not warm up again, bit-identical', async () => {
    const before = tf.memory().numTensors;
    const over = { method: 'dmd', regression: { weight: 0.5, pairs: 24, batchSize: 8, warmup: 5, warmupLr: 0.01 } };
    const r = await roundTrip(over, { phase: 0, step: 3 });
    expect(r.reference.metrics.filter((m) => m.role === 'regression')).toHaveLength(5);
    expect(r.seen.filter((m) => m.role === 'regression')).toHaveLength(0);
    expect(r.seen.filter((m) => m.role === 'generator').map((m) => m.key.step)).toEqual([4, 5, 6, 7]);
    expect(sameBits(r.got[0], r.ref[0])).toBe(true);
    dispose(r.resumed, r.reference);
    r.resumed.teacher.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([
    [{ phase: 1, step: 1 }, 0],
    [{ phase: 0, step: 3 }, 5],
  ])(
    'Phased DMD with a warm-up per phase stopped at %j: warms up again only a phase it had not started (%d ' +
      'updates), bit-identical',
    async (stop, warmups) => {
      const before = tf.memory().numTensors;
      const r = await roundTrip({ regression: { pairs: 24, batchSize: 8, warmup: 5, warmupLr: 0.01 } }, stop);
      const warm = (ms: StepMetrics[]) => ms.filter((m) => m.role === 'regression');
      expect(warm(r.reference.metrics).map((m) => m.key.phase)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
      expect(warm(r.seen)).toHaveLength(warmups);
      warm(r.seen).forEach((m) => expect(m.key.phase).toBe(1));
      r.got.forEach((w, k) => expect(sameBits(w, r.ref[k])).toBe(true));
      dispose(r.resumed, r.reference);
      r.resumed.teacher.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('refuses a checkpoint of another config, naming the field', async () => {
    const dir = tmp();
    await expect(trainDistill(config(), { teacher, outDir: dir, onStep: crashAt(0, 1) })).rejects.toThrow(Crash);
    await expect(trainDistill(config({ seed: 6 }), { resume: path.join(dir, 'last.ckpt') })).rejects.toThrow(
      /seed: differs from the checkpoint's run \(5 there, 6 now\)/,
    );
  });

  it('refuses a corrupt checkpoint and a checkpoint of another kind, with the file and the reason', async () => {
    const dir = tmp();
    await expect(trainDistill(config(), { teacher, outDir: dir, onStep: crashAt(0, 1) })).rejects.toThrow(Crash);
    const file = path.join(dir, 'last.ckpt');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 3] ^= 0xff;
    fs.writeFileSync(path.join(dir, 'bad.ckpt'), bytes);
    await expect(trainDistill(config(), { resume: path.join(dir, 'bad.ckpt') })).rejects.toThrow(
      /bad\.ckpt: checksum mismatch/,
    );
    const student = await trainDistill(config({ iterations: 2 }), { teacher, outDir: dir });
    dispose(student);
    await expect(trainDistill(config(), { resume: path.join(dir, 'student.ckpt') })).rejects.toThrow(
      /student\.ckpt: not a distillation progress checkpoint: meta\.kind/,
    );
  });

  it('leaks no tensors across a stop and a resume', async () => {
    const before = tf.memory().numTensors;
    const dir = tmp();
    await expect(
      trainDistill(config({ iterations: 4 }), { teacher, outDir: dir, onStep: crashAt(1, 0) }),
    ).rejects.toThrow(Crash);
    const resumed = await trainDistill(config({ iterations: 4 }), { teacher, resume: path.join(dir, 'last.ckpt') });
    dispose(resumed);
    expect(tf.memory().numTensors).toBe(before);
  });
});
