/** `phased-dmd sample`: draw samples from a teacher or student checkpoint into .npy or .png. */
import * as path from 'path';
import { defineCommand } from './command';
import { int, str, num, flag } from './args';
import { UsageError } from './args';
import { backendOption, startBackend } from './backend';
import { loadModel, classLabels, LoadedModel, Samples } from './models';
import { balancedLabels } from '../train/snapshots';
import { samplesFigure } from './sampleFigure';
import { writeFigures } from '../plots/render';
import { writeNpy, NpyWritable } from '../data/npy';
import { toRaw, toStoredIntegers, modelRange } from '../data/scaling';

/** Samples in the data's own units (the checkpoint's scaling inverted), or the model's with `raw`. */
const inDataUnits = (model: LoadedModel, s: Samples, raw: boolean): Samples => {
  if (raw || model.scaling.mapping === 'none') return s;
  return { ...s, values: toRaw(model.scaling, s.values, s.shape[s.shape.length - 1]) };
};

/** The .npy payload: integer images go back to their stored integer type (rounded, clipped), the rest float32. */
const npyValues = (model: LoadedModel, s: Samples, raw: boolean): NpyWritable =>
  raw || model.scaling.dtype === 'float32' ? s.values : toStoredIntegers(model.scaling, s.values);

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
    'phased-dmd sample --model runs/ring/student.ckpt --n 2000 --out samples.npy',
    'phased-dmd sample --model runs/mnist/teacher.ckpt --n 64 --class 3 --out threes.png',
  ],
  run: async ({ options: o }, io) => {
    const ext = path.extname(o.out).toLowerCase();
    if (ext !== '.npy' && ext !== '.png')
      throw new UsageError(`--out: expected a .npy or .png file, got ${JSON.stringify(o.out)}`);
    if (o.n! < 1) throw new UsageError(`--n: expected at least 1 sample, got ${o.n}`);
    if (o.seed !== undefined && o.seed < 0)
      throw new UsageError(`--seed: expected a non-negative integer, got ${o.seed}`);
    if (o.steps !== undefined && o.steps < 1) throw new UsageError(`--steps: expected at least 1, got ${o.steps}`);
    await startBackend(o.backend);
    const model = loadModel(o.model!);
    try {
      if (model.kind === 'student' && (o.steps !== undefined || o.guidance !== undefined))
        throw new UsageError(
          '--steps/--guidance apply to teachers only; a student samples with the grid it was distilled for',
        );
      const figure = ext === '.png' && o.class === undefined && model.numClasses > 0;
      const labels = figure ? (balancedLabels(o.n!, model.numClasses) ?? undefined) : classLabels(model, o.n!, o.class);
      const drawn = model.sample(o.n!, o.seed ?? 0, labels, {
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
        o.raw || model.scaling.mapping === 'none'
          ? 'the model’s scale'
          : `the data’s units (${model.scaling.dtype})`;
      io.stderr(
        `wrote ${o.n} samples (${model.method}, ${nfe} steps, shape [${s.shape.join(', ')}], ${units}) to ${o.out}\n`,
      );
      return 0;
    } finally {
      model.dispose();
    }
  },
});
