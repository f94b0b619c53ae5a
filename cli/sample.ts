/** `phased-dmd sample`: draw samples from a teacher or student checkpoint into .npy or .png. */
import * as path from 'path';
import { defineCommand } from './command';
import { int, str, num, flag } from './args';
import { UsageError } from './args';
import { backendOption, startBackend } from './backend';
import { loadModel, classLabels, LoadedModel } from './models';
import type { Samples } from '../lib/plots/dataInfo';
import { balancedLabels } from '../lib/train/snapshots';
import { samplesFigure } from '../lib/plots/sampleFigure';
import { writeFigures } from '../lib/plots/render';
import { writeNpy, NpyWritable } from '../lib/data/npy';
import { toRaw, toStoredIntegers, modelRange } from '../lib/data/scaling';

/** Samples in the data's own units (the checkpoint's scaling inverted), or the model's with `raw`. */
const inDataUnits = (model: LoadedModel, s: Samples, raw: boolean): Samples => {
  if (raw || model.scaling.mapping === 'none') return s;
  return { ...s, values: toRaw(model.scaling, s.values, s.shape[s.shape.length - 1]) };
};

/** The .npy payload: integer images go back to their stored integer type (rounded, clipped), the rest float32. */
const npyValues = (model: LoadedModel, s: Samples, raw: boolean): NpyWritable =>
  raw || model.scaling.dtype === 'float32' ? s.values : toStoredIntegers(model.scaling, s.values);
import { splitSeed } from '../lib/random/seed';
import type { SamplerSettings } from '../lib/teacher/teacher';

/**
 * Values drawn per chunk: a million samples are drawn a chunk at a time, so the backend's memory does not grow with
 * --n. Images go through a U-Net whose activations are tens of times the image (a quarter of the budget keeps 28×28
 * digits to a few hundred per pass), and a class-conditional teacher may run with CFG, two passes per sample.
 */
const CHUNK_VALUES = 1 << 20;
export const chunkSamples = (model: Pick<LoadedModel, 'sampleShape' | 'kind' | 'numClasses'>): number => {
  const budget =
    (model.sampleShape.length === 3 ? CHUNK_VALUES / 4 : CHUNK_VALUES) /
    (model.kind === 'teacher' && model.numClasses > 0 ? 2 : 1);
  return Math.max(1, Math.floor(budget / model.sampleShape.reduce((a, b) => a * b, 1)));
};
/** The most samples one command draws (a .npy of 2-D points is then 800 MB). */
export const MAX_SAMPLES = 100_000_000;
/** The most samples drawn into one figure. */
export const MAX_FIGURE_SAMPLES = 100_000;

/**
 * The samples of `model` in chunks of `chunkSamples(model)`: chunk 0 is drawn from
 * `seed` itself (so up to one chunk is what one draw of n gives), chunk k > 0 from
 * splitSeed(seed, 'chunk', k); the same arguments always give the same samples.
 */
export function* sampleChunks(
  model: LoadedModel,
  n: number,
  seed: number,
  labels: Int32Array | undefined,
  sampler: SamplerSettings,
): Generator<Samples> {
  const per = chunkSamples(model);
  for (let k = 0, from = 0; from < n; k++, from += per) {
    const m = Math.min(per, n - from);
    yield model.sample(m, k === 0 ? seed : splitSeed(seed, 'chunk', k), labels?.subarray(from, from + m), sampler);
  }
}

/** All `n` samples, drawn in chunks (sampleChunks) and joined. */
const drawChunked = (
  model: LoadedModel,
  n: number,
  seed: number,
  labels: Int32Array | undefined,
  sampler: SamplerSettings,
): Samples => {
  const shape = [n, ...model.sampleShape];
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const drawn = model.numClasses > 0 ? new Int32Array(n) : null;
  let at = 0;
  for (const c of sampleChunks(model, n, seed, labels, sampler)) {
    values.set(c.values, at * (values.length / n));
    if (drawn !== null && c.labels !== null) drawn.set(c.labels, at);
    at += c.shape[0];
  }
  return { values, shape, labels: drawn };
};

