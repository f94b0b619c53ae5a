export * from '../rollout/context';
export * from '../rollout/generate';
export * from '../rollout/renoise';
export * from './segment';
export * from './student';
export * from './checkpoint';
