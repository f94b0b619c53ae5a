/**
 * phased-dmd public API: backend, randomness, schedule math, models, data, stream
 * element types and operators, phase segments, losses, the distillation engine,
 * samplers, checkpoints, portable exports (tfjs, safetensors), the teacher and distillation
 * engines and their runners. The package entry (../index.ts) adds the pipelines and `runConfig`.
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
export * from './data/scaling';
export * from './data/imageFolder';
export * from './data/video';
export * from './stream/types';
export * from './operators';
export * from './phases';
export * from './losses/flowMatching';
// the DMD losses on tensors, namespaced: top-level `generatorLoss` / `fakeScoreLoss` are the stream operators built on
// them
export * as dmdLoss from './losses/dmd';
export * from './losses/stopGradient';
export * from './distill';
export * from './score/velocity';
export * from './samplers/flow';
export * from './optim/trainer';
export * from './optim/adamState';
export * from './checkpoint/format';
export * from './checkpoint/safetensors';
export * from './samplers/guided';
export * from './portable/model';
export * from './portable/open';
export * from './portable/formats';
export * from './portable/files';
export * from './config/primitives';
export * from './config/report';
export * from './metrics';
export * from './util/shapes';
export * from './util/atomicWrite';
export * as record from './record';
export * as train from './train';