export const sampleCommand = defineCommand({
  name: 'sample',
  summary: 'Draw samples from a checkpoint (teacher or distilled student) into a .npy file or a .png figure.',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {
    model: str('checkpoint file (teacher.ckpt or student.ckpt)', 'checkpoint', { required: true }),
    n: int('number of samples', 'N', { required: true }),
    out: str('output file: .npy (samples [N, ...shape] in the data’s units and dtype) or .png (a figure)', 'file', {
      required: true,
    }),
    class: int(
      'class id of every sample (class-conditional models); ' +
        'default: drawn uniformly (.npy), every class equally (.png)',
      'c',
    ),
    raw: flag('the model’s own scale (float32), not mapped back to the data’s units'),
    seed: int('seed of the noise and label draws (default 0)', 's'),
    'labels-out': str('also write the labels [N] (int32) to this .npy file', 'file'),
    steps: int('teacher only: sampler steps (default: the teacher config’s)'),
    guidance: num('teacher only: CFG scale g (default: the teacher config’s)', 'g'),
    backend: backendOption(),
  },
  description:
    'Same checkpoint, seed and backend → the same samples, in the units of the training data: ' +
    'uint8 images come back as uint8 in [0, 255], standardised data un-standardised (--raw: the model’s scale). ' +
    'PNG: a scatter plot for 2-D data, an image grid (one row per class, the same number of samples each) ' +
    'for images, clip strips for video.',
  examples: [
    'phased-dmd sample --model runs/phased/student.ckpt --n 2000 --out samples.npy',
    'phased-dmd sample --model runs/teacher-ring8/teacher.ckpt --n 2000 --out ring.npy --labels-out ring-labels.npy',
    'phased-dmd sample --model runs/phased/student.ckpt --n 500 --class 3 --out threes.png',
  ],
  run: async ({ options: o }, io) => {
    const ext = path.extname(o.out).toLowerCase();
    if (ext !== '.npy' && ext !== '.png')
      throw new UsageError(`--out: expected a .npy or .png file, got ${JSON.stringify(o.out)}`);
    if (o.n! < 1 || o.n! > MAX_SAMPLES)
      throw new UsageError(`--n: expected 1…${MAX_SAMPLES.toLocaleString('en-US')} samples, got ${o.n}`);
    if (ext === '.png' && o.n! > MAX_FIGURE_SAMPLES) {
      const most = MAX_FIGURE_SAMPLES.toLocaleString('en-US');
      throw new UsageError(`--n: a figure shows at most ${most} samples, got ${o.n}; write .npy instead`);
    }
    if (o.seed !== undefined && o.seed < 0)
      throw new UsageError(`--seed: expected a non-negative integer, got ${o.seed}`);
    if (o.steps !== undefined && (o.steps < 1 || o.steps > 10_000))
      throw new UsageError(`--steps: expected 1…10,000 sampler steps, got ${o.steps}`);
    await startBackend(o.backend);
    const model = loadModel(o.model!);
    try {
      if (model.kind === 'student' && (o.steps !== undefined || o.guidance !== undefined))
        throw new UsageError(
          '--steps/--guidance apply to teachers only; a student samples with the grid it was distilled for',
        );
      const figure = ext === '.png' && o.class === undefined && model.numClasses > 0;
      const labels = figure ? (balancedLabels(o.n!, model.numClasses) ?? undefined) : classLabels(model, o.n!, o.class);
      const drawn = drawChunked(model, o.n!, o.seed ?? 0, labels, {
        ...(o.steps !== undefined ? { steps: o.steps } : {}),
        ...(o.guidance !== undefined ? { guidance: o.guidance } : {}),
      });
      const nfe = model.kind === 'teacher' && o.steps !== undefined ? o.steps : model.nfe;
      const s = inDataUnits(model, drawn, o.raw);
      if (ext === '.npy') writeNpy(o.out!, npyValues(model, s, o.raw), s.shape);
      else {
        const range = o.raw ? modelRange(model.scaling) : { lo: model.scaling.lo, hi: model.scaling.hi };
        const panel = { title: `${model.method} (${nfe} steps)`, samples: s };
        const spec = samplesFigure([panel], model.data, {
          range,
          ...(model.classNames ? { classNames: model.classNames } : {}),
        });
        if (spec === null)
          throw new UsageError(
            `--out: samples of shape [${model.sampleShape.join(', ')}] have no figure; write .npy instead`,
          );
        await writeFigures([{ file: o.out!, spec }]);
      }
      if (o['labels-out'] !== undefined) {
        if (s.labels === null)
          throw new UsageError('--labels-out: the model is unconditional, its samples have no labels');
        writeNpy(o['labels-out'], s.labels, [s.labels.length]);
      }
      const units =
        o.raw || model.scaling.mapping === 'none' ? 'the model’s scale' : `the data’s units (${model.scaling.dtype})`;
      io.stderr(
        `wrote ${o.n} samples (${model.method}, ${nfe} steps, shape [${s.shape.join(', ')}], ${units}) to ${o.out}\n`,
      );
      return 0;
    } finally {
      model.dispose();
    }
  },
});
