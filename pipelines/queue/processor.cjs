'use strict';
// BullMQ's job process (a sandboxed processor): a plain Node child that loads this file,
// so TypeScript needs tsx's loaders here (experiment modules import others lazily).
require('tsx/cjs');
const ready = import('tsx/esm');

// the worker that started this process is gone (killed): an idle job process ends too
// (a busy one ends at its next training step, lib/queue/orphan.ts)
process.on('disconnect', () => process.exit(0));

module.exports = async (job, token) => {
  await ready;
  return require('./runJob.ts').processExperimentJob(job, token);
};
