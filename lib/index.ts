/**
 * phased-dmd public API: backend, randomness, schedule math, models, data, stream
 * element types and operators, phase segments, losses, samplers, checkpoints, pipelines.
 */
export * from './backend';
export * from './random';
export * from './schedule';
export * from './schedule/sampling';
export * from './models';
export * from './models/spec';
export * from './data/types';
export * from './data/mixtures';
export * from './data/config';
export * from './data/idx';
export * from './data/indexed';
export * from './data/mnist';
export * from './data/npy';
export * from './data/video';
export * from './stream/types';
export * from './operators';
export * from './phases';
export * from './losses/flowMatching';
export * from './score/velocity';
export * from './samplers/flow';
export * from './optim/trainer';
export * from './checkpoint/format';
export * from './config/primitives';
export * from './config/report';
export * from './metrics';
export * from './util/shapes';
export * from './util/atomicWrite';
export * as pipelines from '../pipelines';
export * as record from './record';
export * as train from './train';
