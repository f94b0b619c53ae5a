export * from './types';
export * from './config';
export * from './params';
export * from './mlp';
export * from './unet';
export * from './timeEmbedding';
export * from './build';
export * from './lora';
