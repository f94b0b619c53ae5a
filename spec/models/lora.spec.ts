/**
 * LoRA experts: low-rank adapters W + A·B on one shared frozen
 * backbone (the teacher). A fresh adapter is the teacher exactly (B = 0); training moves
 * only A and B; a merged adapter is a plain model with the same function.
 */
import * as tf from '@tensorflow/tfjs-core';
import { lastValueFrom, toArray } from 'rxjs';
import { useBackend } from '../../lib/backend';
import { LoraModel, LoraConfig, loraTargets, plainWeights } from '../../lib/models/lora';
import { VelocityUnet } from '../../lib/models/unet';
import { UnetConfig } from '../../lib/models/config';
import { buildModel } from '../../lib/models/build';
import { decodeOrThrow } from '../../lib/config/report';
import type { DistillSettings, DistillState, PhaseRoles } from '../../lib/distill/segment';
import type { PhaseEnd } from '../../lib/phases/concat';
import { distillSteps, roleFactory } from '../../lib/distill/distill';
import { tinyMlp, phases4x2, weightsOf, sameBits } from '../helpers/phased';

beforeAll(async () => {
  await useBackend('wasm');
});

const probe = () => ({
  x: tf.tensor2d([
    [0.3, -1.2],
    [2, 0.5],
    [-0.7, 0.1],
  ]),
  t: tf.tensor1d([0.9, 0.5, 0.1]),
  c: tf.tensor1d([0, 2, 3], 'int32'),
});

describe('LoraModel', () => {
  it(
    'targets every dense weight of the MLP (not biases or the class embedding) and starts identical to its ' +
      'backbone',
    () => {
      const before = tf.memory().numTensors;
      const teacher = tinyMlp(3, 1);
      expect(loraTargets(teacher.params).map((t) => t.name)).toEqual(['dense0.W', 'dense1.W', 'out.W']);
      const lora = new LoraModel(teacher, 2, 7);
      expect(lora.params.names).toEqual(['dense0.W.A', 'dense0.W.B', 'dense1.W.A', 'dense1.W.B', 'out.W.A', 'out.W.B']);
      expect(lora.params.size).toBeLessThan(teacher.params.size / 2);
      const { x, t, c } = probe();
      const [a, b] = [teacher.apply(x, t, c), lora.apply(x, t, c)];
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync())); // bit for bit: A·0 = 0
      tf.dispose([a, b, x, t, c]);
      lora.dispose();
      expect(teacher.params.variables.every((v) => !v.isDisposed)).toBe(true); // the backbone is not owned
      teacher.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('a gradient step reaches A and B only; the merged plain model has the adapter’s function', () => {
    const teacher = tinyMlp(3, 1);
    teacher.params.setTrainable(false);
    const tw = weightsOf(teacher);
    const lora = new LoraModel(teacher, 2, 7);
    const { x, t, c } = probe();
    const opt = tf.train.adam(0.05);
    for (let i = 0; i < 3; i++) {
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.square(lora.apply(x, t, c))) as tf.Scalar,
        lora.params.variables,
      );
      expect(Object.keys(grads).sort()).toEqual(lora.params.variables.map((v) => v.name).sort());
      opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      tf.dispose([value, ...Object.values(grads)]);
    }
    expect(sameBits(weightsOf(teacher), tw)).toBe(true);
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(lora.apply(x, t, c), teacher.apply(x, t, c)))).dataSync()[0]);
    expect(moved).toBeGreaterThan(1e-3);
    const plain = buildModel(teacher.config);
    plain.params.write(plainWeights(lora));
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(plain.apply(x, t, c), lora.apply(x, t, c)))).dataSync()[0]);
    expect(diff).toBeLessThan(1e-5);
    tf.dispose([x, t, c]);
    opt.dispose();
    [plain, lora, teacher].forEach((m) => m.dispose());
  });

  it('on the U-Net it adapts the dense layers and the 1×1 convolutions, and starts identical', () => {
    const unet = new VelocityUnet(
      decodeOrThrow(
        UnetConfig,
        { kind: 'unet', size: 8, channels: 1, width: 4, timeEmbedDim: 8, numClasses: 2, seed: 3 },
        'unet',
      ),
    );
    const targets = loraTargets(unet.params);
    expect(targets.length).toBeGreaterThan(0);
    for (const tg of targets) expect(tg.shape.length === 2 || (tg.shape[0] === 1 && tg.shape[1] === 1)).toBe(true);
    expect(targets.some((tg) => tg.shape.length === 4)).toBe(true);
    const lora = new LoraModel(unet, 2, 1);
    const x = tf.randomNormal([2, 8, 8, 1], 0, 1, 'float32', 4);
    const tt = tf.tensor1d([0.7, 0.2]);
    const [a, b] = [unet.apply(x, tt, null), lora.apply(x, tt, null)];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, x, tt]);
    lora.dispose();
    unet.dispose();
  });
});

describe('Phased DMD with LoRA experts (experts: { lora: { rank } })', () => {
  it(
    'each phase trains a fresh adapter (starting as the teacher) on the shared frozen teacher; only A, B ' + 'change',
    async () => {
      const teacher = tinyMlp(3, 1);
      teacher.params.setTrainable(false);
      const tw = weightsOf(teacher);
      const starts: Array<{ generator: PhaseRoles['context']['generator']; trained: string[]; maxB: number }> = [];
      const maxB = (m: PhaseRoles['context']['generator']) =>
        Math.max(
          ...m.params
            .read()
            .filter((p) => p.name.endsWith('.B'))
            .flatMap((p) => Array.from(p.values, Math.abs)),
        );
      const settings: DistillSettings = {
        teacher,
        seed: 3,
        shift: 5,
        backprop: 'sgts',
        gradient: 'paper',
        betas: [0, 0.999],
        makeRole: roleFactory({ lora: decodeOrThrow(LoraConfig, { rank: 2 }) }, 3),
        onPhaseStart: (roles) =>
          starts.push({
            generator: roles.context.generator,
            trained: [...roles.trainers.generator.variables, ...roles.trainers.fake.variables].map((v) => v.name),
            maxB: Math.max(maxB(roles.context.generator), maxB(roles.context.fake)),
          }),
      };
      const events = await lastValueFrom(
        distillSteps(settings, phases4x2({ batchSize: 8, updateRatio: 1, lr: { generator: 1e-2, fake: 1e-2 } })).pipe(
          toArray(),
        ),
      );
      const final = (events.at(-1) as PhaseEnd<DistillState>).state;
      expect(
        final.experts.every((e) => e.expert instanceof LoraModel && (e.expert as LoraModel).backbone === teacher),
      ).toBe(true);
      const teacherNames = new Set(teacher.params.variables.map((v) => v.name));
      for (const s of starts) {
        expect(s.trained.some((n) => teacherNames.has(n))).toBe(false);
        expect(s.trained).toHaveLength(2 * 2 * 3); // (A, B) × 3 targets × (generator, fake)
        expect(s.maxB).toBe(0); // fresh adapters: the teacher's function
      }
      expect(sameBits(weightsOf(teacher), tw)).toBe(true);
      // trained: B moved off zero, so the expert is no longer the teacher
      const B = final.experts[0].expert.params.get('out.W.B');
      expect(tf.tidy(() => tf.max(tf.abs(B)).dataSync()[0])).toBeGreaterThan(0);
      expect(final.experts[0].expert.params.variables.every((v) => !v.trainable)).toBe(true);
      final.experts.forEach((e) => e.expert.dispose());
      teacher.dispose();
    },
  );
});
