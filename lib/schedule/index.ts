export * from './time';
export * from './tensors';
