export * from './segment';
export * from './resolve';
export * from './concat';
