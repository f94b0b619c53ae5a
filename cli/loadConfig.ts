/**
 * A pipeline config from the command line: file (JSON/YAML) → `--set` overrides →
 * `--seed` → decoded by the pipeline's codec, with unknown fields refused. Every problem
 * is reported at once, each with its path, as one ConfigError.
 */
import * as E from 'fp-ts/Either';
import { ConfigError } from '../lib/config/report';
import { runConfigIssues } from '../lib/train/configs';
import { applyOverrides, attributeIssues, readConfigFile } from './configFile';
import { DecodedPipeline, PIPELINE_CODECS } from './pipelineConfig';

export interface LoadedConfig extends DecodedPipeline {
  /** The config as given, after overrides (what the pipeline receives and the recording stores). */
  readonly input: unknown;
}

export const checkPipelineConfig = (input: unknown, what: string, sets: readonly string[] = []): LoadedConfig => {
  const checked = runConfigIssues(input, PIPELINE_CODECS);
  if (E.isLeft(checked)) throw new ConfigError(what, attributeIssues(checked.left, sets));
  return { ...checked.right, input };
};

export const loadPipelineConfig = (file: string, o: { set?: readonly string[]; seed?: number } = {}): LoadedConfig => {
  const sets = [...(o.set ?? []), ...(o.seed !== undefined ? [`seed=${o.seed}`] : [])];
  const input = applyOverrides(readConfigFile(file), sets);
  return checkPipelineConfig(input, `config ${file}`, sets);
};
