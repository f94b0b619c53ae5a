#!/usr/bin/env node
// The `phased-dmd` command. An installed package runs the compiled CLI (dist/); a source
// checkout, which has cli/*.ts and the development dependencies, runs the TypeScript
// sources through tsx, so edits need no build step (PHASED_DMD_COMPILED=1 forces dist/).
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const source = path.join(root, 'cli', 'main.ts');
const compiled = path.join(root, 'dist', 'cli', 'main.js');

const hasTsx = () => {
  try {
    require.resolve('tsx/cjs');
    return true;
  } catch {
    return false;
  }
};

const fromSource = process.env.PHASED_DMD_COMPILED !== '1' && fs.existsSync(source) && hasTsx();

const load = () => {
  if (!fromSource) {
    if (!fs.existsSync(compiled)) throw new Error(`${compiled} is missing: run \`npm run build\``);
    return Promise.resolve(require(compiled));
  }
  // require() of .ts files, and (tsx/esm) dynamic import() of TypeScript modules, which pipelines use for
  // lazily loaded parts
  require('tsx/cjs');
  return import('tsx/esm').then(() => require(source));
};

load()
  .then(({ main, quietOnEpipe }) => {
    quietOnEpipe();
    return main(process.argv.slice(2)).then((code) => {
      process.exitCode = code;
    });
  })
  .catch((err) => {
    process.stderr.write(`phased-dmd: internal error: ${err && err.message}\n`);
    process.exitCode = 2;
  });
