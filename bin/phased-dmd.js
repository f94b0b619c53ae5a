#!/usr/bin/env node
// The `phased-dmd` command: runs the TypeScript CLI through tsx (no build step).
'use strict';
require('tsx/cjs');
const { main, quietOnEpipe } = require('../lib/cli/main.ts');

quietOnEpipe();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`phased-dmd: internal error: ${err && err.message}\n`);
    process.exitCode = 2;
  },
);
