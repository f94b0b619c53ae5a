/**
 * A pipeline config from the command line: file (JSON/YAML) → `--set` overrides →
 * `--seed` → decoded by the pipeline's codec, with unknown fields refused. Every problem
 * is reported at once, each with its path, as one ConfigError.
 */
import * as E from 'fp-ts/Either';
import { ConfigError, ConfigIssue, formatPath } from '../lib/config/report';
import { runConfigIssues } from '../lib/train/configs';
import { applyOverrides, attributeIssues, readConfigFile } from './configFile';
import { DecodedPipeline, PIPELINE_CODECS } from './pipelineConfig';

export interface LoadedConfig extends DecodedPipeline {
  /** The config as given, after overrides (what the pipeline receives and the recording stores). */
  readonly input: unknown;
}

/**
 * Every NaN or ±Infinity anywhere in a config (YAML spells them .nan and .inf; JSON cannot
 * hold them, but a config built in code can): no field takes one, and a codec would see
 * only "a number", so they are named here, at their paths.
 */
export const nonFiniteIssues = (value: unknown, at: ReadonlyArray<string | number> = []): ConfigIssue[] => {
  if (typeof value === 'number')
    return Number.isFinite(value)
      ? []
      : [
          {
            path: formatPath(at) || '(root)',
            message: `expected a finite number, got ${String(value)} (NaN and Infinity are refused everywhere)`,
          },
        ];
  if (Array.isArray(value)) return value.flatMap((v, i) => nonFiniteIssues(v, [...at, i]));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([k, v]) => nonFiniteIssues(v, [...at, k]));
  return [];
};

export const checkPipelineConfig = (input: unknown, what: string, sets: readonly string[] = []): LoadedConfig => {
  const nonFinite = nonFiniteIssues(input);
  const checked = runConfigIssues(input, PIPELINE_CODECS);
  if (nonFinite.length > 0 || E.isLeft(checked)) {
    const named = new Set(nonFinite.map((i) => i.path));
    const rest = (E.isLeft(checked) ? checked.left : []).filter((i) => !named.has(i.path));
    throw new ConfigError(what, attributeIssues([...nonFinite, ...rest], sets));
  }
  return { ...checked.right, input };
};

export const loadPipelineConfig = (file: string, o: { set?: readonly string[]; seed?: number } = {}): LoadedConfig => {
  const sets = [...(o.set ?? []), ...(o.seed !== undefined ? [`seed=${o.seed}`] : [])];
  const input = applyOverrides(readConfigFile(file), sets);
  return checkPipelineConfig(input, `config ${file}`, sets);
};
