#!/usr/bin/env node
/*
 * Builds the optional native kernels (npm's "install" script runs this).
 * Never fails the install: without a compiler, Node's headers or OpenBLAS
 * (Debian: `apt-get install libopenblas-dev`) it prints why and the framework runs
 * on the stock wasm kernels. PHASED_DMD_NATIVE=0 skips the build.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const here = __dirname;
const skip = (why) => {
  console.log(`phased-dmd: native kernels not built (${why}); using the wasm kernels`);
  process.exit(0);
};

if (process.env.PHASED_DMD_NATIVE === '0') skip('PHASED_DMD_NATIVE=0');

/** node-gyp: npm's own copy (npm sets npm_config_node_gyp for scripts), else the one next to npm. */
const findNodeGyp = () => {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(
      path.dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    /* not a dependency */
  }
  return candidates.find((p) => p && fs.existsSync(p));
};

const gyp = findNodeGyp();
if (gyp === undefined) skip('node-gyp not found');

// Build against the headers installed with this Node (offline); node-gyp would otherwise download them.
const nodeDir = path.resolve(path.dirname(process.execPath), '..');
const args = [gyp, 'rebuild', '--directory', here];
if (fs.existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeDir}`);
// oneDNN (Debian: libdnnl-dev) serves the convolutions when its headers are here
const dnnl =
  process.env.PHASED_DMD_DNNL !== '0' &&
  ['/usr/include/oneapi/dnnl/dnnl.h', '/usr/local/include/oneapi/dnnl/dnnl.h'].some((f) => fs.existsSync(f));
args.push('--', `-Dwith_dnnl=${dnnl ? 1 : 0}`);

const r = spawnSync(process.execPath, args, {
  stdio: process.env.PHASED_DMD_NATIVE_VERBOSE ? 'inherit' : 'pipe',
  encoding: 'utf8',
});
if (r.status !== 0) {
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const hint = /cblas\.h|lopenblas/.test(out)
    ? 'OpenBLAS headers/library missing: apt-get install libopenblas-dev'
    : 'node-gyp failed';
  const log = path.join(here, 'build-error.log');
  try {
    fs.writeFileSync(log, out);
  } catch {
    /* read-only tree */
  }
  skip(`${hint}; details in ${path.relative(process.cwd(), log)}`);
}
console.log(
  `phased-dmd: native kernels built ` +
    `(native/build/Release/phased_dmd_native.node)${dnnl ? ', convolutions via oneDNN' : ''}`,
);
