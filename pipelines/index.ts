export * as teacher from '../lib/teacher/teacher';
export * as distill from '../lib/distill/distill';
