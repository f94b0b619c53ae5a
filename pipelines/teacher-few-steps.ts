/**
 * The undistilled teacher sampled with few Euler steps, evaluated exactly like the students
 * of an image experiment (same reference sets, same feature classifier, same labels): the
 * baseline that tells what distillation added.
 *
 *   tsx pipelines/teacher-few-steps.ts <experiment-dir> [--steps 4] [--guidance 0,2]
 *
 * Prints one JSON line per seed and guidance (CFG g > 0 doubles the NFE).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as E from 'fp-ts/Either';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../lib/backend';
import { loadTeacher, sampleTeacher, teacherNfe } from '../lib/teacher/teacher';
import { loadClassifier } from '../lib/metrics/classifier';
import { evaluateSamples } from '../lib/metrics/evaluate';
import { readSampleSet } from '../lib/metrics/sampleSet';
import { decodeExperiment, teacherKey, teacherDir, classifierFile, EXPERIMENT_FILE } from './experiment';
import { TEACHER_CHECKPOINT } from '../lib/checkpoint/files';

const orThrow = <A>(e: E.Either<{ message: string }, A>, what: string): A => {
  if (E.isLeft(e)) throw new Error(`${what}: ${e.left.message}`);
  return e.right;
};

const main = async (args: string[]): Promise<void> => {
  const dir = args[0];
  if (dir === undefined || !fs.existsSync(path.join(dir, EXPERIMENT_FILE)))
    throw new Error(`expected an experiment directory (with ${EXPERIMENT_FILE}), got ${JSON.stringify(dir)}`);
  const opt = (name: string, fallback: string) =>
    args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback;
  const steps = Number(opt('steps', '4'));
  const guidances = opt('guidance', '0,2').split(',').map(Number);
  if (!Number.isInteger(steps) || steps < 1)
    throw new Error(`--steps: expected a positive integer, got ${opt('steps', '')}`);
  if (guidances.some((g) => !(g >= 0)))
    throw new Error(`--guidance: expected comma-separated CFG scales ≥ 0, got ${opt('guidance', '')}`);
  await useBackend('wasm');
  const r = decodeExperiment(JSON.parse(fs.readFileSync(path.join(dir, EXPERIMENT_FILE), 'utf8')));
  const classifier = orThrow(loadClassifier(r.classifier.path ?? classifierFile(dir, r)), 'classifier');
  for (const seed of r.seeds) {
    const teacher = orThrow(
      loadTeacher(path.join(teacherDir(dir, teacherKey(r, seed)), TEACHER_CHECKPOINT)),
      'teacher',
    );
    const referenceFile = path.join(dir, 'samples', `seed-${seed}`, 'reference.npy');
    const reference = readSampleSet(referenceFile, referenceFile.replace(/\.npy$/, '.labels.npy'));
    const labels = reference.labels as Int32Array;
    for (const guidance of guidances) {
      const { x, labels: labelTensor } = sampleTeacher(teacher.model, {
        n: labels.length,
        seed: 5000 + seed,
        labels,
        sampler: { steps, method: 'euler', guidance },
      });
      const ev = evaluateSamples({ values: x.dataSync() as Float32Array, shape: x.shape, labels }, reference, {
        classifier,
        maxPoints: r.evalPoints,
      });
      tf.dispose([x, ...(labelTensor ? [labelTensor] : [])]);
      process.stdout.write(
        `${JSON.stringify({
          seed,
          steps,
          guidance,
          nfe: teacherNfe({ steps, guidance }, teacher.model.numClasses),
          frechet: ev.distances?.frechet,
          cosine: ev.diversity?.cosine.mean,
          distance: ev.diversity?.distance.mean,
          classAccuracy: ev.classAccuracy,
          recall: ev.knn?.recall,
          vendi: ev.vendi.score,
        })}\n`,
      );
    }
    teacher.model.dispose();
  }
  classifier.dispose();
};

if (require.main === module)
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`teacher-few-steps: ${err.message}\n`);
    process.exit(1);
  });
