/** `--backend`: which tfjs kernels run the command (default wasm, or $PHASED_DMD_BACKEND). */
import * as E from 'fp-ts/Either';
import { choice } from './args';
import { BACKEND_NAMES, BackendInfo, BackendName, defaultBackend, initBackend } from '../backend';

export const backendOption = () => choice(`tensor backend (default ${defaultBackend()}; env PHASED_DMD_BACKEND)`, BACKEND_NAMES);

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
