/** `phased-dmd eval`: metrics of a sample set against a reference set, as JSON on stdout. */
import * as E from 'fp-ts/Either';
import { defineCommand } from './command';
import { choice, int, num, str, UsageError } from './args';
import { readSampleSet } from '../lib/metrics/sampleSet';
import { MIXTURES, MixtureName } from '../lib/data/mixtures';
import { evaluateSamples, EvaluateOptions } from '../lib/metrics/evaluate';
import { loadClassifier } from '../lib/metrics/classifier';
import { backendOption, startBackend } from './backend';

/** What `--labels` without `--classifier` gets: the labels only serve the classifier's metrics. */
export const labelsWithoutClassifier = (mixture: boolean, clip: boolean): string =>
  'eval: --labels without --classifier: the labels are checked but not used. Computed: distances to the reference ' +
  `(energy, MMD, sliced Wasserstein, Fréchet), k-NN precision/recall/density/coverage and Vendi on the raw ` +
  `samples${mixture ? ', mode coverage' : ''}` +
  `${clip ? ', motion' : ''}. Not computed: per-class diversity and class accuracy, which need --classifier ` +
  `<checkpoint> ` +
  '(a feature classifier, e.g. the one an MNIST experiment trains in <run>/classifier/classifier.ckpt).\n';

/** `8x16x16` → clip dims. */
const parseClip = (s: string): { frames: number; height: number; width: number } => {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(s);
  if (m === null) throw new UsageError(`--clip: expected FRAMESxHEIGHTxWIDTH like 8x16x16, got ${JSON.stringify(s)}`);
  return { frames: Number(m[1]), height: Number(m[2]), width: Number(m[3]) };
};

export const evalCommand = defineCommand({
  name: 'eval',
  summary:
    'Metrics of samples against reference samples (.npy files) as JSON: ' +
    'distances, k-NN precision/recall, Vendi, modes, motion.',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {
    samples: str('samples [N, ...shape] (.npy)', 'a.npy', { required: true }),
    reference: str('reference samples [M, ...shape] (.npy), e.g. the teacher’s', 'b.npy', { required: true }),
    mixture: choice(
      'the known 2-D mixture the samples come from: modes covered, high-quality %',
      Object.keys(MIXTURES),
    ),
    labels: str('labels of the samples [N] (.npy): per-class diversity and class accuracy with --classifier', 'file'),
    classifier: str('feature classifier checkpoint: image metrics in its feature space (FID-like)', 'checkpoint'),
    clip: str('clip layout of each sample for motion metrics', 'FxHxW'),
    'max-points': int('rows used by the O(N²) metrics (default 1000)'),
    'motion-threshold': num('dynamic-degree threshold, px/frame (default 0.5)'),
    seed: int('seed of the sliced-Wasserstein projections (default 0)'),
    backend: backendOption(),
  },
  description:
    'Prints one JSON object on stdout (nothing else), so it pipes into jq or a file. ' +
    'Integer images (uint8 samples, a uint8 training set) are compared in the model’s scale, ' +
    'mapped onto [−1, 1] as train maps them; floats as given. Video clips: --clip FxHxW (e.g. 8x16x16) adds motion.',
  examples: ['phased-dmd eval --samples samples.npy --reference ring.npy --mixture ring8'],
  run: async ({ options: o }, io) => {
    const samples = readSampleSet(o.samples!, o.labels);
    if (o.labels !== undefined && o.classifier === undefined)
      io.stderr(labelsWithoutClassifier(o.mixture !== undefined, o.clip !== undefined));
    const reference = readSampleSet(o.reference!, undefined);
    if (samples.mapped !== reference.mapped) {
      const [ints, floats] = samples.mapped ? [o.samples, o.reference] : [o.reference, o.samples];
      io.stderr(
        `warning: ${ints} holds integer images (mapped to [−1, 1]) but ${floats} floats (used as given): ` +
          'compare like with like (sample without --raw)\n',
      );
    }
    const opts: { -readonly [K in keyof EvaluateOptions]: EvaluateOptions[K] } = {};
    if (o.mixture !== undefined) opts.mixture = MIXTURES[o.mixture as MixtureName];
    if (o.clip !== undefined) opts.clip = parseClip(o.clip);
    if (o['max-points'] !== undefined) opts.maxPoints = o['max-points'];
    if (o['motion-threshold'] !== undefined) opts.motionThreshold = o['motion-threshold'];
    if (o.seed !== undefined) opts.seed = o.seed;
    if (o.classifier !== undefined) {
      await startBackend(o.backend);
      const clf = loadClassifier(o.classifier);
      if (E.isLeft(clf)) throw clf.left;
      opts.classifier = clf.right;
    }
    const result = evaluateSamples(samples, reference, opts);
    io.stdout(`${JSON.stringify({ files: { samples: o.samples, reference: o.reference }, ...result }, null, 2)}\n`);
    return 0;
  },
});
