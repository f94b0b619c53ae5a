/**
 * Roles and optimisers: real score frozen, fake score and generator
 * copies of the teacher, each with its own Adam/AdamW (betas default (0, 0.999)) and
 * learning rate; and the optional generator EMA that becomes the student.
 */
import { lastValueFrom, tap, toArray } from 'rxjs';
import { useBackend } from '../../lib/backend';
import { openPhase, phaseSteps, phaseExpert, DistillSettings, PhaseRoles } from '../../lib/distill/segment';
import { decodeOrThrow } from '../../lib/config/report';
import { DistillConfig, DISTILL_DEFAULTS } from '../../lib/distill/distill';
import { smallMlp } from '../helpers/operators';
import { onePhase } from '../helpers/analytic';

beforeAll(async () => {
  await useBackend('wasm');
});

const close = (roles: PhaseRoles): void => {
  [roles.context.generator, roles.context.fake, roles.ema].forEach((m) => m?.dispose());
  roles.trainers.generator.optimizer.dispose();
  roles.trainers.fake.optimizer.dispose();
};

const host = (roles: PhaseRoles['context']['generator']) => roles.params.read().map((p) => Float64Array.from(p.values));

describe('openPhase: roles', () => {
  it(
    'generator and fake score start as copies of the teacher, each with its own Adam at its own learning rate, ' +
      'betas (0, 0.999)',
    () => {
      const teacher = smallMlp(3, 1);
      const settings: DistillSettings = {
        teacher,
        seed: 0,
        shift: 5,
        backprop: 'sgts',
        gradient: 'paper',
        betas: DISTILL_DEFAULTS.betas,
      };
      const roles = openPhase(settings, onePhase(1, { lr: { generator: 2e-4, fake: 1e-4 } }), { experts: [] });
      const { generator, fake } = roles.context;
      expect(generator).not.toBe(teacher);
      expect(fake).not.toBe(generator);
      expect(host(generator)).toEqual(host(teacher));
      expect(host(fake)).toEqual(host(teacher));
      expect(roles.trainers.generator.variables).toEqual(generator.params.variables);
      expect(roles.trainers.fake.variables).toEqual(fake.params.variables);
      expect(roles.trainers.generator.optimizer).not.toBe(roles.trainers.fake.optimizer);
      expect(roles.trainers.generator.optimizer.getConfig()).toMatchObject({
        learningRate: 2e-4,
        beta1: 0,
        beta2: 0.999,
      });
      expect(roles.trainers.fake.optimizer.getConfig()).toMatchObject({ learningRate: 1e-4, beta1: 0, beta2: 0.999 });
      expect(roles.trainers.generator.weightDecay).toBe(0);
      expect(roles.ema).toBeUndefined();
      close(roles);
      teacher.dispose();
    },
  );

  it('per-role betas, AdamW weight decay and clipping override the shared betas', () => {
    const teacher = smallMlp(0, 1);
    const settings: DistillSettings = {
      teacher,
      seed: 0,
      shift: 5,
      backprop: 'sgts',
      gradient: 'paper',
      betas: [0, 0.99],
      optimizers: { generator: { weightDecay: 0.01, clipNorm: 1 }, fake: { betas: [0.5, 0.9], weightDecay: 0.1 } },
    };
    const roles = openPhase(settings, onePhase(1), { experts: [] });
    expect(roles.trainers.generator.optimizer.getConfig()).toMatchObject({ beta1: 0, beta2: 0.99 });
    expect(roles.trainers.generator).toMatchObject({ weightDecay: 0.01, clipNorm: 1, lr: 2e-4 });
    expect(roles.trainers.fake.optimizer.getConfig()).toMatchObject({ beta1: 0.5, beta2: 0.9 });
    expect(roles.trainers.fake).toMatchObject({ weightDecay: 0.1, clipNorm: 0 });
    close(roles);
    teacher.dispose();
  });

  it('training moves the generator and the fake score, never the teacher', async () => {
    const teacher = smallMlp(3, 2);
    const before = host(teacher);
    const settings: DistillSettings = {
      teacher,
      seed: 0,
      shift: 5,
      backprop: 'sgts',
      gradient: 'paper',
      betas: [0, 0.999],
    };
    const roles = openPhase(
      settings,
      onePhase(2, { iterations: 3, updateRatio: 2, guidance: 2, lr: { generator: 1e-2, fake: 1e-2 } }),
      { experts: [] },
    );
    await lastValueFrom(phaseSteps(settings, roles).pipe(toArray()));
    expect(host(teacher)).toEqual(before);
    expect(host(roles.context.generator)).not.toEqual(before);
    expect(host(roles.context.fake)).not.toEqual(before);
    close(roles);
    teacher.dispose();
  });
});

describe('generator EMA', () => {
  it(
    'tracks θ_ema ← β·θ_ema + (1 − β)·θ after each generator update (from the teacher copy) and is the phase ' +
      'expert',
    async () => {
      const teacher = smallMlp(0, 3);
      const beta = 0.8;
      const settings: DistillSettings = {
        teacher,
        seed: 0,
        shift: 5,
        backprop: 'sgts',
        gradient: 'paper',
        betas: [0, 0.999],
        ema: beta,
      };
      const roles = openPhase(
        settings,
        onePhase(1, { iterations: 5, updateRatio: 2, lr: { generator: 1e-2, fake: 1e-2 } }),
        { experts: [] },
      );
      expect(roles.ema).toBeDefined();
      expect(roles.ema!.params.variables.every((v) => !v.trainable)).toBe(true);
      expect(phaseExpert(roles)).toBe(roles.ema);
      let shadow = host(teacher);
      await lastValueFrom(
        phaseSteps(settings, roles).pipe(
          tap((m) => {
            if (m.role !== 'generator') return;
            const live = host(roles.context.generator);
            shadow = shadow.map((s, i) => s.map((x, j) => beta * x + (1 - beta) * live[i][j]));
          }),
          toArray(),
        ),
      );
      const got = host(roles.ema!);
      got.forEach((p, i) => p.forEach((x, j) => expect(Math.abs(x - shadow[i][j])).toBeLessThan(1e-5)));
      // and it is not simply the live generator or the teacher
      expect(got).not.toEqual(host(roles.context.generator));
      expect(got).not.toEqual(host(teacher));
      close(roles);
      teacher.dispose();
    },
  );
});

describe('DistillConfig: optimiser, EMA and checkpoint fields', () => {
  it('decodes them and names the field of a bad value', () => {
    const ok = decodeOrThrow(DistillConfig, {
      method: 'dmd',
      teacher: 't.ckpt',
      weightDecay: 0.01,
      optimizer: { fake: { betas: [0, 0.99] } },
      ema: 0.99,
      checkpointEvery: 50,
    });
    expect(ok).toMatchObject({ weightDecay: 0.01, ema: 0.99, checkpointEvery: 50 });
    const bad = (c: object) => () =>
      decodeOrThrow(DistillConfig, { method: 'dmd', teacher: 't.ckpt', ...c }, 'distill config');
    expect(bad({ weightDecay: -1 })).toThrow(/weightDecay: expected NonNegative, got -1/);
    expect(bad({ ema: 1 })).toThrow(/ema: expected Probability, got 1/);
    expect(bad({ optimizer: { fake: { betas: [0, 2] } } })).toThrow(
      /optimizer\.fake\.betas\[1\]: expected UnitInterval, got 2/,
    );
    expect(bad({ checkpointEvery: 0 })).toThrow(/checkpointEvery: expected PositiveInt, got 0/);
  });
});
