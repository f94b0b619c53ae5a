/**
 * Distillation stream operators: the two-time-scale rule (interleaveUpdates), the
 * per-iteration wall time (iterationTime) and the generator EMA (emaUpdate), as marbles
 * and on plain tensors; and the update ratio observed in a real phase run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { lastValueFrom, of, toArray } from 'rxjs';
import { useBackend } from '../../../lib/backend';
import { interleaveUpdates, RoleKey } from '../../../lib/operators/distill/interleaveUpdates';
import { iterationTime } from '../../../lib/operators/distill/iterationTime';
import { emaStep, emaUpdate } from '../../../lib/operators/distill/ema';
import { openPhase, phaseSteps, DistillSettings } from '../../../lib/distill/segment';
import { Params } from '../../../lib/models/params';
import type { StepMetrics } from '../../../lib/stream/types';
import { key, marbles, smallMlp } from '../../helpers/operators';
import { onePhase } from '../../helpers/analytic';

beforeAll(async () => {
  await useBackend('wasm');
});

const metric = (step: number, role: string): StepMetrics => ({
  key: key(step),
  role,
  loss: 1,
  gradNorm: 1,
  extras: {},
  ms: 0,
});

describe('interleaveUpdates (two-time-scale rule)', () => {
  it('turns each iteration key into `ratio` fake updates then one generator update (marbles)', () => {
    marbles().run(({ cold, expectObservable }) => {
      const k0 = key(0);
      const k1 = key(1);
      const f = (k: typeof k0, sub: number): RoleKey => ({ key: k, role: 'fake', sub });
      const g = (k: typeof k0): RoleKey => ({ key: k, role: 'generator', sub: 0 });
      // a group "(abcd)" takes 6 frames: keys 10 frames apart leave 4 frames between groups
      expectObservable(cold('a 9ms b 9ms |', { a: k0, b: k1 }).pipe(interleaveUpdates(3))).toBe(
        '(ABCG) 4ms (DEFH) 4ms |',
        {
          A: f(k0, 0),
          B: f(k0, 1),
          C: f(k0, 2),
          G: g(k0),
          D: f(k1, 0),
          E: f(k1, 1),
          F: f(k1, 2),
          H: g(k1),
        },
      );
    });
  });

  it('ratio 1 alternates; an error upstream passes through', () => {
    marbles().run(({ cold, expectObservable }) => {
      const k0 = key(0);
      expectObservable(cold('a 9ms #', { a: k0 }).pipe(interleaveUpdates(1))).toBe('(fg) 6ms #', {
        f: { key: k0, role: 'fake', sub: 0 },
        g: { key: k0, role: 'generator', sub: 0 },
      });
    });
  });

  it('a phase run reports ratio × N fake updates and N generator updates, in rule order', async () => {
    const teacher = smallMlp(0, 4);
    const phase = onePhase(1, { iterations: 4, updateRatio: 3, batchSize: 16 });
    const settings: DistillSettings = {
      teacher,
      seed: 1,
      shift: 5,
      backprop: 'sgts',
      gradient: 'paper',
      betas: [0, 0.999],
    };
    const roles = openPhase(settings, phase, { experts: [] });
    const metrics = await lastValueFrom(phaseSteps(settings, roles).pipe(toArray()));
    expect(metrics.map((m) => `${m.key.step}${m.role[0]}`).join(' ')).toBe(
      '0f 0f 0f 0g 1f 1f 1f 1g 2f 2f 2f 2g 3f 3f 3f 3g',
    );
    expect(metrics.filter((m) => m.role === 'fake').length).toBe(12);
    expect(metrics.filter((m) => m.role === 'generator').length).toBe(4);
    // every update reports its loss and gradient norm; generator updates the DMD gradient norm and iteration time
    for (const m of metrics) {
      expect(Number.isFinite(m.loss)).toBe(true);
      expect(Number.isFinite(m.gradNorm)).toBe(true);
      expect(m.ms).toBeGreaterThan(0);
      if (m.role === 'generator') {
        expect(m.extras.dmdGradNorm).toBeGreaterThan(0);
        expect(m.extras.iterationMs).toBeGreaterThanOrEqual(m.ms);
      } else expect(m.extras.iterationMs).toBeUndefined();
    }
    [roles.context.generator, roles.context.fake, teacher].forEach((m) => m.dispose());
    roles.trainers.generator.optimizer.dispose();
    roles.trainers.fake.optimizer.dispose();
  });
});

describe('iterationTime', () => {
  it('adds iterationMs to generator updates: time since the previous one (or since subscription)', () => {
    const scheduler = marbles();
    scheduler.run(({ cold, expectObservable }) => {
      // virtual time: b at 5 (5 after subscription), d at 20 (15 after b)
      const src = cold('a 4ms b 9ms c 4ms d |', {
        a: metric(0, 'fake'),
        b: metric(0, 'generator'),
        c: metric(1, 'fake'),
        d: metric(1, 'generator'),
      });
      expectObservable(src.pipe(iterationTime('generator', () => scheduler.now()))).toBe('a 4ms b 9ms c 4ms d |', {
        a: metric(0, 'fake'),
        b: { ...metric(0, 'generator'), extras: { iterationMs: 5 } },
        c: metric(1, 'fake'),
        d: { ...metric(1, 'generator'), extras: { iterationMs: 15 } },
      });
    });
  });

  it('keeps the other extras', async () => {
    const m = { ...metric(0, 'generator'), extras: { dmdGradNorm: 2 } };
    const [out] = await lastValueFrom(
      of(m).pipe(
        iterationTime('generator', () => 7),
        toArray(),
      ),
    );
    expect(out.extras).toEqual({ dmdGradNorm: 2, iterationMs: 0 });
  });
});

describe('emaUpdate', () => {
  const pair = () => {
    const live = new Params();
    const ema = new Params();
    live.add('w', tf.tensor1d([1, 2]));
    ema.add('w', tf.tensor1d([0, 0]), false);
    return { live, ema };
  };

  it('emaStep: θ_ema ← β·θ_ema + (1 − β)·θ, allocating nothing', () => {
    const p = pair();
    const n = tf.memory().numTensors;
    emaStep(p.ema, p.live, 0.9);
    // 0.9·0 + 0.1·[1, 2] = [.1, .2]; again: 0.9·[.1, .2] + 0.1·[1, 2] = [.19, .38]
    expect(Array.from(p.ema.get('w').dataSync())).toEqual([expect.closeTo(0.1, 6), expect.closeTo(0.2, 6)]);
    emaStep(p.ema, p.live, 0.9);
    expect(Array.from(p.ema.get('w').dataSync())).toEqual([expect.closeTo(0.19, 6), expect.closeTo(0.38, 6)]);
    expect(tf.memory().numTensors).toBe(n);
    p.live.dispose();
    p.ema.dispose();
  });

  it('updates only after generator steps, passing every element through unchanged', async () => {
    const p = pair();
    const input = [metric(0, 'fake'), metric(0, 'fake'), metric(0, 'generator'), metric(1, 'fake')];
    const out = await lastValueFrom(of(...input).pipe(emaUpdate(0.5, p), toArray()));
    expect(out).toEqual(input);
    // one update: 0.5·0 + 0.5·[1, 2]
    expect(Array.from(p.ema.get('w').dataSync())).toEqual([0.5, 1]);
    p.live.dispose();
    p.ema.dispose();
  });

  it('rejects a decay outside [0, 1)', () => {
    const p = pair();
    expect(() => emaUpdate(1, p)).toThrow(/decay must be in \[0, 1\), got 1/);
    p.live.dispose();
    p.ema.dispose();
  });
});
