/**
 * The configs the command line runs: the runners' (lib/train/configs.ts), experiments and sweeps.
 */
import * as E from 'fp-ts/Either';
import type { ConfigIssue } from '../lib/config/report';
import { DecodedConfig, decodeRunConfig } from '../lib/train/configs';
import { PIPELINE_CODECS } from '../pipelines/preflight';

export { phaseTotals } from '../lib/train/configs';
export type DecodedPipeline = DecodedConfig;

export { PIPELINE_CODECS };

export const decodePipelineConfig = (input: unknown): E.Either<ConfigIssue[], DecodedPipeline> =>
  decodeRunConfig(input, PIPELINE_CODECS);
