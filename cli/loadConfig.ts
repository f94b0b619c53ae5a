/**
 * A pipeline config from the command line: file (JSON/YAML) → `--set` overrides →
 * `--seed` → decoded by the pipeline's codec, with unknown fields refused. Every problem
 * is reported at once, each with its path, as one ConfigError.
 */
import * as E from 'fp-ts/Either';
import { ConfigError } from '../lib/config/report';
import { applyOverrides, attributeIssues, readConfigFile } from './configFile';
import { decodePipelineConfig, DecodedPipeline, codecOfMethod } from './pipelineConfig';
import { unknownFields } from '../lib/config/codecWalk';

export interface LoadedConfig extends DecodedPipeline {
  /** The config as given, after overrides (what the pipeline receives and the recording stores). */
  readonly input: unknown;
}

export const checkPipelineConfig = (input: unknown, what: string, sets: readonly string[] = []): LoadedConfig => {
  const decoded = decodePipelineConfig(input);
  const codec = codecOfMethod((input as { method?: unknown } | null)?.method);
  const unknown = codec === undefined ? [] : unknownFields(codec, input);
  if (E.isLeft(decoded) || unknown.length > 0) throw new ConfigError(what, attributeIssues([...(E.isLeft(decoded) ? decoded.left : []), ...unknown], sets));
  return { ...(decoded as E.Right<DecodedPipeline>).right, input };
};

export const loadPipelineConfig = (file: string, o: { set?: readonly string[]; seed?: number } = {}): LoadedConfig => {
  const sets = [...(o.set ?? []), ...(o.seed !== undefined ? [`seed=${o.seed}`] : [])];
  const input = applyOverrides(readConfigFile(file), sets);
  return checkPipelineConfig(input, `config ${file}`, sets);
};
