export * from './context';
export * from './generate';
export * from './renoise';
export * from './segment';
export * from './student';
export * from './checkpoint';
