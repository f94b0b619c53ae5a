/**
 * The reference trainer's variants, each a config option:
 *   stepper     Euler, or x0 prediction followed by fresh noise (training rollouts and sampler);
 *   fakeTracks  the fake score trains on the SGTS exit sample, or on a full inference rollout's boundary sample;
 *   phasing     phases one after another (earlier experts frozen), or all at once (live earlier experts).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { lastValueFrom, toArray } from 'rxjs';
import { useBackend } from '../../lib/backend';
import { sampleStudent } from '../../lib/distill/student';
import { samplerStep, inferenceRollout, drawRollout } from '../../lib/rollout/generate';
import { fakeScoreLossStep } from '../../lib/operators/distill/fakeScoreLoss';
import { concurrentPhases } from '../../lib/distill/concurrent';
import { isPhaseEnd } from '../../lib/phases/concat';
import type { DistillSettings, DistillState } from '../../lib/distill/segment';
import type { ExpertPhase } from '../../lib/rollout/context';
import { drawSeed } from '../../lib/stream/types';
import { normal } from '../../lib/random/draws';
import { saveStudent, loadStudent, trainDistill } from '../../lib/distill/distill';
import { ConstantVelocity, tinyMlp, phases4x2, phases4x4, contextOf } from '../helpers/phased';
import { read } from '../helpers/tensors';

beforeAll(async () => {
  await useBackend('wasm');
});

describe('stepper', () => {
  it("x0-noise step by hand: x0̂ = x − t·v, x_{t'} = (1 − t')·x0̂ + t'·ε; at t' = 0 it is x0̂", () => {
    const x = tf.tensor2d([[1, 2]]);
    const v = tf.tensor2d([[0.5, -1]]);
    const eps = read(() => normal([1, 2], 42));
    const got = read(() => samplerStep('x0-noise', x, v, 0.8, 0.5, 42));
    // x0̂ = [1 − .4, 2 + .8] = [.6, 2.8]
    expect(got[0]).toBeCloseTo(0.5 * 0.6 + 0.5 * eps[0], 5);
    expect(got[1]).toBeCloseTo(0.5 * 2.8 + 0.5 * eps[1], 5);
    expect(read(() => samplerStep('x0-noise', x, v, 0.8, 0, 42))).toEqual([
      expect.closeTo(0.6, 5),
      expect.closeTo(2.8, 5),
    ]);
    // Euler: x + (t' − t)·v = [1 − .15, 2 + .3]
    expect(read(() => samplerStep('euler', x, v, 0.8, 0.5, 42))).toEqual([
      expect.closeTo(0.85, 5),
      expect.closeTo(2.3, 5),
    ]);
    tf.dispose([x, v]);
  });

  it(
    'a student sampling with x0-noise is deterministic per seed, differs from Euler, and keeps its stepper through ' +
      'a checkpoint',
    () => {
      const before = tf.memory().numTensors;
      const phases = phases4x2();
      const mk = (stepper: 'euler' | 'x0-noise'): ExpertPhase[] =>
        phases.map((p, k) => ({ grid: p.grid, expert: tinyMlp(0, 3 + k), stepper }));
      const noisy = mk('x0-noise');
      const euler = mk('euler');
      const a = read(() => sampleStudent(noisy, { n: 8, seed: 1 }).x);
      const b = read(() => sampleStudent(noisy, { n: 8, seed: 1 }).x);
      const c = read(() => sampleStudent(euler, { n: 8, seed: 1 }).x);
      expect(a).toEqual(b);
      expect(a).not.toEqual(c);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepper-'));
      const file = path.join(dir, 'student.ckpt');
      saveStudent(file, { method: 'phased', modelConfig: noisy[0].expert.config, experts: noisy, config: {} });
      const loaded = loadStudent(file);
      if (loaded._tag === 'Left') throw loaded.left;
      expect(loaded.right.experts.map((e) => e.stepper)).toEqual(['x0-noise', 'x0-noise']);
      expect(read(() => sampleStudent(loaded.right.experts, { n: 8, seed: 1 }).x)).toEqual(a);
      [...noisy, ...euler, ...loaded.right.experts].forEach((e) => e.expert.dispose());
      fs.rmSync(dir, { recursive: true });
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});

describe('fakeTracks', () => {
  it(
    'rollout: the fake score trains on the boundary sample of the full inference rollout; exit: on the ' + 'SGTS jump',
    () => {
      const before = tf.memory().numTensors;
      const phase = phases4x2({ batchSize: 4 })[0];
      const teacher = tinyMlp(0, 1);
      const fake = tinyMlp(0, 2);
      const generator = new ConstantVelocity([0.3, -0.2]);
      const k = { seed: 3, phase: 0, step: 5 };
      const xsOf = (fakeTracks: 'exit' | 'rollout') => {
        const ctx = { ...contextOf({ teacher, generator, fake, phase }), fakeTracks };
        const step = fakeScoreLossStep(ctx)({ key: k, role: 'fake', sub: 0 });
        const xs = Array.from(step.owned[0].dataSync());
        tf.dispose([...step.owned]);
        return { ctx, xs };
      };
      const rollout = xsOf('rollout');
      const r = drawRollout(rollout.ctx, 4, drawSeed(k, 'fake', 0));
      const want = read(() => inferenceRollout(rollout.ctx, r));
      // constant velocity b: the full rollout ends at z + (s − 1)·b whatever the exit step
      const z = Array.from(r.z.dataSync());
      want.forEach((v, i) => expect(v).toBeCloseTo(z[i] + (phase.end - 1) * [0.3, -0.2][i % 2], 5));
      expect(rollout.xs).toEqual(want);
      tf.dispose([r.z]);
      [teacher, fake, generator].forEach((m) => m.dispose());
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});

describe('fakeTracks where a phase has one step', () => {
  it('4×4: exit and rollout give the fake score the same sample, bit for bit; 4×2 (two steps): not', () => {
    const before = tf.memory().numTensors;
    const teacher = tinyMlp(0, 1);
    const fake = tinyMlp(0, 2);
    const generator = tinyMlp(0, 3);
    const xsOf = (phase: ReturnType<typeof phases4x4>[number], fakeTracks: 'exit' | 'rollout', step: number) => {
      const ctx = { ...contextOf({ teacher, generator, fake, phase }), fakeTracks };
      const loss = fakeScoreLossStep(ctx)({ key: { seed: 3, phase: 0, step }, role: 'fake', sub: 0 });
      const xs = Array.from(loss.owned[0].dataSync());
      tf.dispose([...loss.owned]);
      return xs;
    };
    const steps = [0, 1, 2, 3, 4, 5];
    for (const phase of phases4x4({ batchSize: 4 }))
      for (const k of steps) expect(xsOf(phase, 'exit', k)).toEqual(xsOf(phase, 'rollout', k));
    // two steps per phase: some draws exit after the first step, short of the phase's end
    const two = phases4x2({ batchSize: 4 })[0];
    expect(steps.some((k) => xsOf(two, 'exit', k).some((v, i) => v !== xsOf(two, 'rollout', k)[i]))).toBe(true);
    [teacher, fake, generator].forEach((m) => m.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('phasing: concurrent', () => {
  const settings = (teacher: ReturnType<typeof tinyMlp>): DistillSettings => ({
    teacher,
    seed: 4,
    shift: 5,
    backprop: 'sgts',
    betas: [0, 0.999],
  });

  it(
    'alternates iterations across phases, feeds phase 2 from the live phase-1 generator, and ends with both ' +
      'experts',
    async () => {
      const before = tf.memory().numTensors;
      const teacher = tinyMlp(0, 1);
      const phases = phases4x2({ batchSize: 8, lr: { generator: 1e-2, fake: 1e-2 } });
      const seen: Array<{ phase: number; earlier: readonly ExpertPhase[]; generator: unknown }> = [];
      const s: DistillSettings = {
        ...settings(teacher),
        onPhaseStart: (r) =>
          seen.push({ phase: r.context.phase.index, earlier: r.context.earlier, generator: r.context.generator }),
      };
      const events = await lastValueFrom(concurrentPhases(s, phases).pipe(toArray()));
      // phase 2's input expert is phase 1's trainable generator itself, not a frozen copy
      expect(seen.map((x) => x.phase)).toEqual([0, 1]);
      expect(seen[1].earlier.map((e) => e.expert)).toEqual([seen[0].generator]);
      const updates = events
        .filter((e) => !isPhaseEnd(e) && (e as { role: string }).role === 'generator')
        .map((e) => (e as { key: { phase: number; step: number } }).key);
      expect(updates).toEqual([
        { seed: 4, phase: 0, step: 0 },
        { seed: 4, phase: 1, step: 0 },
        { seed: 4, phase: 0, step: 1 },
        { seed: 4, phase: 1, step: 1 },
      ]);
      const ends = events.filter((e) => isPhaseEnd<DistillState>(e)) as Array<{ phase: number; state: DistillState }>;
      expect(ends.map((e) => e.phase)).toEqual([0, 1]);
      const experts = ends[1].state.experts;
      expect(experts.map((e) => e.grid)).toEqual(phases.map((p) => p.grid));
      experts.forEach((e) => e.expert.dispose());
      teacher.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('a concurrent run refuses --resume with the reason', async () => {
    await expect(
      trainDistill({ method: 'phased', teacher: 'none.ckpt', phasing: 'concurrent' }, { resume: 'x.ckpt' }),
    ).rejects.toThrow(/phasing.*cannot be resumed/s);
  });
});
