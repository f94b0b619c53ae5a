/**
 * The phased-dmd package: the pieces and engines (lib/), the pipelines composed from them
 * (pipelines/) and their one entry point `runConfig`.
 */
export * from './lib';
export * as pipelines from './pipelines';
export * from './pipelines/run';
