'use strict';
// BullMQ's job process (a sandboxed processor): a plain Node child that loads this file,
// so TypeScript needs tsx's loaders here (experiment modules import others lazily).
require('tsx/cjs');
const ready = import('tsx/esm');

module.exports = async (job, token) => {
  await ready;
  return require('./runJob.ts').processExperimentJob(job, token);
};
