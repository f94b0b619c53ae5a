export * from './seed';
export * from './draws';
