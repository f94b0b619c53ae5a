'use strict';
// BullMQ's job process (a sandboxed processor): a plain Node child that loads this file.
// Like bin/phased-dmd.js: a source checkout runs the TypeScript through tsx (experiment
// modules also import others lazily), an installed package the compiled dist/
// (PHASED_DMD_COMPILED=1 forces dist/).
const fs = require('fs');
const path = require('path');

const source = path.join(__dirname, 'runJob.ts');
const compiled = path.join(__dirname, '..', '..', 'dist', 'pipelines', 'queue', 'runJob.js');

const hasTsx = () => {
  try {
    require.resolve('tsx/cjs');
    return true;
  } catch {
    return false;
  }
};

const fromSource = process.env.PHASED_DMD_COMPILED !== '1' && fs.existsSync(source) && hasTsx();
if (fromSource) require('tsx/cjs');
const ready = fromSource ? import('tsx/esm') : Promise.resolve();

// the worker that started this process is gone (killed): an idle job process ends too
// (a busy one ends at its next training step, lib/queue/orphan.ts)
process.on('disconnect', () => process.exit(0));

module.exports = async (job, token) => {
  await ready;
  return require(fromSource ? source : compiled).processExperimentJob(job, token);
};
