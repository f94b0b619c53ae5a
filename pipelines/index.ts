export * as teacher from './teacher';
export * as distill from './distill';
