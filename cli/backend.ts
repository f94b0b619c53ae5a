/** `--backend`: which tfjs kernels run the command (default wasm, or $PHASED_DMD_BACKEND). */
import * as E from 'fp-ts/Either';
import { choice } from './args';
import {
  BACKEND_NAMES,
  BackendInfo,
  BackendName,
  defaultBackend,
  initBackend,
  nativeStatus,
  NativeStatus,
} from '../lib/backend';

export const backendOption = () =>
  choice(`tensor backend (default ${defaultBackend()}; env PHASED_DMD_BACKEND)`, BACKEND_NAMES);

/** A backend that cannot start on this machine: bad input (exit 1), with the reason. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

export const startBackend = async (name: string | undefined): Promise<BackendInfo> => {
  const r = await initBackend((name ?? defaultBackend()) as BackendName);
  if (E.isLeft(r)) throw new BackendError(`backend "${r.left.backend}": ${r.left.message}`);
  return r.right;
};

/** How to get the fast path on Debian/Ubuntu: the libraries, then a rebuild of the addon. */
export const FAST_PATH_HINT =
  'apt-get install libopenblas-dev libopenblas0-openmp libdnnl-dev, then rebuild the addon (`npm rebuild ' +
  'phased-dmd`, or `node native/build.js` in a clone)';

/** "OpenBLAS 0.3.21 (Haswell, 2 threads, OpenMP build)" from the library's config string. */
const blasName = (n: NativeStatus): string => {
  const words = (n.blas ?? 'BLAS').split(/\s+/);
  const core = words.find((w) => /^[A-Z][a-z]+[A-Za-z0-9]*$/.test(w) && w !== 'OpenBLAS');
  const threads = n.threads === undefined ? undefined : `${n.threads} thread${n.threads === 1 ? '' : 's'}`;
  // Debian installs the pthread build by default; the OpenMP one is what the timings in the docs use
  const build = words[0] === 'OpenBLAS' ? (words.includes('USE_OPENMP') ? 'OpenMP build' : 'pthread build') : undefined;
  const details = [core, threads, build].filter((x) => x !== undefined);
  return `${words.slice(0, 2).join(' ')}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
};

/**
 * One line naming the kernels a run uses, and when the native OpenBLAS / oneDNN kernels are
 * missing, what is missing and how to get them (a run without them is several times slower).
 */
export const describeKernels = (
  backend: BackendName,
  n: NativeStatus,
  env: NodeJS.ProcessEnv = process.env,
): string => {
  if (backend === 'cpu')
    return (
      'kernels: tfjs cpu backend (pure JavaScript, the slowest; the default wasm backend with OpenBLAS is much ' +
      'faster)'
    );
  if (backend === 'tensorflow') return 'kernels: TensorFlow C library (tfjs-node)';
  if (!n.available) {
    if (env.PHASED_DMD_NATIVE === '0')
      return 'kernels: stock wasm (native OpenBLAS/oneDNN kernels off: PHASED_DMD_NATIVE=0)';
    return (
      `kernels: stock wasm, several times slower than the native path — OpenBLAS kernels missing ` +
      `(${n.reason}); for the fast path: ${FAST_PATH_HINT}`
    );
  }
  if (!n.active) return `kernels: stock wasm (${n.reason})`;
  const convs = n.convolutions ?? 'im2col + BLAS sgemm';
  const blas = `kernels: wasm + native ${blasName(n)} for matrix products`;
  if (convs.startsWith('oneDNN')) return `${blas}, ${convs} for convolutions`;
  if (env.PHASED_DMD_DNNL === '0') return `${blas}, ${convs} for convolutions (oneDNN off: PHASED_DMD_DNNL=0)`;
  return (
    `${blas}, ${convs} for convolutions — oneDNN missing (slower U-Net convolutions); for the fast path: ` +
    `${FAST_PATH_HINT}`
  );
};

/**
 * Starts the backend; returns what says, once, which kernels run (stderr). `run` and `train`
 * call it when training starts: bad input stays a one-line error, without it.
 */
export const startBackendAndKernels = async (
  name: string | undefined,
  say: (line: string) => void,
): Promise<() => void> => {
  const info = await startBackend(name);
  const line = `${describeKernels(info.name, nativeStatus())}\n`;
  let said = false;
  return () => {
    if (!said) say(line);
    said = true;
  };
};
