/**
 * Resumable, recorded training runs: checkpoints holding everything the next step needs, exact resume, preflight
 * checks.
 */
export * from './errors';
export * from './preflight';
export * from './teacher';
export * from './distill';
export * from './snapshots';
export * from './lock';
export * from './configs';
export * from './verify';
export * from './options';
