export * as teacher from './teacher';
