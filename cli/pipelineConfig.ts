/**
 * The configs the command line runs: the runners' (lib/train/configs.ts), experiments and sweeps.
 */
import * as E from 'fp-ts/Either';
import type { ConfigIssue } from '../lib/config/report';
import { CodecTable, DecodedConfig, RUN_CODECS, decodeRunConfig } from '../lib/train/configs';
import { ExperimentConfig } from '../pipelines/experiment';
import { SweepConfig } from '../pipelines/sweep';

export { phaseTotals } from '../lib/train/configs';
export type DecodedPipeline = DecodedConfig;

export const PIPELINE_CODECS: CodecTable = {
  ...RUN_CODECS,
  experiment: { kind: 'experiment', codec: ExperimentConfig },
  sweep: { kind: 'experiment', codec: SweepConfig },
};

export const decodePipelineConfig = (input: unknown): E.Either<ConfigIssue[], DecodedPipeline> =>
  decodeRunConfig(input, PIPELINE_CODECS);
