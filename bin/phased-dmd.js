#!/usr/bin/env node
// The `phased-dmd` command: runs the TypeScript CLI through tsx (no build step).
'use strict';
// require() of .ts files, and (tsx/esm) dynamic import() of TypeScript modules, which
// pipelines use for lazily loaded parts
require('tsx/cjs');
import('tsx/esm').then(
  () => {
    const { main, quietOnEpipe } = require('../cli/main.ts');
    quietOnEpipe();
    return main(process.argv.slice(2)).then((code) => {
      process.exitCode = code;
    });
  },
).catch((err) => {
  process.stderr.write(`phased-dmd: internal error: ${err && err.message}\n`);
  process.exitCode = 2;
});
