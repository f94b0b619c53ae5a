/**
 * Tensor backend selection. The framework uses the tfjs-core API only; this module
 * picks the kernels underneath: `wasm` (embedded default, ships in npm), `cpu`
 * (pure JS fallback) or `tensorflow` (@tensorflow/tfjs-node-gpu, optional).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as E from 'fp-ts/Either';
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../util/packageRoot';
import { registerFastGradients } from './gradients';
import './convGradients'; // registers the wasm conv gradients with ./gradients
import './native'; // optional BLAS kernels for wasm; after ./convGradients (wraps its gradients)
export { nativeStatus, setNativeKernels, nativeKernelsActive } from './native';
export type { NativeStatus } from './native';

export type BackendName = 'wasm' | 'cpu' | 'tensorflow';
export const BACKEND_NAMES: readonly BackendName[] = ['wasm', 'cpu', 'tensorflow'];

export interface BackendInfo {
  readonly name: BackendName;
  /** What tf.getBackend() reports (tfjs-node registers itself as "tensorflow"). */
  readonly tfjsBackend: string;
  readonly versions: Readonly<Record<string, string>>;
}

export interface BackendError {
  readonly backend: string;
  readonly message: string;
}

/** tfjs-core's gradients as one CommonJS file, relative to the package root. */
const GRADIENTS_BUNDLE = path.join('dist', 'vendor', 'tfjs-gradients.js');

let gradientsLoaded = false;
/**
 * The CommonJS tfjs-core build registers no gradients: `npm run build` bundles tfjs-core's
 * own gradient definitions into dist/vendor (scripts/build-gradients.js); a source
 * checkout that has not been built yet builds that file on first use.
 */
const loadGradients = (): void => {
  if (gradientsLoaded) return;
  const file = path.join(packageRoot(), GRADIENTS_BUNDLE);
  if (!fs.existsSync(file)) {
    const script = path.join(packageRoot(), 'scripts', 'build-gradients.js');
    if (!fs.existsSync(script)) {
      throw new Error(`phased-dmd: ${file} is missing; the package is incomplete (reinstall it)`);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const builder = require(script) as { writeGradientsBundle(root: string, file: string): void };
    builder.writeGradientsBundle(packageRoot(), file);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(file);
  gradientsLoaded = true;
};

/** Detects tfjs-node-gpu (or tfjs-node) at run time; absent or without its native binary → Left. */
const loadNative = (): E.Either<string, void> => {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(pkg);
      return E.right(undefined);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${pkg}'`)) continue;
      return E.left(
        `${pkg} is installed but failed to load (${String(e.message).split('\n')[0]}); its native libtensorflow ` +
          `binary is probably missing`,
      );
    }
  }
  return E.left(
    '@tensorflow/tfjs-node-gpu is not installed (it is an optional dependency whose install downloads libtensorflow; ' +
      'on a machine with a GPU and network access run `npm install @tensorflow/tfjs-node-gpu`). Use --backend wasm ' +
      'or cpu instead.',
  );
};

const versions = (): Record<string, string> => {
  const out: Record<string, string> = { 'tfjs-core': tf.version_core, node: process.versions.node };
  return out;
};

/**
 * Activates a backend and verifies it really is active: tfjs silently falls back to
 * another backend when initialisation fails, which would make timings and numbers lie.
 */
export const initBackend = async (name: BackendName): Promise<E.Either<BackendError, BackendInfo>> => {
  loadGradients();
  let expected: string = name;
  if (name === 'wasm') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-wasm');
  } else if (name === 'cpu') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-cpu');
  } else {
    const native = loadNative();
    if (E.isLeft(native)) return E.left({ backend: name, message: native.left });
    expected = 'tensorflow';
  }
  let ok = false;
  try {
    ok = await tf.setBackend(expected);
    await tf.ready();
  } catch (err) {
    return E.left({ backend: name, message: `could not initialise the ${name} backend: ${(err as Error).message}` });
  }
  if (!ok || tf.getBackend() !== expected) {
    return E.left({
      backend: name,
      message: `the ${name} backend did not initialise (tfjs reports "${tf.getBackend()}")`,
    });
  }
  registerFastGradients(name);
  return E.right({ name, tfjsBackend: tf.getBackend(), versions: versions() });
};

/** Program-edge variant: throws one readable Error. */
export const useBackend = async (name: BackendName = defaultBackend()): Promise<BackendInfo> => {
  const r = await initBackend(name);
  if (E.isLeft(r)) throw new Error(`backend "${r.left.backend}": ${r.left.message}`);
  return r.right;
};

/** PHASED_DMD_BACKEND overrides the embedded default (wasm). */
export const defaultBackend = (): BackendName => {
  const env = process.env.PHASED_DMD_BACKEND;
  return env === 'cpu' || env === 'tensorflow' || env === 'wasm' ? env : 'wasm';
};

export const isBackendName = (s: string): s is BackendName => (BACKEND_NAMES as readonly string[]).includes(s);
