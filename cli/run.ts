/** `phased-dmd run <config>`: run any pipeline config (teacher or distillation), JSON or YAML. */
import * as path from 'path';
import { defineCommand } from './command';
import { flag, int, list, str } from './args';
import { backendOption, startBackendAndKernels } from './backend';
import { loadPipelineConfig } from './loadConfig';
import { execute } from './execute';
import { dataNotes } from './dataNotes';
import { enqueueExperiment } from './queueRun';

export const runCommand = defineCommand({
  name: 'run',
  summary:
    'Run a pipeline config (teacher or distillation; JSON or YAML) into a run directory: checkpoint, recording, ' +
    'report, figures.',
  args: '<config>',
  positionals: { min: 1, max: 1 },
  options: {
    out: str('run directory (default runs/<config name>)', 'dir'),
    set: list(
      'override a config field: dotted path, value parsed as JSON when possible; validated like the file',
      'key=value',
    ),
    seed: int('override the config’s seed'),
    resume: flag('continue the run in --out from its last checkpoint (bit-exact on the same backend)'),
    overwrite: flag('start over although --out holds a run (its files are kept aside, renamed)'),
    force: flag('with --resume: continue although the config differs from the checkpoint’s'),
    'truncate-recording': flag(
      'with --resume: cut a damaged recording (a line that fails its checksum) at its last good line and say what ' +
        'it dropped',
    ),
    backend: backendOption(),
    'no-report': flag('skip rebuilding report.md and the figures after the run'),
    queue: str(
      'experiments and sweeps: enqueue the run as jobs on this Redis server for `phased-dmd worker`s ' +
        'instead of running it here',
      'redis://host:port',
    ),
    wait: flag('with --queue: follow the jobs until the run is done or has failed'),
  },
  description:
    'The config is validated first (every error with its path; unknown fields refused). Progress shows one bar per ' +
    'phase on a terminal, periodic lines otherwise; --verbose adds the metric lines. The run directory gets ' +
    'teacher.ckpt or student.ckpt, recording.ndjson, report.md, metrics.json and figures/.',
  examples: [
    'phased-dmd run pipelines/configs/teacher-ring8.json --out runs/teacher-ring8',
    'phased-dmd run pipelines/configs/phased-4x2-ring8.json --out runs/phased',
    "phased-dmd run pipelines/configs/sgts-ring8.json --set iterations=200 --set 'lr.fake=1e-4' --seed 3 --out " +
      'runs/sgts',
    'phased-dmd run pipelines/configs/phased-4x2-ring8.json --out runs/phased --resume',
    'phased-dmd run pipelines/configs/experiment-2d.json --queue redis://10.0.0.5:6379',
  ],
  run: async ({ options: o, positionals }, io) => {
    const file = positionals[0];
    const loaded = loadPipelineConfig(file, { set: o.set, seed: o.seed });
    for (const note of dataNotes(loaded)) io.stderr(`warning: data: ${note}\n`);
    const outDir = o.out ?? path.join('runs', path.basename(file).replace(/\.(json|ya?ml)$/i, ''));
    if (o.queue !== undefined)
      return enqueueExperiment(loaded, { outDir, queue: o.queue, backend: o.backend, wait: o.wait }, io);
    const kernels = await startBackendAndKernels(o.backend, io.stderr);
    const truncateRecording = o['truncate-recording'];
    const { resume, overwrite, force, verbose } = o;
    await execute(
      loaded,
      { outDir, resume, overwrite, force, truncateRecording, verbose, noReport: o['no-report'], kernels },
      io,
    );
    return 0;
  },
});
