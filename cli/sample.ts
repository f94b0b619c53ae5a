/** `phased-dmd sample`: draw samples from a teacher or student checkpoint into .npy or .png. */
import * as path from 'path';
import { defineCommand } from './command';
import { int, str, num } from './args';
import { UsageError } from './args';
import { backendOption, startBackend } from './backend';
import { loadModel, classLabels } from './models';
import { samplesFigure } from '../lib/plots/sampleFigure';
import { writeFigures } from '../lib/plots/render';
import { writeNpy } from '../lib/data/npy';

export const sampleCommand = defineCommand({
  name: 'sample',
  summary: 'Draw samples from a checkpoint (teacher or distilled student) into a .npy file or a .png figure.',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {
    model: str('checkpoint file (teacher.ckpt or student.ckpt)', 'checkpoint', { required: true }),
    n: int('number of samples', 'N', { required: true }),
    out: str('output file: .npy (samples [N, ...shape], float32) or .png (a figure)', 'file', { required: true }),
    class: int('class id of every sample (class-conditional models); default: classes drawn uniformly', 'c'),
    seed: int('seed of the noise and label draws (default 0)', 's'),
    'labels-out': str('also write the labels [N] (int32) to this .npy file', 'file'),
    steps: int('teacher only: sampler steps (default: the teacher config’s)'),
    guidance: num('teacher only: CFG scale g (default: the teacher config’s)', 'g'),
    backend: backendOption(),
  },
  description: 'Same checkpoint, seed and backend → the same samples. PNG: a scatter plot for 2-D data, an image grid (one row per class) for images, clip strips for video.',
  examples: [
    'phased-dmd sample --model runs/phased/student.ckpt --n 2000 --out samples.npy',
    'phased-dmd sample --model runs/teacher-ring8/teacher.ckpt --n 2000 --out ring.npy --labels-out ring-labels.npy',
    'phased-dmd sample --model runs/phased/student.ckpt --n 500 --class 3 --out threes.png',
  ],
  run: async ({ options: o }, io) => {
    const ext = path.extname(o.out).toLowerCase();
    if (ext !== '.npy' && ext !== '.png') throw new UsageError(`--out: expected a .npy or .png file, got ${JSON.stringify(o.out)}`);
    if (o.n! < 1) throw new UsageError(`--n: expected at least 1 sample, got ${o.n}`);
    if (o.seed !== undefined && o.seed < 0) throw new UsageError(`--seed: expected a non-negative integer, got ${o.seed}`);
    if (o.steps !== undefined && o.steps < 1) throw new UsageError(`--steps: expected at least 1, got ${o.steps}`);
    await startBackend(o.backend);
    const model = loadModel(o.model!);
    try {
      if (model.kind === 'student' && (o.steps !== undefined || o.guidance !== undefined)) throw new UsageError('--steps/--guidance apply to teachers only; a student samples with the grid it was distilled for');
      const labels = classLabels(model, o.n!, o.class);
      const s = model.sample(o.n!, o.seed ?? 0, labels, { ...(o.steps !== undefined ? { steps: o.steps } : {}), ...(o.guidance !== undefined ? { guidance: o.guidance } : {}) });
      const nfe = model.kind === 'teacher' && o.steps !== undefined ? o.steps : model.nfe;
      if (ext === '.npy') writeNpy(o.out!, s.values, s.shape);
      else {
        const spec = samplesFigure([{ title: `${model.method} (${nfe} steps)`, samples: s }], model.data);
        if (spec === null) throw new UsageError(`--out: samples of shape [${model.sampleShape.join(', ')}] have no figure; write .npy instead`);
        await writeFigures([{ file: o.out!, spec }]);
      }
      if (o['labels-out'] !== undefined) {
        if (s.labels === null) throw new UsageError('--labels-out: the model is unconditional, its samples have no labels');
        writeNpy(o['labels-out'], s.labels, [s.labels.length]);
      }
      io.stderr(`wrote ${o.n} samples (${model.method}, ${nfe} steps, shape [${s.shape.join(', ')}]) to ${o.out}\n`);
      return 0;
    } finally {
      model.dispose();
    }
  },
});
