/*
 * Bundles tfjs-core's gradient definitions into one CommonJS file.
 *
 * Why: tfjs-core's CommonJS build (what `require('@tensorflow/tfjs-core')` loads in Node)
 * registers no gradients; they ship only as ES modules (dist/register_all_gradients.js
 * and the files it imports), which Node cannot require from a package without
 * "type": "module". The @tensorflow/tfjs umbrella package carries a bundled copy, but
 * installing it pulls in layers, converter, data and the WebGL backend (~140 MB) for these
 * ~300 kB. The bundle registers the gradients in tfjs's global registry, which every copy
 * of tfjs-core shares, so the CommonJS core sees them.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const ENTRY = "require('@tensorflow/tfjs-core/dist/register_all_gradients');\n";

/** The bundle's source text (esbuild is a development dependency: the compiled package ships the result). */
const gradientsBundle = (root) => {
  const esbuild = require('esbuild');
  const r = esbuild.buildSync({
    stdin: { contents: ENTRY, resolveDir: root, sourcefile: 'tfjs-gradients-entry.js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    legalComments: 'inline',
    write: false,
    logLevel: 'silent',
  });
  const banner = "// tfjs-core's gradient definitions (Apache-2.0), bundled by phased-dmd's scripts/build-gradients.js";
  return `${banner}\n${r.outputFiles[0].text}`;
};

/** Writes the bundle to `file` atomically (jest workers may race to create it). */
const writeGradientsBundle = (root, file) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, gradientsBundle(root));
  fs.renameSync(tmp, file);
};

module.exports = { writeGradientsBundle };
