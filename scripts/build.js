#!/usr/bin/env node
/*
 * `npm run build`: everything the published package runs, under dist/.
 *   dist/lib, dist/pipelines, dist/cli, dist/index.js   tsc: CommonJS JavaScript, .d.ts files, source maps
 *   dist/index.mjs             the ES module entry: re-exports the CommonJS build's names, so
 *                              `import` and `require` share one instance of tfjs and the library
 *   dist/vendor                tfjs-core's gradients as one CommonJS file (scripts/build-gradients.js)
 *   dist/web                   the sampling page: index.html, its script (tfjs inside), tfjs's wasm binaries
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { writeGradientsBundle } = require('./build-gradients');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const step = (what) => process.stderr.write(`build: ${what}\n`);

const compile = () => {
  step('tsc -p tsconfig.build.json');
  for (const d of ['lib', 'pipelines', 'cli', 'index.js', 'index.d.ts', 'index.mjs']) {
    fs.rmSync(path.join(dist, d), { recursive: true, force: true });
  }
  const r = spawnSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const esmEntry = () => {
  step('dist/index.mjs');
  const names = Object.keys(require(path.join(dist, 'index.js'))).filter((k) => k !== 'default' && k !== '__esModule');
  const bad = names.filter((n) => !/^[A-Za-z_$][\w$]*$/.test(n));
  if (bad.length > 0) throw new Error(`exports that are not identifiers: ${bad.join(', ')}`);
  const text = [
    "// The ES module entry: the CommonJS build's exports by name (one instance for import and require).",
    "import lib from './index.js';",
    'export default lib;',
    `export const {\n${names.map((n) => `  ${n},`).join('\n')}\n} = lib;`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dist, 'index.mjs'), text);
};

const gradients = () => {
  step('dist/vendor/tfjs-gradients.js');
  writeGradientsBundle(root, path.join(dist, 'vendor', 'tfjs-gradients.js'));
};

const web = () => {
  step('dist/web');
  const out = path.join(dist, 'web');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  require('esbuild').buildSync({
    entryPoints: [path.join(root, 'web', 'main.ts')],
    outfile: path.join(out, 'phased-dmd-web.js'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
    minify: true,
    legalComments: 'inline',
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(root, 'web', 'index.html'), path.join(out, 'index.html'));
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm')))
    fs.copyFileSync(path.join(wasmDir, f), path.join(out, f));
};

const only = process.argv.slice(2);
const steps = { compile, esm: esmEntry, gradients, web };
for (const [name, run] of Object.entries(steps)) if (only.length === 0 || only.includes(name)) run();
