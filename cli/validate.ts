/**
 * `phased-dmd validate <config>`: everything `run` checks before training, without
 * training: the codec (unknown fields refused), then the files the config names (a teacher
 * checkpoint, .npy data and labels), the derived schedule, an experiment's or sweep's relations
 * between fields, and the memory estimate.
 */
import * as E from 'fp-ts/Either';
import { preflightPipelineDecoded } from '../pipelines/preflight';
import { defineCommand } from './command';
import { list, int, flag } from './args';
import { loadPipelineConfig } from './loadConfig';
import { dataNotes } from './dataNotes';

export const validateCommand = defineCommand({
  name: 'validate',
  summary: 'Check a pipeline config (JSON or YAML) without running it; every error is printed with its path.',
  args: '<config>',
  positionals: { min: 1, max: 1 },
  options: {
    set: list('override a field before validating: dotted path, value parsed as JSON when possible', 'key=value'),
    seed: int('override the seed'),
    print: flag('print the config as validated (after overrides) as JSON on stdout'),
  },
  description:
    'Exit code 0 when the config is valid, 1 with one line per problem otherwise. ' +
    'Unknown fields are errors (a typo is never silently ignored); the files the config names (teacher checkpoint, ' +
    '.npy data and labels) are opened and checked, relative paths from the current directory as `run` reads them. ' +
    'A config whose memory need (a lower bound per stage: training, distillation, evaluation) exceeds this ' +
    "machine's memory is refused at the field to change. " +
    'Data whose scale is far from unit (a std above 10, or floats in [0, 255]) is valid but warned about on stderr.',
  examples: [
    'phased-dmd validate pipelines/configs/experiment-2d.json',
    "phased-dmd validate pipelines/configs/phased-4x2-ring8.json --set 'lr.generator=1e-4'",
  ],
  run: async ({ options, positionals }, io) => {
    const loaded = loadPipelineConfig(positionals[0], { set: options.set, seed: options.seed });
    // a run config's files, schedule and memory; an experiment's or sweep's relations and memory per stage
    const checked = preflightPipelineDecoded(loaded, `config ${positionals[0]}`);
    if (E.isLeft(checked)) throw checked.left;
    for (const note of dataNotes(loaded)) io.stderr(`warning: data: ${note}\n`);
    if (options.print) io.stdout(`${JSON.stringify(loaded.input, null, 2)}\n`);
    else io.stdout(`${positionals[0]}: a valid ${loaded.method} config (${loaded.kind} pipeline)\n`);
    return 0;
  },
});
