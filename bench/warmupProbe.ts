/**
 * One-step DMD's regression warm-up alone, outside a run: the one-step generator (a copy of
 * the teacher) fitted to the teacher's pairs by regression only; its modes and share within
 * 3σ printed every steps/8 updates on 2 000 fresh pairs (docs/results.md §2d).
 *
 *   npx tsx bench/warmupProbe.ts <teacher.ckpt> <task> <steps> <lr> <guidance> <pairs>
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import { useBackend } from '../lib/backend';
import { loadTeacher } from '../lib/teacher/teacher';
import { teacherPairs } from '../lib/distill/regression';
import { regressionLoss, RegressionTerm } from '../lib/losses/regression';
import { pairBatch } from '../lib/operators/distill/generatorLoss';
import { makeTrainer, globalNorm } from '../lib/optim/trainer';
import { x0FromVelocity } from '../lib/schedule/tensors';
import { timeVector } from '../lib/score/velocity';
import { modeReport } from '../lib/metrics/mixture';
import { MIXTURES } from '../lib/data/mixtures';
import { splitSeed } from '../lib/random/seed';

const [ckpt, task, stepsS, lrS, guidS, nPairsS] = process.argv.slice(2);
const main = async (): Promise<void> => {
  await useBackend();
  const loaded = loadTeacher(ckpt);
  if (E.isLeft(loaded)) throw loaded.left;
  const teacher = loaded.right.model;
  const g = Number(guidS);
  const pairs = teacherPairs(teacher, { n: Number(nPairsS), seed: 0, guidance: g, steps: 40, shift: 1 });
  const held = teacherPairs(teacher, { n: 2000, seed: 12345, guidance: g, steps: 40, shift: 1 });
  const gen = teacher.clone();
  gen.params.setTrainable(true);
  const tr = makeTrainer(gen.params.variables, { clipNorm: 1 }, { lr: Number(lrS), betas: [0, 0.999] });
  const mix = MIXTURES[task as keyof typeof MIXTURES];
  const term: RegressionTerm = { pairs, weight: 1, batchSize: 256, distance: 'mse' };
  const sample = (z: tf.Tensor, l: tf.Tensor1D | null): tf.Tensor =>
    x0FromVelocity(z, gen.apply(z, timeVector(1, z.shape[0]), l), 1);
  const t0 = Date.now();
  const evaluate = (k: number): void => {
    const x = tf.tidy(() => sample(held.z, held.labels));
    const r = modeReport(x.dataSync() as Float32Array, 2, mix);
    const mse = tf.tidy(() => regressionLoss(x, held.y, 'mse').dataSync()[0]);
    const ty = modeReport(held.y.dataSync() as Float32Array, 2, mix);
    x.dispose();
    const hq = r.highQualityPercent.toFixed(1);
    console.log(
      `step ${k}: modes ${r.modesCovered}/${r.numModes} hq ${hq} evalMSE ${mse.toFixed(4)} ` +
        `(pairs hq ${ty.highQualityPercent.toFixed(1)}) ${((Date.now() - t0) / 1000).toFixed(0)}s`,
    );
  };
  const steps = Number(stepsS);
  for (let k = 0; k < steps; k++) {
    const b = pairBatch(term, splitSeed(0, `w${k}`));
    const { grads } = tf.variableGrads(
      () => regressionLoss(sample(b.states[0], b.labels), b.states[1], 'mse'),
      tr.variables,
    );
    tf.tidy(() => {
      const norm = globalNorm(Object.values(grads));
      const scale = tf.minimum(1, tf.div(1, tf.add(norm, 1e-12)));
      const scaled: tf.NamedTensorMap = {};
      for (const [n, v] of Object.entries(grads)) scaled[n] = tf.mul(v, scale);
      tr.optimizer.applyGradients(scaled);
    });
    tf.dispose([...b.owned, ...Object.values(grads)]);
    if ((k + 1) % Math.max(1, Math.floor(steps / 8)) === 0 || k === 0) evaluate(k + 1);
  }
};
void main();
