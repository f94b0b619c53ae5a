import type { ModelConfig } from './config';
import type { VelocityModel } from './types';
import { VelocityMlp } from './mlp';
import { VelocityUnet } from './unet';

/** Every model kind and how to build it from its config. */
const builders = new Map<string, (config: ModelConfig) => VelocityModel>([
  ['mlp', (c) => new VelocityMlp(c as Extract<ModelConfig, { kind: 'mlp' }>)],
  ['unet', (c) => new VelocityUnet(c as Extract<ModelConfig, { kind: 'unet' }>)],
]);

export const buildModel = (config: ModelConfig): VelocityModel => {
  const build = builders.get(config.kind);
  if (build === undefined) throw new Error(`model.kind: unknown model kind "${config.kind}"`);
  return build(config);
};
