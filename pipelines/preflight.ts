/**
 * Every config the pipelines run, checked before anything runs: the runners' own (teacher and
 * distillation configs: lib/train/preflight.ts) and the compositions here, experiments and
 * sweeps, whose resolution checks the relations between their fields and their memory
 * estimate (pipelines/experiment.ts `experimentMemoryIssues`). `validate` and the bad-config
 * fixtures come through here.
 */
import * as E from 'fp-ts/Either';
import { ConfigError } from '../lib/config/report';
import { CodecTable, RUN_CODECS, runConfigIssues } from '../lib/train/configs';
import { preflightDecoded, LoadedConfig, PreflightOptions } from '../lib/train/preflight';
import { ExperimentConfig, resolveExperiment } from './experiment';
import { SweepConfig, resolveSweepDecoded } from './sweep';

/** The codec of every pipeline config, by its `method`. */
export const PIPELINE_CODECS: CodecTable = {
  ...RUN_CODECS,
  experiment: { kind: 'experiment', codec: ExperimentConfig },
  sweep: { kind: 'experiment', codec: SweepConfig },
};

/** Decodes and checks any pipeline config; Left lists every issue with its path. */
export const preflightPipeline = (
  input: unknown,
  what = 'config',
  options: PreflightOptions = {},
): E.Either<ConfigError, LoadedConfig> => {
  const checked = runConfigIssues(input, PIPELINE_CODECS);
  if (E.isLeft(checked)) return E.left(new ConfigError(what, checked.left));
  return preflightPipelineDecoded({ ...checked.right, input }, what, options);
};

/**
 * `preflightPipeline` of a config its caller has already decoded (`validate`, which loads the
 * file through the command line's loader): the checks past the codec, without decoding again.
 */
export const preflightPipelineDecoded = (
  loaded: LoadedConfig,
  what = 'config',
  options: PreflightOptions = {},
): E.Either<ConfigError, LoadedConfig> => {
  if (loaded.kind !== 'experiment') return preflightDecoded(loaded, what, options);
  try {
    // experiments and sweeps resolve their defaults and cross-field relations from the input
    if (loaded.method === 'sweep') resolveSweepDecoded(loaded.config as SweepConfig, what);
    else resolveExperiment(loaded.config as ExperimentConfig, what);
  } catch (err) {
    if (err instanceof ConfigError) return E.left(err);
    throw err;
  }
  return E.right(loaded);
};
