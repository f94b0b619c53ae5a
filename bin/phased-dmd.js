#!/usr/bin/env node
// The `phased-dmd` command: runs the TypeScript CLI through tsx (no build step).
'use strict';
require('tsx/cjs');
const { main } = require('../lib/cli/main.ts');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`phased-dmd: internal error: ${err && err.message}\n`);
    process.exitCode = 2;
  },
);
